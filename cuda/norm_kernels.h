// The per-index CUDA kernels of batch norm, as functors f(i) (run by launch() in cuda/norm.cu, and by
// emulate() in the CPU tests, tests/tensor/test_cuda_kernels_norm.cpp). x, y, dy, dx are contiguous
// (N, C, S); per-channel arrays are (C). The math is tensor/cpu/norm_math.h, shared with the CPU kernels.
// The per-channel reductions (statistics, dweight/dbias sums) are block kernels in cuda/norm.cu.
#pragma once

#include <cmath>
#include <cstdint>

#include "cuda/launch.h"
#include "tensor/cpu/norm_math.h"
#include "tensor/hd.h"

namespace fk::cuda {

// eval: i = channel c; mean = running_mean, invstd = 1/sqrt(running_var + eps) (running stats strided)
template <class T>
struct BatchNormEvalStats {
  const T* running_mean;
  int64_t mean_stride;
  const T* running_var;
  int64_t var_stride;
  double eps;
  T* mean;    // (C)
  T* invstd;  // (C)
  FK_HD_INLINE void operator()(int64_t c) const {
    mean[c] = running_mean[c * mean_stride];
    invstd[c] = T(cpu::bn_invstd(double(running_var[c * var_stride]), eps));
  }
};

// i = flat index into (N, C, S): y = (x - mean[c]) * invstd[c] * weight[c] + bias[c]
template <class T>
struct BatchNormForward {
  const T* x;
  const T* mean;
  const T* invstd;
  const T* weight;  // null: 1
  const T* bias;    // null: 0
  int64_t C, S;
  T* y;
  FK_HD_INLINE void operator()(int64_t i) const {
    int64_t c = (i / S) % C;
    T scale = cpu::bn_scale(invstd[c], weight, c);
    y[i] = cpu::bn_normalize(x[i], mean[c], scale, bias ? bias[c] : T(0));
  }
};

// i = flat index into (N, C, S): dx = k[c]*dy - ka[c] - kb[c]*(x - mean[c]), coefficients from the
// per-channel reduction (cpu::bn_backward_coefs)
template <class T>
struct BatchNormBackwardDx {
  const T* dy;
  const T* x;
  const T* mean;
  const T* k;
  const T* ka;
  const T* kb;
  int64_t C, S;
  T* dx;
  FK_HD_INLINE void operator()(int64_t i) const {
    int64_t c = (i / S) % C;
    dx[i] = cpu::bn_backward_dx(dy[i], x[i], mean[c], k[c], ka[c], kb[c]);
  }
};

}  // namespace fk::cuda
