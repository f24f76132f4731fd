// The source taps of bilinear upsampling with align_corners=False (PyTorch's
// upsample_bilinear2d), shared by the CPU kernels (tensor/cpu/upsample.cpp) and their CUDA twins
// (cuda/upsample_kernels.h). Along one axis (in -> out, ratio = 1/scale_factor or in/out):
//   src = max(ratio * (o + 0.5) - 0.5, 0),  i0 = floor(src),  i1 = min(i0 + 1, in - 1),
//   l1 = src - i0,  l0 = 1 - l1;   an axis whose size does not change is copied (i0 = i1 = o).
// The ratio is rounded to T and the source index computed in double, exactly as ATen does.
// Tests: tests/tensor/test_upsample.cpp, tests/tensor/test_cuda_kernels_upsample.cpp.
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/hd.h"

namespace fk::cpu {

template <class T>
struct LinearTap {
  int64_t i0, i1;  // the two source pixels
  T l0, l1;        // their weights
};

// The taps of output position o along one axis.
template <class T>
FK_HD_INLINE LinearTap<T> linear_tap(int64_t o, int64_t in, int64_t out, double ratio) {
  if (in == out) return {o, o, T(1), T(0)};
  const T r = T(ratio);
  T src = T(double(r) * (double(o) + 0.5) - 0.5);
  if (src < T(0)) src = T(0);
  int64_t i0 = int64_t(src);
  if (i0 > in - 1) i0 = in - 1;
  const int64_t i1 = i0 + (i0 < in - 1 ? 1 : 0);
  T l1 = src - T(i0);
  l1 = l1 < T(0) ? T(0) : (l1 > T(1) ? T(1) : l1);
  return {i0, i1, T(1) - l1, l1};
}

// For the backward gather: the outputs that read input i along one axis lie in [lo[i], hi[i]).
// i0(o) never decreases with o and i1 is i0 or i0 + 1, so they are the outputs with
// i0(o) in {i - 1, i}: one run. Returned as {lo[0..in), hi[0..in)} (2*in entries).
template <class T>
std::vector<int64_t> linear_tap_ranges(int64_t in, int64_t out, double ratio) {
  std::vector<int64_t> r(size_t(2 * in), 0);
  int64_t o = 0;
  for (int64_t i = 0; i < in; ++i) {
    while (o < out && linear_tap<T>(o, in, out, ratio).i0 < i - 1) ++o;
    int64_t end = o;
    while (end < out && linear_tap<T>(end, in, out, ratio).i0 <= i) ++end;
    r[size_t(i)] = o;
    r[size_t(in + i)] = end;
  }
  return r;
}

}  // namespace fk::cpu
