// conv2d on NCHW float32 arrays through the inference engine's blocked kernels (conv_blocked.h): the
// input converted to NCHW16c, the weights packed at every call (they change at every training step),
// the direct or Winograd kernel (winograd_preferred), the output converted back. conv2d_forward<float>
// and both gradients of conv2d_backward<float> (tensor/cpu/conv.cpp) run through here where they
// apply (dense or depthwise, 16 or more channels), im2col + GEMM elsewhere (float64, other groups,
// dilation, 3-channel stems). The input gradient of a stride-1 conv is itself a stride-1 conv of dy
// with the flipped, transposed weights:
//   dx = conv(dy, w~, padding K-1-P),   w~[c, oc, kh, kw] = w[oc, c, KH-1-kh, KW-1-kw]
// (depthwise: each channel's taps flipped), so it runs on the same kernels; the weight gradient has
// kernels of its own (conv_weight_grad.h, any stride). FK_CONV_BLOCKED=0 (or
// set_conv_blocked_enabled(false)) turns all of this off. Tests: tests/tensor/test_conv.cpp (against conv2d_reference and the GEMM path).
#pragma once

#include "tensor/cpu/kernels_conv_pool.h"

namespace fk::cpu {

// Whether conv2d_forward<float> runs through the blocked kernels for this geometry.
bool conv2d_blocked_applies(const Conv2dGeometry& g);
// Whether its input gradient does (stride 1, padding at most kernel - 1, besides the above).
bool conv2d_input_grad_blocked_applies(const Conv2dGeometry& g);

// y (N, OC, OH, OW) = conv(x, w) + b (b may be null), all NCHW float32.
void conv2d_forward_blocked(const Conv2dGeometry& g, const float* x, const float* w, const float* b, float* y);
// The same from x already in the blocked layout, xb (N, Cb, H, W, 16).
void conv2d_forward_blocked_input(const Conv2dGeometry& g, const float* xb, const float* w, const float* b, float* y);
// Whether the weight gradient runs on the blocked kernels (conv_weight_grad.h): dense or depthwise,
// 16 or more channels, no dilation; any stride and padding.
bool conv2d_weight_grad_blocked_applies(const Conv2dGeometry& g);
// Both gradients with dy converted to the blocked layout once: dx (null: not wanted; else
// conv2d_input_grad_blocked_applies) and dw (OC, C/groups, KH, KW) (null: not wanted; else
// conv2d_weight_grad_blocked_applies), each fully written. x: NCHW, or null when xb (x blocked) is
// given; neither is read for dx alone.
void conv2d_backward_blocked(const Conv2dGeometry& g, const float* dy, const float* x, const float* xb,
                             const float* w, float* dx, float* dw);

void set_conv_blocked_enabled(bool on);
bool conv_blocked_enabled();

}  // namespace fk::cpu
