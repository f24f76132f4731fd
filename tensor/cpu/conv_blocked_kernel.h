// The micro-kernels of conv2d_blocked (see conv_blocked.h for the layout and the maths). This header
// is compiled twice, inside a namespace of its own each time: by conv_blocked_avx512.cpp under
// `#pragma GCC target("avx512f,...")`, where a v16 is one zmm register, and by conv_blocked_generic.cpp
// for the build's baseline ISA, where the compiler splits each v16 into what the ISA has (2 ymm on
// AVX2). conv_blocked.cpp picks one at run time. Written with GCC's vector extensions, so the same
// source reads as the scalar loop it is: `acc[ob][t] += w * x` on 16 channels at once.
//
// Tile: OB output-channel blocks x T consecutive output pixels of one output row, in OB*T
// accumulators (2 x 14 = 28 of AVX-512's 32 registers, leaving 2 for weights and 1 for the
// broadcast input). Per input channel: OB weight-vector loads, T scalar broadcasts, OB*T FMAs.
// The input is already zero-padded (and pre-op'ed), so the loops have no bounds checks.

#include <cstring>

#include "tensor/cpu/v16_helpers.h"

// One tile's addresses: x at input pixel (n, block 0, oh*SH, ow0*SW) of the padded input, w at the
// packed weights of the tile's first output block, y (and res) at output (n, ob0, oh, ow0).
struct TileArgs {
  const float* x;
  int64_t x_cb, x_row;  // input strides in floats: between channel blocks, between rows
  const float* w;
  int64_t w_ob;         // packed-weight stride between output blocks
  int64_t Cb, last_icn, KH, KW;
  float* y;
  const float* res;
  int64_t y_ob;         // output stride between output blocks
  const float* bias;    // at ob0 * 16, or null
  const float* slope;   // at ob0 * 16, or null
  fk::cpu::Activation act;
  bool res_after_act;
};

template <int OB, int T, int S, int ICN>
static FK_ALWAYS_INLINE void tile_channels(v16 (&acc)[OB][T], const float* xp, const float* wp, int64_t w_ob, int icn) {
  const int n = ICN > 0 ? ICN : icn;
#pragma GCC unroll 4
  for (int ic = 0; ic < n; ++ic) {
    v16 wv[OB];
#pragma GCC unroll 4
    for (int ob = 0; ob < OB; ++ob) wv[ob] = load16(wp + ob * w_ob + ic * 16);
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const v16 xv = splat16(xp[t * S * 16 + ic]);
#pragma GCC unroll 4
      for (int ob = 0; ob < OB; ++ob) acc[ob][t] += wv[ob] * xv;
    }
  }
}

// The epilogue of a tile: bias, residual, activation, store.
template <int OB, int T>
static FK_ALWAYS_INLINE void store_tile(v16 (&acc)[OB][T], const TileArgs& a) {
#pragma GCC unroll 4
  for (int ob = 0; ob < OB; ++ob) {
    const v16 b = a.bias ? load16(a.bias + ob * 16) : v16{};
    const v16 sl = a.slope ? load16(a.slope + ob * 16) : v16{};
    float* yo = a.y + ob * a.y_ob;
    const float* ro = a.res ? a.res + ob * a.y_ob : nullptr;
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      v16 v = acc[ob][t] + b;
      if (ro && !a.res_after_act) v += load16(ro + t * 16);
      if (a.act == fk::cpu::Activation::ReLU) v = v > 0 ? v : v16{};
      else if (a.act == fk::cpu::Activation::PReLU) v = v > 0 ? v : v * sl;
      if (ro && a.res_after_act) v += load16(ro + t * 16);
      store16(yo + t * 16, v);
    }
  }
}

template <int OB, int T, int S>
static void conv_tile(const TileArgs& a) {
  v16 acc[OB][T];
#pragma GCC unroll 4
  for (int ob = 0; ob < OB; ++ob)
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) acc[ob][t] = v16{};
  const int64_t taps = a.KH * a.KW;
  for (int64_t cb = 0; cb < a.Cb; ++cb) {
    const int icn = cb == a.Cb - 1 ? int(a.last_icn) : 16;
    const float* xc = a.x + cb * a.x_cb;
    const float* wc = a.w + cb * taps * 256;
    for (int64_t kh = 0; kh < a.KH; ++kh)
      for (int64_t kw = 0; kw < a.KW; ++kw) {
        const float* xp = xc + kh * a.x_row + kw * 16;
        const float* wp = wc + (kh * a.KW + kw) * 256;
        if (icn == 16) tile_channels<OB, T, S, 16>(acc, xp, wp, a.w_ob, 16);
        else tile_channels<OB, T, S, 0>(acc, xp, wp, a.w_ob, icn);
      }
  }
  store_tile<OB, T>(acc, a);
}

// A kernel family K (K::run<OB, T>(args), one tile) for a run-time tile width T 1..14 and output-block
// count 1..kMaxBlocks(T) (at most 28 accumulators: 2 blocks up to 14 pixels, 3 up to 9, 4 up to 7)
template <class K>
static void tile_any(int ob, int t, const TileArgs& a) {
#define FK_TILE2(T) \
  case T:           \
    return ob == 2 ? K::template run<2, T>(a) : K::template run<1, T>(a);
#define FK_TILE3(T)                                      \
  case T:                                                \
    if (ob == 3) return K::template run<3, T>(a);        \
    return ob == 2 ? K::template run<2, T>(a) : K::template run<1, T>(a);
#define FK_TILE4(T)                                      \
  case T:                                                \
    if (ob == 4) return K::template run<4, T>(a);        \
    if (ob == 3) return K::template run<3, T>(a);        \
    return ob == 2 ? K::template run<2, T>(a) : K::template run<1, T>(a);
  switch (t) {
    FK_TILE4(1) FK_TILE4(2) FK_TILE4(3) FK_TILE4(4) FK_TILE4(5) FK_TILE4(6) FK_TILE4(7)
    FK_TILE3(8) FK_TILE3(9)
    FK_TILE2(10) FK_TILE2(11) FK_TILE2(12) FK_TILE2(13) FK_TILE2(14)
    default: break;
  }
#undef FK_TILE2
#undef FK_TILE3
#undef FK_TILE4
}

template <int S>
struct DenseTile {
  template <int OB, int T>
  static void run(const TileArgs& a) { conv_tile<OB, T, S>(a); }
};

// One output row (n, ob0 .. ob0+OB-1, oh) in tiles of up to max_tile pixels, split evenly (max_tile
// 14: 56 -> 4 x 14, 28 -> 2 x 14, 7 -> 7, 30 -> 10 + 10 + 10); x_step: input floats from one output
// pixel to the next.
template <class K>
static void tile_row(int ob, int64_t OW, int64_t x_step, int64_t max_tile, TileArgs a) {
  const int64_t tiles = (OW + max_tile - 1) / max_tile;
  int64_t ow = 0;
  const float* x0 = a.x;
  float* y0 = a.y;
  const float* r0 = a.res;
  for (int64_t i = 0; i < tiles; ++i) {
    const int64_t next = OW * (i + 1) / tiles;
    a.x = x0 + ow * x_step;
    a.y = y0 + ow * 16;
    a.res = r0 ? r0 + ow * 16 : nullptr;
    tile_any<K>(ob, int(next - ow), a);
    ow = next;
  }
}

// One output row of a dense conv on the blocked input.
static void conv_row(int ob, int64_t OW, int64_t SW, const TileArgs& a) {
  if (SW == 1) tile_row<DenseTile<1>>(ob, OW, 16, kMaxTile, a);
  else tile_row<DenseTile<2>>(ob, OW, 32, kMaxTile, a);
}

// One output row of a depthwise conv (groups == C == OC): x at (n, cb, oh*SH, 0) of the padded input,
// w at the packed (KH, KW, 16) weights of block cb, y/res at (n, cb, oh, 0).
static void depthwise_row(const float* x, int64_t x_row, const float* w, int64_t KH, int64_t KW, int64_t SW,
                          int64_t OW, float* y, const float* res, const float* bias, const float* slope,
                          fk::cpu::Activation act, bool res_after_act) {
  constexpr int kT = 8;
  const v16 b = bias ? load16(bias) : v16{};
  const v16 sl = slope ? load16(slope) : v16{};
  for (int64_t ow0 = 0; ow0 < OW; ow0 += kT) {
    const int n = int(OW - ow0 < kT ? OW - ow0 : kT);
    v16 acc[kT];
    for (int t = 0; t < kT; ++t) acc[t] = b;
    for (int64_t kh = 0; kh < KH; ++kh)
      for (int64_t kw = 0; kw < KW; ++kw) {
        const v16 wv = load16(w + (kh * KW + kw) * 16);
        const float* xp = x + kh * x_row + (ow0 * SW + kw) * 16;
        if (n == kT) {
#pragma GCC unroll 8
          for (int t = 0; t < kT; ++t) acc[t] += wv * load16(xp + t * SW * 16);
        } else {
          for (int t = 0; t < n; ++t) acc[t] += wv * load16(xp + t * SW * 16);
        }
      }
    for (int t = 0; t < n; ++t) {
      v16 v = acc[t];
      const float* ro = res ? res + (ow0 + t) * 16 : nullptr;
      if (ro && !res_after_act) v += load16(ro);
      if (act == fk::cpu::Activation::ReLU) v = v > 0 ? v : v16{};
      else if (act == fk::cpu::Activation::PReLU) v = v > 0 ? v : v * sl;
      if (ro && res_after_act) v += load16(ro);
      store16(y + (ow0 + t) * 16, v);
    }
  }
}

// ---- Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions (Lavin & Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2016): each 2x2 output tile is A^T [ (G g G^T) .* (B^T d B) ] A
// of its 4x4 input tile d, 16 multiplies per output channel and input channel instead of 36.
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] (winograd_transform.h),  A^T = [1 1 1 0; 0 1 -1 -1]
// The 16 products summed over input channels are 16 GEMMs (one per tile position) of the transformed
// weights (16, OCb, Cb, 16, 16) by the transformed input V (16 positions of Cb x tiles vectors): the
// dense tile kernel above, with tiles in place of output pixels.

#include "tensor/cpu/winograd_transform.h"

// A work item (conv2d_winograd in conv_blocked.cpp) takes a chunk of up to kWinogradChunk tiles and a
// range of output-block pairs: it transforms the chunk's input into V, a buffer of its thread's that
// stays in L2, stored (16 positions, sub-chunks of kWinogradTile tiles, Cb, kWinogradTile, 16) so that
// what one micro-kernel call reads for a position is one run of memory, then runs the GEMMs of its
// output blocks over it. So V never goes to memory, and the transformed weights of a pair are read
// once per chunk (48 tiles), not once per 12.
static FK_ALWAYS_INLINE int64_t winograd_v_offset(int64_t t, int64_t cb, int64_t Cb) {
  return ((t / kWinogradTile) * Cb + cb) * kWinogradTile * 16 + (t % kWinogradTile) * 16;
}

// V of tiles [t_begin, t_end) (tile = (n, i, j), input rows 2i .. 2i+3 and columns 2j .. 2j+3 of the
// padded input); pos_stride floats between positions.
static void winograd_input_tiles(const fk::cpu::BlockedConvGeometry& g, fk::cpu::PaddedInput x, int64_t t_begin,
                                 int64_t t_end, float* V, int64_t pos_stride) {
  const int64_t Cb = fk::cpu::channel_blocks(g.C), th = (g.OH + 1) / 2, tw = (g.OW + 1) / 2;
  const int64_t x_row = x.Wp * 16;
  for (int64_t cb = 0; cb < Cb; ++cb)
    for (int64_t t = t_begin; t < t_end; ++t) {
      const int64_t j = t % tw, i = (t / tw) % th, n = t / (tw * th);
      const float* xp = x.data + ((n * Cb + cb) * x.Hp + 2 * i) * x_row + 2 * j * 16;
      v16 d[4][4];
      for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 4; ++c) d[r][c] = load16(xp + r * x_row + c * 16);
      float* v = V + winograd_v_offset(t - t_begin, cb, Cb);
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) winograd_input_transform_row(d, r, v + (r * 4) * pos_stride, pos_stride);
    }
}

// OB output blocks x T tiles starting at tile t0: the 16 GEMMs into m, then A^T m A and the epilogue.
// V: the sub-chunk's transforms of position 0 (pos_stride floats to the next position).
template <int OB, int T>
static void winograd_tile(const float* V, int64_t pos_stride, const float* U, int64_t Cb, int64_t last_icn,
                          int64_t ob0, int64_t t0, const WinogradOut& o) {
  alignas(64) float m[16][OB][T][16];
  const int64_t w_ob = Cb * 256;
  for (int pos = 0; pos < 16; ++pos) {
    v16 acc[OB][T];
#pragma GCC unroll 4
    for (int ob = 0; ob < OB; ++ob)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) acc[ob][t] = v16{};
    const float* vp = V + pos * pos_stride;
    const float* up = U + ((pos * o.OCb + ob0) * Cb) * 256;
    for (int64_t cb = 0; cb < Cb; ++cb) {
      const int icn = cb == Cb - 1 ? int(last_icn) : 16;
      const float* vc = vp + cb * kWinogradTile * 16;
      if (icn == 16) tile_channels<OB, T, 1, 16>(acc, vc, up + cb * 256, w_ob, 16);
      else tile_channels<OB, T, 1, 0>(acc, vc, up + cb * 256, w_ob, icn);
    }
#pragma GCC unroll 4
    for (int ob = 0; ob < OB; ++ob)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) store16(m[pos][ob][t], acc[ob][t]);
  }
  for (int ob = 0; ob < OB; ++ob) {
    const int64_t b = ob0 + ob;
    const v16 bias = o.bias ? load16(o.bias + b * 16) : v16{};
    const v16 sl = o.slope ? load16(o.slope + b * 16) : v16{};
    for (int t = 0; t < T; ++t) {
      const int64_t tile = t0 + t, j = tile % o.tw, i = (tile / o.tw) % o.th, n = tile / (o.tw * o.th);
      v16 s[4][2];  // A^T over the rows of m, per column
      for (int c = 0; c < 4; ++c) {
        const v16 m0 = load16(m[c][ob][t]), m1 = load16(m[4 + c][ob][t]), m2 = load16(m[8 + c][ob][t]),
                  m3 = load16(m[12 + c][ob][t]);
        s[c][0] = m0 + m1 + m2;
        s[c][1] = m1 - m2 - m3;
      }
      for (int r = 0; r < 2; ++r) {
        const int64_t oh = 2 * i + r;
        if (oh >= o.OH) break;
        const v16 out[2] = {s[0][r] + s[1][r] + s[2][r], s[1][r] - s[2][r] - s[3][r]};
        for (int c = 0; c < 2; ++c) {
          const int64_t ow = 2 * j + c;
          if (ow >= o.OW) break;
          const int64_t at = (((n * o.OCb + b) * o.OH + oh) * o.OW + ow) * 16;
          v16 v = out[c] + bias;
          if (o.res && !o.res_after_act) v += load16(o.res + at);
          if (o.act == fk::cpu::Activation::ReLU) v = v > 0 ? v : v16{};
          else if (o.act == fk::cpu::Activation::PReLU) v = v > 0 ? v : v * sl;
          if (o.res && o.res_after_act) v += load16(o.res + at);
          store16(o.y + at, v);
        }
      }
    }
  }
}

// One work item: tiles [t_begin, t_end) (at most kWinogradChunk) transformed into V (pos_stride floats
// per position; unless !transform: V holds them already), then output-block pairs
// [pair_begin, pair_end) over them, kWinogradTile tiles a call.
static void winograd_chunk(const fk::cpu::BlockedConvGeometry& g, fk::cpu::PaddedInput x, const float* U,
                           const WinogradOut& o, float* V, int64_t pos_stride, int64_t t_begin, int64_t t_end,
                           int64_t pair_begin, int64_t pair_end, bool transform) {
  const int64_t Cb = fk::cpu::channel_blocks(g.C), last_icn = g.C - (Cb - 1) * 16;
  if (transform) winograd_input_tiles(g, x, t_begin, t_end, V, pos_stride);
  for (int64_t pair = pair_begin; pair < pair_end; ++pair)
    for (int64_t t0 = t_begin; t0 < t_end; t0 += kWinogradTile) {
      const int64_t ob0 = pair * 2;
      const int ob = o.OCb - ob0 >= 2 ? 2 : 1;
      const int t = int(t_end - t0 < kWinogradTile ? t_end - t0 : kWinogradTile);
      const float* v = V + winograd_v_offset(t0 - t_begin, 0, Cb);
#define FK_WG_CASE(T)                                                               \
  case T:                                                                           \
    if (ob == 2) winograd_tile<2, T>(v, pos_stride, U, Cb, last_icn, ob0, t0, o);   \
    else winograd_tile<1, T>(v, pos_stride, U, Cb, last_icn, ob0, t0, o);           \
    break;
      switch (t) {
        FK_WG_CASE(1) FK_WG_CASE(2) FK_WG_CASE(3) FK_WG_CASE(4) FK_WG_CASE(5) FK_WG_CASE(6) FK_WG_CASE(7)
        FK_WG_CASE(8) FK_WG_CASE(9) FK_WG_CASE(10) FK_WG_CASE(11) FK_WG_CASE(12)
        default: break;
      }
#undef FK_WG_CASE
    }
}
