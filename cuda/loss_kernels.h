// The kernels of the CUDA nll_loss (cuda/loss.cu) as functors f(i). logp: (N, C); target: (N), each
// in [0, C) (checked by fk::ops) or equal to ignore_index, whose rows count for nothing:
//   loss = -sum over kept n of logp[n, target[n]] / (number kept)   (0 / 0 = NaN when none is kept)
// Plain C++: tests/tensor/test_cuda_kernels_activation.cpp runs them with cuda::emulate.
#pragma once

#include <cstdint>

#include "cuda/launch.h"
#include "tensor/hd.h"

namespace fk::cuda {

// picked[n] = kept ? logp[n, target[n]] : 0 and kept[n] = kept ? 1 : 0, both double, for cuda::sum
template <class T>
struct NllPick {
  const T* logp;
  const int64_t* target;
  int64_t C, ignore_index;
  double* picked;
  double* kept;
  FK_HD_INLINE void operator()(int64_t n) const {
    bool k = target[n] != ignore_index;
    picked[n] = k ? double(logp[n * C + target[n]]) : 0.0;
    kept[n] = k ? 1.0 : 0.0;
  }
};

// loss = -sum / kept (one work item); 0 / 0 gives NaN, as PyTorch's mean over no element
template <class T>
struct NllFinish {
  const double* sum;
  const double* kept;
  T* loss;
  FK_HD_INLINE void operator()(int64_t) const { *loss = T(-*sum / *kept); }
};

// dlogp[n, c] = -dloss / kept where c == target[n] != ignore_index, else 0 (every entry assigned)
template <class T>
struct NllBackward {
  const T* dloss;
  const double* kept;
  const int64_t* target;
  int64_t C, ignore_index;
  T* dlogp;
  FK_HD_INLINE void operator()(int64_t i) const {
    int64_t n = i / C, c = i % C;
    bool hit = target[n] != ignore_index && target[n] == c;
    dlogp[i] = hit ? T(-double(*dloss) / *kept) : T(0);
  }
};

}  // namespace fk::cuda
