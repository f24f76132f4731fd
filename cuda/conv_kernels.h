// The per-index functors of conv2d's native CUDA backend (cuda/conv.cu), header-only so that the CPU
// tests run them through cuda::emulate (tests/tensor/test_cuda_kernels_conv.cpp); the GPU tests are
// tests/cuda/test_conv.cpp. The column layout is the CPU kernel's (tensor/cpu/conv.cpp): for NI images,
//   col (C*KH*KW, NI*L), L = OH*OW:  col[(c*KH + kh)*KW + kw, n*L + oh*OW + ow] = x[n, c, ih, iw] or 0,
//   ih = oh*SH - PH + kh*DH, iw = ow*SW - PW + kw*DW   (tensor/cpu/conv_math.h)
// so that per group g, y_g (OCg, NI*L) = w_g (OCg, Cg*KH*KW) x col_g is one GEMM.
#pragma once

#include <cstdint>

#include "cuda/launch.h"
#include "tensor/cpu/conv_math.h"
#include "tensor/cpu/kernels_conv_pool.h"
#include "tensor/hd.h"

namespace fk::cuda {

// One column-matrix element per index i over (C*KH*KW) * NI*L: x (NI, C, H, W) -> col (C*KH*KW, NI*L).
template <class T>
struct Im2colKernel {
  Conv2dGeometry g;
  const T* x;
  T* col;
  int64_t NI;
  FK_HD_INLINE void operator()(int64_t i) const {
    const int64_t L = g.OH * g.OW, NL = NI * L;
    const int64_t r = i / NL, rest = i % NL, n = rest / L, l = rest % L;  // row (c, kh, kw), column (n, oh, ow)
    const int64_t kw = r % g.KW, kh = (r / g.KW) % g.KH, c = r / (g.KW * g.KH);
    const int64_t oh = l / g.OW, ow = l % g.OW;
    const int64_t ih = cpu::conv_in_pos(oh, kh, g.SH, g.PH, g.DH), iw = cpu::conv_in_pos(ow, kw, g.SW, g.PW, g.DW);
    col[i] = cpu::conv_inside(ih, g.H) && cpu::conv_inside(iw, g.W) ? x[((n * g.C + c) * g.H + ih) * g.W + iw] : T(0);
  }
};

// col2im as a gather, one input element per index i over NI*C*H*W: dx (NI, C, H, W) is assigned
//   dx[n, c, ih, iw] = sum over (kh, kw) of dcol[(c*KH + kh)*KW + kw, n*L + oh*OW + ow]
// over the taps whose output (oh, ow) reads (ih, iw) (conv_out_pos). Each thread sums its own element
// in a fixed order: deterministic, no atomics (the adjoint of Im2colKernel).
template <class T>
struct Col2imKernel {
  Conv2dGeometry g;
  const T* dcol;
  T* dx;
  int64_t NI;
  FK_HD_INLINE void operator()(int64_t i) const {
    const int64_t L = g.OH * g.OW, NL = NI * L;
    const int64_t iw = i % g.W, ih = (i / g.W) % g.H, c = (i / (g.W * g.H)) % g.C, n = i / (g.W * g.H * g.C);
    T acc = T(0);
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      int64_t oh = 0;
      if (!cpu::conv_out_pos(ih, kh, g.SH, g.PH, g.DH, g.OH, oh)) continue;
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        int64_t ow = 0;
        if (!cpu::conv_out_pos(iw, kw, g.SW, g.PW, g.DW, g.OW, ow)) continue;
        acc += dcol[((c * g.KH + kh) * g.KW + kw) * NL + n * L + oh * g.OW + ow];
      }
    }
    dx[i] = acc;
  }
};

// y[n, oc, l] += b[oc], one element of y (N, OC, L) per index.
template <class T>
struct AddBiasKernel {
  const T* b;
  T* y;
  int64_t OC, L;
  FK_HD_INLINE void operator()(int64_t i) const { y[i] += b[(i / L) % OC]; }
};

// p[i] = v (the ones vector that turns dbias into a matrix-vector product).
template <class T>
struct ConvFillKernel {
  T* p;
  T v;
  FK_HD_INLINE void operator()(int64_t i) const { p[i] = v; }
};

}  // namespace fk::cuda
