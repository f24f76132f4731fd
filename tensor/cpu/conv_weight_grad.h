// The weight gradient of a convolution on the blocked layout NCHW16c (conv_blocked.h): the training
// counterpart of conv2d_blocked. For a dense conv (groups 1)
//   dw[k, c, r, s] = sum over n, oh, ow of dy[n, k, oh, ow] * x[n, c, oh*SH - PH + r, ow*SW - PW + s]
// (x = 0 outside the input), for a depthwise conv (groups == C == OC) dw[c, 0, r, s] the same with
// k = c. Any stride and padding, no dilation. The micro-kernels (conv_weight_grad_kernel.h) keep a
// 16 input channels x 8 output channels x 3 sources block of dw in registers while they run over the
// pixels; compiled for AVX-512 and for the baseline ISA like the forward kernels, chosen by
// cpu_has_avx512() (FK_CPU_ISA=generic, g.generic_isa). Work is split over blocks of dw, never over
// pixels, so the sums, and a training run, do not depend on the thread count.
// Tests: tests/tensor/test_conv_blocked.cpp against conv2d_backward<double>.
#pragma once

#include "tensor/cpu/conv_blocked.h"

namespace fk::cpu {

// dw (OC, C, KH, KW), or (C, 1, KH, KW) for g.depthwise, every element written, from x
// (N, Cb, H, W, 16) and dy (N, OCb, OH, OW, 16); g.winograd is ignored. Runs
// conv2d_weight_grad_winograd where winograd_preferred(g) (conv_blocked.h), the direct kernels otherwise.
void conv2d_weight_grad_blocked(const BlockedConvGeometry& g, const float* x, const float* dy, float* dw);

// The same for a dense 3x3 stride-1 conv (any padding) by Winograd F(2x2, 3x3)
// (conv_weight_grad_winograd_kernel.h): 16 products per 2x2 output tile instead of 36.
void conv2d_weight_grad_winograd(const BlockedConvGeometry& g, const float* x, const float* dy, float* dw);

// A chunk of the Winograd weight gradient's tiles (for its kernels): tiles [t0, t0 + tc) of all
// (n, i, j) in that order, stored Tc (>= tc) apart in the transform buffers.
struct WinogradWgradChunk {
  int64_t t0, tc, Tc;
  int64_t th, tw;  // tiles per image: rows, columns
};

}  // namespace fk::cpu
