// The per-element math of PReLU, softmax's backward and dropout, shared by the CPU kernels
// (tensor/cpu/activation.cpp) and the CUDA kernels (cuda/activation_kernels.h), so both devices do
// the same arithmetic (torch.nn.functional.prelu / softmax / dropout).
// Tested through tests/tensor/test_activation.cpp and tests/tensor/test_cuda_kernels_activation.cpp.
#pragma once

#include <cmath>
#include <cstdint>

#include "tensor/hd.h"
#include "tensor/philox.h"

namespace fk::cpu {

// y = x > 0 ? x : w * x
template <class T>
FK_HD_INLINE T prelu_value(T x, T w) {
  return x > T(0) ? x : w * x;
}
// dx = x > 0 ? dy : w * dy
template <class T>
FK_HD_INLINE T prelu_dx(T dy, T x, T w) {
  return x > T(0) ? dy : w * dy;
}
// the term of dweight = sum over x <= 0 of dy * x (in double, like the CPU sum)
template <class T>
FK_HD_INLINE double prelu_dweight_term(T dy, T x) {
  return x > T(0) ? 0.0 : double(dy) * double(x);
}

// softmax:     dx = y * (dy - a), a = sum(dy * y) over the softmax dim
// log_softmax: dx = dy - exp(y) * a, a = sum(dy)
template <class T>
FK_HD_INLINE T softmax_backward_value(T dy, T y, T a, bool log) {
  return log ? dy - std::exp(y) * a : y * (dy - a);
}
// the term of a for one element
template <class T>
FK_HD_INLINE double softmax_backward_term(T dy, T y, bool log) {
  return log ? double(dy) : double(dy) * double(y);
}

// dropout's scaled mask of element i: (u_i < keep) / keep with u_i = Philox(seed, i) uniform,
// `scale` = 1 / keep. keep == 0 (p = 1) never keeps, so y = x * 0.
template <class T>
FK_HD_INLINE T dropout_mask(uint64_t seed, int64_t i, double keep, T scale) {
  return philox_uniform(seed, uint64_t(i)) < keep ? scale : T(0);
}

}  // namespace fk::cpu
