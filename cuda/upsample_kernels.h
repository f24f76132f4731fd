// The per-index CUDA kernels of bilinear upsampling (align_corners=False) on contiguous
// (planes, H, W) -> (planes, OH, OW) buffers. The taps come from tensor/cpu/upsample_math.h, as on
// the CPU:
//  - forward: one work item per output pixel, the blend of its four source pixels.
//  - backward: a gather, one work item per input pixel, summing weight * dy over the outputs that
//    read it (their range per axis is precomputed on the host, linear_tap_ranges), in the CPU's
//    (oh, ow, tap) order: deterministic, no atomics.
// Header-only, compiles with g++ too: tests/tensor/test_cuda_kernels_upsample.cpp emulates the
// functors on the CPU; tests/cuda/test_upsample.cpp compares the GPU with the CPU.
#pragma once

#include <cstdint>

#include "cuda/launch.h"
#include "tensor/cpu/kernels_conv_pool.h"  // Upsample2dGeometry
#include "tensor/cpu/upsample_math.h"
#include "tensor/hd.h"

namespace fk::cuda {

// y[p, oh, ow] = l0h * (l0w * x[h0, w0] + l1w * x[h0, w1]) + l1h * (l0w * x[h1, w0] + l1w * x[h1, w1])
template <class T>
struct UpsampleBilinear2dForwardKernel {
  const T* x;
  T* y;
  Upsample2dGeometry g;
  FK_HD_INLINE void operator()(int64_t o) const {
    const int64_t ow = o % g.OW, oh = (o / g.OW) % g.OH, p = o / (g.OW * g.OH);
    const cpu::LinearTap<T> h = cpu::linear_tap<T>(oh, g.H, g.OH, g.ratio_h);
    const cpu::LinearTap<T> w = cpu::linear_tap<T>(ow, g.W, g.OW, g.ratio_w);
    const T* r0 = x + p * g.H * g.W + h.i0 * g.W;
    const T* r1 = x + p * g.H * g.W + h.i1 * g.W;
    y[o] = h.l0 * (w.l0 * r0[w.i0] + w.l1 * r0[w.i1]) + h.l1 * (w.l0 * r1[w.i0] + w.l1 * r1[w.i1]);
  }
};

// dx[p, ih, iw] = sum over the outputs (oh, ow) reading it of weight_h * weight_w * dy[p, oh, ow].
// range_h: {lo[0..H), hi[0..H)}, range_w likewise (cpu::linear_tap_ranges).
template <class T>
struct UpsampleBilinear2dBackwardKernel {
  const T* dy;
  T* dx;
  const int64_t* range_h;
  const int64_t* range_w;
  Upsample2dGeometry g;
  FK_HD_INLINE void operator()(int64_t i) const {
    const int64_t iw = i % g.W, ih = (i / g.W) % g.H, p = i / (g.W * g.H);
    const T* dyp = dy + p * g.OH * g.OW;
    T sum = 0;
    for (int64_t oh = range_h[ih]; oh < range_h[g.H + ih]; ++oh) {
      const cpu::LinearTap<T> h = cpu::linear_tap<T>(oh, g.H, g.OH, g.ratio_h);
      if (h.i0 != ih && h.i1 != ih) continue;
      for (int64_t ow = range_w[iw]; ow < range_w[g.W + iw]; ++ow) {
        const cpu::LinearTap<T> w = cpu::linear_tap<T>(ow, g.W, g.OW, g.ratio_w);
        const T d = dyp[oh * g.OW + ow];
        // the four taps in the CPU's order, each added when it lands on (ih, iw)
        if (h.i0 == ih && w.i0 == iw) sum += h.l0 * w.l0 * d;
        if (h.i0 == ih && w.i1 == iw) sum += h.l0 * w.l1 * d;
        if (h.i1 == ih && w.i0 == iw) sum += h.l1 * w.l0 * d;
        if (h.i1 == ih && w.i1 == iw) sum += h.l1 * w.l1 * d;
      }
    }
    dx[i] = sum;
  }
};

}  // namespace fk::cuda
