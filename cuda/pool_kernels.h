// The per-index CUDA kernels of max_pool2d, avg_pool2d and adaptive_avg_pool2d, forward and backward,
// on contiguous (planes, H, W) inputs and (planes, OH, OW) outputs. The window arithmetic is the CPU
// kernels' (tensor/cpu/pool_math.h), so both devices pool the same windows:
//  - forwards: one work item per output element, the CPU loop over its window.
//  - max backward: one work item per output element, dx[plane, idx] += dy (atomic: windows overlap,
//    and the backward gets only the indices, not the window geometry).
//  - avg / adaptive backward: a gather, one work item per input element summing dy / divisor over the
//    windows that contain it, in the CPU's (oh, ow) order: deterministic, and bit-equal to the CPU.
// Header-only, compiles with g++ too: tests/tensor/test_cuda_kernels_pool.cpp emulates every functor
// on the CPU; tests/cuda/test_pool.cpp compares the GPU with the CPU.
#pragma once

#include <cmath>
#include <cstdint>

#include "cuda/launch.h"
#include "cuda/shape_kernels.h"  // atomic_add
#include "tensor/cpu/kernels_conv_pool.h"  // Pool2dGeometry
#include "tensor/cpu/pool_math.h"
#include "tensor/hd.h"

namespace fk::cuda {

template <class T>
FK_HD_INLINE bool pool_isnan(T v) {
#if defined(__CUDA_ARCH__)
  return isnan(v);
#else
  return std::isnan(v);
#endif
}

// y, idx: (planes, OH, OW) from x: (planes, H, W); padded taps never win, a NaN wins (PyTorch).
// idx may be null (no indices wanted).
template <class T>
struct MaxPool2dForwardKernel {
  const T* x;
  T* y;
  int64_t* idx;
  Pool2dGeometry g;
  FK_HD_INLINE void operator()(int64_t o) const {
    const int64_t ow = o % g.OW, oh = (o / g.OW) % g.OH, p = o / (g.OW * g.OH);
    const cpu::MaxWindow wh = cpu::max_window(oh, g.KH, g.SH, g.PH, g.DH, g.H);
    const cpu::MaxWindow ww = cpu::max_window(ow, g.KW, g.SW, g.PW, g.DW, g.W);
    const T* xp = x + p * g.H * g.W;
    T best = -INFINITY;
    // as the CPU: the first in-bounds tap by default, -1 when the window has no in-bounds tap
    int64_t best_i = (wh.i0 < wh.i1 && ww.i0 < ww.i1) ? wh.i0 * g.W + ww.i0 : -1;
    for (int64_t ih = wh.i0; ih < wh.i1; ih += g.DH)
      for (int64_t iw = ww.i0; iw < ww.i1; iw += g.DW) {
        const T v = xp[ih * g.W + iw];
        if (v > best || pool_isnan(v)) {
          best = v;
          best_i = ih * g.W + iw;
        }
      }
    y[o] = best;
    if (idx) idx[o] = best_i;
  }
};

// dx[plane, idx[o]] += dy[o]; dx: (planes, HW) must start at zero.
template <class T>
struct MaxPool2dBackwardKernel {
  const T* dy;
  const int64_t* idx;
  T* dx;
  int64_t OHW, HW;
  FK_HD_INLINE void operator()(int64_t o) const {
    const int64_t j = idx[o];
    if (j >= 0 && j < HW) atomic_add(dx + (o / OHW) * HW + j, dy[o]);
  }
};

// y = sum of the window / divisor (count_include_pad decides the divisor).
template <class T>
struct AvgPool2dForwardKernel {
  const T* x;
  T* y;
  Pool2dGeometry g;
  FK_HD_INLINE void operator()(int64_t o) const {
    const int64_t ow = o % g.OW, oh = (o / g.OW) % g.OH, p = o / (g.OW * g.OH);
    const cpu::AvgWindow wh = cpu::avg_window(oh, g.KH, g.SH, g.PH, g.H);
    const cpu::AvgWindow ww = cpu::avg_window(ow, g.KW, g.SW, g.PW, g.W);
    if (wh.i0 >= wh.i1 || ww.i0 >= ww.i1) {  // the window lies entirely in the padding
      y[o] = T(0);
      return;
    }
    const T* xp = x + p * g.H * g.W;
    T sum = 0;
    for (int64_t ih = wh.i0; ih < wh.i1; ++ih)
      for (int64_t iw = ww.i0; iw < ww.i1; ++iw) sum += xp[ih * g.W + iw];
    y[o] = sum / T(cpu::avg_divisor(wh, ww, g.count_include_pad));
  }
};

// dx[ih, iw] = sum over the windows (oh, ow) containing it of dy[oh, ow] / divisor(oh, ow).
template <class T>
struct AvgPool2dBackwardKernel {
  const T* dy;
  T* dx;
  Pool2dGeometry g;
  FK_HD_INLINE void operator()(int64_t i) const {
    const int64_t iw = i % g.W, ih = (i / g.W) % g.H, p = i / (g.W * g.H);
    int64_t oh0, oh1, ow0, ow1;
    cpu::avg_outputs_of(ih, g.KH, g.SH, g.PH, g.OH, oh0, oh1);
    cpu::avg_outputs_of(iw, g.KW, g.SW, g.PW, g.OW, ow0, ow1);
    const T* dyp = dy + p * g.OH * g.OW;
    T sum = 0;
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      const cpu::AvgWindow wh = cpu::avg_window(oh, g.KH, g.SH, g.PH, g.H);
      if (ih < wh.i0 || ih >= wh.i1) continue;
      for (int64_t ow = ow0; ow < ow1; ++ow) {
        const cpu::AvgWindow ww = cpu::avg_window(ow, g.KW, g.SW, g.PW, g.W);
        if (iw < ww.i0 || iw >= ww.i1) continue;
        sum += dyp[oh * g.OW + ow] / T(cpu::avg_divisor(wh, ww, g.count_include_pad));
      }
    }
    dx[i] = sum;
  }
};

// y = mean of the adaptive window [floor(o*H/OH), ceil((o+1)*H/OH)) per axis.
template <class T>
struct AdaptiveAvgPool2dForwardKernel {
  const T* x;
  T* y;
  Pool2dGeometry g;
  FK_HD_INLINE void operator()(int64_t o) const {
    const int64_t ow = o % g.OW, oh = (o / g.OW) % g.OH, p = o / (g.OW * g.OH);
    const int64_t ih0 = cpu::adaptive_start(oh, g.H, g.OH), ih1 = cpu::adaptive_end(oh, g.H, g.OH);
    const int64_t iw0 = cpu::adaptive_start(ow, g.W, g.OW), iw1 = cpu::adaptive_end(ow, g.W, g.OW);
    const T* xp = x + p * g.H * g.W;
    T sum = 0;
    for (int64_t ih = ih0; ih < ih1; ++ih)
      for (int64_t iw = iw0; iw < iw1; ++iw) sum += xp[ih * g.W + iw];
    y[o] = sum / T((ih1 - ih0) * (iw1 - iw0));
  }
};

// dx[ih, iw] = sum over the adaptive windows containing it of dy / window area.
template <class T>
struct AdaptiveAvgPool2dBackwardKernel {
  const T* dy;
  T* dx;
  Pool2dGeometry g;
  FK_HD_INLINE void operator()(int64_t i) const {
    const int64_t iw = i % g.W, ih = (i / g.W) % g.H, p = i / (g.W * g.H);
    // the windows containing ih: the adaptive rule with in and out swapped (pool_math.h)
    const int64_t oh0 = cpu::adaptive_start(ih, g.OH, g.H), oh1 = cpu::adaptive_end(ih, g.OH, g.H);
    const int64_t ow0 = cpu::adaptive_start(iw, g.OW, g.W), ow1 = cpu::adaptive_end(iw, g.OW, g.W);
    const T* dyp = dy + p * g.OH * g.OW;
    T sum = 0;
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      const int64_t ih0 = cpu::adaptive_start(oh, g.H, g.OH), ih1 = cpu::adaptive_end(oh, g.H, g.OH);
      if (ih < ih0 || ih >= ih1) continue;
      for (int64_t ow = ow0; ow < ow1; ++ow) {
        const int64_t iw0 = cpu::adaptive_start(ow, g.W, g.OW), iw1 = cpu::adaptive_end(ow, g.W, g.OW);
        if (iw < iw0 || iw >= iw1) continue;
        sum += dyp[oh * g.OW + ow] / T((ih1 - ih0) * (iw1 - iw0));
      }
    }
    dx[i] = sum;
  }
};

}  // namespace fk::cuda
