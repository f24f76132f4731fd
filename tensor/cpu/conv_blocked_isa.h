// The per-ISA halves of conv2d_blocked (conv_blocked.h): conv_blocked_avx512.cpp and
// conv_blocked_generic.cpp each compile conv_blocked_kernel.h and export one function that runs the
// work items [begin, end) of one convolution on an already padded input. conv_blocked.cpp owns the
// padding, the OpenMP region and the choice between them.
#pragma once

#include <cstdint>

#include "tensor/cpu/conv_blocked.h"

namespace fk::cpu {

// The padded input: (N, Cb, Hp, Wp, 16).
struct PaddedInput {
  const float* data;
  int64_t Hp, Wp;
};

// Winograd F(2x2, 3x3): where phase 2 writes the 2x2 outputs of its tiles, and their epilogue.
struct WinogradOut {
  int64_t tiles, th, tw, OH, OW, OCb;  // tiles = N * th * tw, th = ceil(OH / 2), tw = ceil(OW / 2)
  float* y;                            // (N, OCb, OH, OW, 16)
  const float* res;                    // same layout, or null
  const float* bias;                   // (OCb*16), or null
  const float* slope;                  // (OCb*16), or null
  Activation act;
  bool res_after_act;
};

// One Winograd work item (conv_blocked_kernel.h): tiles [t_begin, t_end), at most kWinogradChunk,
// transformed into V (the calling thread's buffer, 16 * pos_stride floats; !transform: it holds them
// from the thread's previous item), then the 16 GEMMs with the
// transformed weights U (16, OCb, Cb, 16, 16), the output transform and the epilogue for the
// output-block pairs [pair_begin, pair_end).
void winograd_chunk_avx512(const BlockedConvGeometry& g, PaddedInput x, const float* U, const WinogradOut& o,
                           float* V, int64_t pos_stride, int64_t t_begin, int64_t t_end, int64_t pair_begin,
                           int64_t pair_end, bool transform);
void winograd_chunk_generic(const BlockedConvGeometry& g, PaddedInput x, const float* U, const WinogradOut& o,
                            float* V, int64_t pos_stride, int64_t t_begin, int64_t t_end, int64_t pair_begin,
                            int64_t pair_end, bool transform);
constexpr int kWinogradTile = 12;   // tiles per micro-kernel call (2 x 12 accumulators)
constexpr int kWinogradChunk = 48;  // tiles per work item

// The stem convs with their own kernel (conv_stem_kernel.h): dense, not Winograd, 3 input channels,
// 3x3 stride 1 or 2 (IR-50, IResNet, MobileFaceNet, Inception-ResNet-V1) or 7x7 stride 2 (ResNet-50).
// Their input is packed (N, Hp, Wp, 3) and their weights (OCb, KH, KW*3, 16); a tile is up to 4 output
// blocks x kStemTile pixels (24 accumulators, 4 weights: a broadcast feeds 4 FMAs, not 2).
enum class StemKind { None, C3K3S1, C3K3S2, C3K7S2 };
inline StemKind conv_blocked_stem_kind(const BlockedConvGeometry& g) {
  if (g.depthwise || g.winograd || g.C != 3) return StemKind::None;
  if (g.KW == 3 && g.SW == 1) return StemKind::C3K3S1;
  if (g.KW == 3 && g.SW == 2) return StemKind::C3K3S2;
  if (g.KW == 7 && g.SW == 2) return StemKind::C3K7S2;
  return StemKind::None;
}
constexpr int64_t kStemTile = 6;

// Work items: dense convs (n, group of output blocks, oh), depthwise convs (n, channel block, oh); oh
// fastest. 1x1 stride-1 unpadded convs (pointwise) instead run over (n, output-block pair, run of pixels).
int64_t conv_blocked_items(const BlockedConvGeometry& g);
constexpr int64_t kPointwiseRun = 112;  // pixels per pointwise work item (8 tiles of 14)
constexpr int64_t kMaxTile = 14;        // pixels per micro-kernel tile
inline bool conv_blocked_pointwise(const BlockedConvGeometry& g);
// Output blocks per dense item: the tile holds at most 28 accumulators, so rows cut into tiles of
// T <= 7 pixels take 4 blocks, of 8-9 pixels 3, wider ones 2 (a 7x7 map: 4 x 7, not 2 x 7).
inline int conv_blocked_row_blocks(const BlockedConvGeometry& g) {
  if (conv_blocked_stem_kind(g) != StemKind::None) return 4;
  if (g.depthwise || conv_blocked_pointwise(g) || g.OW <= 0) return 2;
  const int64_t tiles = (g.OW + kMaxTile - 1) / kMaxTile, t = (g.OW + tiles - 1) / tiles;
  return t <= 7 ? 4 : t <= 9 ? 3 : 2;
}
constexpr int64_t kPairsInnerWeightBytes = 512 << 10;  // see conv_blocked_run.inc
inline bool conv_blocked_pointwise(const BlockedConvGeometry& g) {
  return !g.depthwise && g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PH == 0 && g.PW == 0;
}

void conv_blocked_run_avx512(const BlockedConvGeometry& g, PaddedInput x, const float* w, const BlockedEpilogue& e,
                             float* y, int64_t begin, int64_t end);
void conv_blocked_run_generic(const BlockedConvGeometry& g, PaddedInput x, const float* w, const BlockedEpilogue& e,
                              float* y, int64_t begin, int64_t end);

}  // namespace fk::cpu
