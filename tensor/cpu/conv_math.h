// The index arithmetic of conv2d that the CPU kernels (tensor/conv.cpp, tensor/cpu/conv.cpp) and the
// CUDA kernels (cuda/conv_kernels.h) share, as FK_HD functions compiled for both (torch conv2d's rules):
//   output size   O = floor((I + 2*P - D*(K-1) - 1) / S) + 1
//   input read    by output o at kernel tap k:  i = o*S - P + k*D   (zero padding when i is outside [0, I))
//   and its inverse, which output o (if any) reads input i at tap k: o = (i + P - k*D) / S when exact.
// Tests: tests/tensor/test_conv.cpp (CPU), tests/tensor/test_cuda_kernels_conv.cpp (the CUDA functors
// emulated on the CPU), tests/cuda/test_conv.cpp (GPU vs CPU).
#pragma once

#include <cstdint>

#include "tensor/hd.h"

namespace fk::cpu {

// Output positions along one axis: I input, P padding per side, D dilation, K kernel taps, S stride.
FK_HD_INLINE int64_t conv_out_size(int64_t I, int64_t P, int64_t D, int64_t K, int64_t S) {
  return (I + 2 * P - D * (K - 1) - 1) / S + 1;
}

// The input position that output position o reads at kernel tap k (may lie in the padding).
FK_HD_INLINE int64_t conv_in_pos(int64_t o, int64_t k, int64_t S, int64_t P, int64_t D) { return o * S - P + k * D; }

// Whether position i lies inside an axis of n elements (outside: zero padding).
FK_HD_INLINE bool conv_inside(int64_t i, int64_t n) { return i >= 0 && i < n; }

// The inverse of conv_in_pos, for col2im's gather: the output position o in [0, O) that reads input i at
// tap k, i.e. o*S = i + P - k*D exactly; false when no output does (between strides or past the edge).
FK_HD_INLINE bool conv_out_pos(int64_t i, int64_t k, int64_t S, int64_t P, int64_t D, int64_t O, int64_t& o) {
  const int64_t t = i + P - k * D;
  if (t < 0 || t % S != 0) return false;
  o = t / S;
  return o < O;
}

}  // namespace fk::cpu
