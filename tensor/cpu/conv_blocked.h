// CPU kernels of the inference engine's convolutions on the blocked channel layout NCHW16c
// (oneDNN's nChw16c, ONNX Runtime MLAS's NCHWc): an activation (N, C, H, W) is stored as
// (N, Cb, H, W, 16) with Cb = ceil(C / 16), so the 16 channels of a pixel are one 64-byte vector;
// the channels past C are zero. Weights are packed once, at model preparation, to
// (OCb, Cb, KH, KW, 16 input channels, 16 output channels), zero-padded.
//
// What one call computes (g.groups == 1; the depthwise form g.groups == C == OC in the same layout):
//   a[n, c, ih, iw]   = pre_scale[c] * x[n, c, ih, iw] + pre_shift[c]   (or x itself without a pre-op)
//   acc[n, oc, oh, ow] = bias[oc] + sum_{c,kh,kw} a[n, c, oh*SH-PH+kh, ow*SW-PW+kw] * w[oc, c, kh, kw]
//                        (a = 0 outside the input: the pre-op is not applied to the zero padding)
//   y = act(acc + residual)                 (residual_after_act false; residual optional)
//   y = act(acc) + residual                 (residual_after_act true)
// with act none, ReLU, or PReLU with one slope per output channel. So a BatchNorm before the conv (the
// IR blocks' BN -> conv 3x3 pad 1) is exact as a pre-op, a BatchNorm after it folds into w and bias,
// and the block's residual add and activation cost no pass of their own.
//
// The micro-kernel (conv_blocked_kernel.h) keeps OB output-channel blocks x T output pixels of one row
// in T*OB vector accumulators (at most 2 x 14 = 28 of the 32 AVX-512 registers); for every input
// channel it loads OB weight vectors and broadcasts T input scalars. It is compiled twice, for AVX-512
// and for the build's baseline ISA, and chosen at run time (cpu_has_avx512(); FK_CPU_ISA=generic
// forces the baseline for tests and comparisons). The specification it is tested against is
// conv2d_reference (tensor/cpu/conv.cpp) followed by the plain epilogue: tests/tensor/test_conv_blocked.cpp.
#pragma once

#include <cstdint>

namespace fk::cpu {

constexpr int64_t kChannelBlock = 16;

inline int64_t channel_blocks(int64_t channels) { return (channels + kChannelBlock - 1) / kChannelBlock; }

enum class Activation { None, ReLU, PReLU };

struct BlockedConvGeometry {
  int64_t N = 0, C = 0, H = 0, W = 0;  // input
  int64_t OC = 0, KH = 1, KW = 1;      // weight (OC, C / groups, KH, KW)
  int64_t OH = 0, OW = 0;              // output
  int64_t SH = 1, SW = 1, PH = 0, PW = 0;
  bool depthwise = false;  // groups == C == OC
  // 3x3 stride-1 dense convs only: Winograd F(2x2, 3x3) (weights packed for it, see conv_blocked_kernel.h)
  bool winograd = false;
  bool generic_isa = false;  // run the baseline-ISA kernels even where AVX-512 is present (tests)
};

struct BlockedEpilogue {
  const float* pre_scale = nullptr;  // (Cb*16) or null: no pre-op
  const float* pre_shift = nullptr;
  const float* bias = nullptr;       // (OCb*16) or null
  Activation act = Activation::None;
  const float* slope = nullptr;      // (OCb*16), PReLU only
  const float* residual = nullptr;   // blocked like the output, or null
  bool residual_after_act = false;
};

// Packs w (OC, C, KH, KW) row-major into (OCb, Cb, KH, KW, 16, 16), zero-padded; depthwise w
// (C, 1, KH, KW) into (Cb, KH, KW, 16); with g.winograd the transformed G w G^T into
// (16, OCb, Cb, 16, 16). Returns the packed size in floats when out is null.
int64_t pack_conv_weights_blocked(const BlockedConvGeometry& g, const float* w, float* out);

// y (N, OCb, OH, OW, 16) from x (N, Cb, H, W, 16) and the packed weights; every element of y is written
// (its padded channels hold act(bias + residual) of the zero-padded parameters: zero for the layers
// facekit builds). Runs one OpenMP region over (image, output-channel group, row) with flush-to-zero
// and denormals-are-zero on in every thread.
void conv2d_blocked(const BlockedConvGeometry& g, const float* x, const float* packed_w, const BlockedEpilogue& e,
                    float* y);

// Layout conversions: (N, C, H, W) <-> (N, Cb, H, W, 16).
void nchw_to_blocked(int64_t N, int64_t C, int64_t HW, const float* x, float* y);
void blocked_to_nchw(int64_t N, int64_t C, int64_t HW, const float* x, float* y);

// Whether this CPU runs the AVX-512 kernels (and FK_CPU_ISA does not ask for the generic ones).
bool cpu_has_avx512();

// Whether a conv of this geometry (N, H, W, OH, OW filled in) should run Winograd F(2x2, 3x3): a
// dense 3x3 stride-1 conv of a shape where it measured faster than the direct kernel (conv_blocked.cpp),
// and Winograd switched on (default: on unless FK_WINOGRAD=0; set_winograd_enabled for tests).
bool winograd_preferred(const BlockedConvGeometry& g);
void set_winograd_enabled(bool on);
bool winograd_enabled();

}  // namespace fk::cpu
