// The per-window arithmetic of max_pool2d, avg_pool2d and adaptive_avg_pool2d, shared by the CPU
// kernels (tensor/cpu/pool.cpp) and their CUDA twins (cuda/pool_kernels.h), so both compute the
// same windows, divisors and output sizes (PyTorch's pooling_output_shape / avg_pool2d rules):
//   out = floor_or_ceil((in + 2*pad - dil*(K-1) - 1) / stride) + 1, and with ceil_mode the last
//   window must start inside the input or the left padding: if ((out-1)*stride >= in + pad) --out.
// FK_HD_INLINE: compiles for the host and, under nvcc, the device.
// Tests: tests/tensor/test_pool.cpp, tests/tensor/test_cuda_kernels_pool.cpp.
#pragma once

#include <cstdint>

#include "tensor/hd.h"

namespace fk::cpu {

FK_HD_INLINE int64_t pool_min(int64_t a, int64_t b) { return a < b ? a : b; }
FK_HD_INLINE int64_t pool_max(int64_t a, int64_t b) { return a > b ? a : b; }

// Output size of one axis (span = in + 2p - d(k-1) - 1 >= 0 is checked by the caller).
FK_HD_INLINE int64_t pool_output_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  const int64_t span = in + 2 * p - d * (k - 1) - 1;
  int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;  // the last window would start in the right padding
  return out;
}

// ---- max_pool2d: the in-bounds taps of output o along one axis are i0, i0 + D, ... < i1.
struct MaxWindow {
  int64_t i0, i1;  // first in-bounds tap, end of the window (exclusive)
};
FK_HD_INLINE MaxWindow max_window(int64_t o, int64_t K, int64_t S, int64_t P, int64_t D, int64_t in) {
  int64_t i0 = o * S - P;
  const int64_t i1 = pool_min(i0 + (K - 1) * D + 1, in);
  if (i0 < 0) i0 += ((-i0 + D - 1) / D) * D;  // skip the taps in the left padding
  return {i0, i1};
}

// ---- avg_pool2d: the window of output o along one axis, [i0, i1) clipped to the input, and its
// divisor extent (clipped to the padded input [-P, in + P) only), as PyTorch's avg_pool2d.
struct AvgWindow {
  int64_t i0, i1, padded_size;
};
FK_HD_INLINE AvgWindow avg_window(int64_t o, int64_t K, int64_t S, int64_t P, int64_t in) {
  int64_t i0 = o * S - P;
  int64_t i1 = pool_min(i0 + K, in + P);
  const int64_t padded_size = i1 - i0;
  i0 = pool_max(i0, 0);
  i1 = pool_min(i1, in);
  return {i0, i1, padded_size};
}
// The divisor of a 2-d window: the padded area (count_include_pad) or the in-input area.
FK_HD_INLINE int64_t avg_divisor(const AvgWindow& wh, const AvgWindow& ww, bool count_include_pad) {
  return count_include_pad ? wh.padded_size * ww.padded_size : (wh.i1 - wh.i0) * (ww.i1 - ww.i0);
}
// The outputs whose (unclipped) window [o*S - P, o*S - P + K) contains input i: [o0, o1).
FK_HD_INLINE void avg_outputs_of(int64_t i, int64_t K, int64_t S, int64_t P, int64_t out, int64_t& o0, int64_t& o1) {
  // o*S - P <= i  and  i < o*S - P + K   <=>   (i + P - K) / S < o <= (i + P) / S
  const int64_t lo = i + P - K + 1;  // o*S >= lo
  o0 = pool_max(lo <= 0 ? 0 : (lo + S - 1) / S, 0);
  o1 = pool_min((i + P) / S + 1, out);
}

// ---- adaptive_avg_pool2d: window i of `out` over `in` is [floor(i*in/out), ceil((i+1)*in/out)).
FK_HD_INLINE int64_t adaptive_start(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
FK_HD_INLINE int64_t adaptive_end(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }
// The same rule read backwards: the outputs whose window contains input i are
// [adaptive_start(i, out, in), adaptive_end(i, out, in)) (the roles of in and out swap).

}  // namespace fk::cpu
