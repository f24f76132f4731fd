// The fused margin kernels of the margin heads (layers/heads.h), as per-index functors: i is the flat
// index of logit (n, j) of a contiguous (N, C) cosine matrix, labels (N) int64 (-1: no target).
//   forward:  logits[i] = s * (j == labels[n] ? phi(cos[i]) : cos[i])
//   backward: dcos[i] = dlogits[i] * s * (j == labels[n] ? phi'(cos[i]) : 1)
// The math is tensor/cpu/margin_math.h, shared with the CPU loops of layers/heads.cpp. Run by launch() in
// cuda/heads.cu and by emulate() in tests/layers/test_cuda_kernels_optim_heads.cpp.
#pragma once

#include <cmath>
#include <cstdint>

#include "cuda/launch.h"
#include "tensor/cpu/margin_math.h"
#include "tensor/hd.h"

namespace fk::cuda {

template <class T>
struct MarginLogitsForward {
  const T* cos;            // (N, C)
  const int64_t* labels;   // (N)
  int64_t C;
  MarginParams p;
  T* logits;               // (N, C)
  FK_HD_INLINE void operator()(int64_t i) const {
    int64_t n = i / C, j = i % C;
    logits[i] = margin_logit(cos[i], labels[n] == j, p);
  }
};

template <class T>
struct MarginLogitsBackward {
  const T* dlogits;        // (N, C)
  const T* cos;            // (N, C)
  const int64_t* labels;   // (N)
  int64_t C;
  MarginParams p;
  T* dcos;                 // (N, C), assigned
  FK_HD_INLINE void operator()(int64_t i) const {
    int64_t n = i / C, j = i % C;
    dcos[i] = margin_logit_grad(dlogits[i], cos[i], labels[n] == j, p);
  }
};

}  // namespace fk::cuda
