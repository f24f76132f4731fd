// The micro-kernels of conv2d_weight_grad_blocked (conv_weight_grad.h). Like conv_blocked_kernel.h this
// header is compiled twice, each time inside a namespace of its own: for AVX-512 (a v16 is one zmm
// register) and for the build's baseline ISA. No include guard, on purpose.
//
// Dense tile: the weight gradient is a sum over output pixels of outer products,
//   dw[k, c, r, s] += dy[n, k, oh, ow] * x[n, c, oh*SH - PH + r, ow*SW - PW + s].
// A tile keeps V <= 3 input "sources" (16 input channels each: up to 3 kernel columns s of one
// channel block, or 3 channel blocks of a 1x1 conv) x 8 output channels in 24 accumulators
// acc[v][j], lane = input channel. Per output pixel: V input-vector loads, 8 broadcasts of dy,
// 8V FMAs. Out-of-range input pixels (the zero padding) contribute nothing: the interior columns run
// without checks, the few border columns with them.
//
// Depthwise tile (groups == C == OC): dw[c, r, s] += dy[n, c, oh, ow] * x[n, c, ih, iw], lane =
// channel, one accumulator per tap (3x3: 9), one dy load and one input load per FMA.

#include "tensor/cpu/v16_helpers.h"

// One tile: output rows [oh0, oh1) of image n for one kernel row r and one dy half (8 channels).
struct WgradTile {
  const float* x[3];  // the sources' planes (H, W, 16) of image n (blocked input, not padded)
  int64_t off[3];     // each source's column offset s_v - PW
  const float* dy;    // plane (OH, OW, 16) of image n, output block kb, plus the half's 8-channel offset
  int64_t r, oh0, oh1;
  int64_t H, W, OW, SH, SW, PH;
  int64_t lo, hi;     // interior output columns [lo, hi), lo <= hi <= OW: every source's column inside [0, W)
};

template <int V>
static FK_ALWAYS_INLINE void wgrad_pixel(v16 (&acc)[V][8], const v16 (&xv)[V], const float* d) {
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) {
    const v16 b = splat16(d[j]);
#pragma GCC unroll 3
    for (int v = 0; v < V; ++v) acc[v][j] += xv[v] * b;
  }
}

// acc (V * 8 vectors at out, accumulated into) += the tile's outer products
template <int V>
static void wgrad_tile(const WgradTile& t, float* out) {
  v16 acc[V][8];
#pragma GCC unroll 3
  for (int v = 0; v < V; ++v)
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) acc[v][j] = load16(out + (v * 8 + j) * 16);
  for (int64_t oh = t.oh0; oh < t.oh1; ++oh) {
    const int64_t ih = oh * t.SH - t.PH + t.r;
    if (ih < 0 || ih >= t.H) continue;  // the whole row is padding
    const float* xr[V];
    for (int v = 0; v < V; ++v) xr[v] = t.x[v] + ih * t.W * 16;
    const float* d = t.dy + oh * t.OW * 16;
    auto border = [&](int64_t ow) {
      v16 xv[V];
      for (int v = 0; v < V; ++v) {
        const int64_t iw = ow * t.SW + t.off[v];
        xv[v] = iw >= 0 && iw < t.W ? load16(xr[v] + iw * 16) : v16{};
      }
      wgrad_pixel<V>(acc, xv, d + ow * 16);
    };
    for (int64_t ow = 0; ow < t.lo; ++ow) border(ow);
    for (int64_t ow = t.lo; ow < t.hi; ++ow) {
      v16 xv[V];
#pragma GCC unroll 3
      for (int v = 0; v < V; ++v) xv[v] = load16(xr[v] + (ow * t.SW + t.off[v]) * 16);
      wgrad_pixel<V>(acc, xv, d + ow * 16);
    }
    for (int64_t ow = t.hi; ow < t.OW; ++ow) border(ow);
  }
#pragma GCC unroll 3
  for (int v = 0; v < V; ++v)
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) store16(out + (v * 8 + j) * 16, acc[v][j]);
}

static void wgrad_tile_any(int v, const WgradTile& t, float* out) {
  if (v == 3) wgrad_tile<3>(t, out);
  else if (v == 2) wgrad_tile<2>(t, out);
  else wgrad_tile<1>(t, out);
}

// One depthwise tile: output rows [oh0, oh1) of image n, channel block cb; x (H, W, 16) and dy
// (OH, OW, 16) its planes; out (KH*KW vectors) accumulated into. KH = KW = 3 keeps the 9 taps in
// registers; other kernels (MobileFaceNet's 7x6 global depthwise conv) run one tap at a time.
struct DepthwiseTile {
  const float* x;
  const float* dy;
  int64_t oh0, oh1, H, W, OW, KH, KW, SH, SW, PH, PW;
};

static FK_ALWAYS_INLINE bool wg_inside(int64_t i, int64_t n) { return i >= 0 && i < n; }

static void depthwise_wgrad_3x3(const DepthwiseTile& t, float* out) {
  v16 acc[3][3];
  for (int r = 0; r < 3; ++r)
    for (int s = 0; s < 3; ++s) acc[r][s] = load16(out + (r * 3 + s) * 16);
  // interior columns: ow*SW - PW >= 0 and ow*SW - PW + 2 < W
  int64_t lo = (t.PW + t.SW - 1) / t.SW, hi = t.W - 3 + t.PW >= 0 ? (t.W - 3 + t.PW) / t.SW + 1 : 0;
  if (hi > t.OW) hi = t.OW;
  if (lo > hi) lo = hi;
  for (int64_t oh = t.oh0; oh < t.oh1; ++oh) {
    const int64_t ih0 = oh * t.SH - t.PH;
    const float* d = t.dy + oh * t.OW * 16;
    const float* xr[3];
    bool row_in[3];
    for (int r = 0; r < 3; ++r) {
      row_in[r] = wg_inside(ih0 + r, t.H);
      xr[r] = t.x + (row_in[r] ? ih0 + r : 0) * t.W * 16;
    }
    auto pixel = [&](int64_t ow, bool check) {
      const v16 dv = load16(d + ow * 16);
      const int64_t iw0 = ow * t.SW - t.PW;
#pragma GCC unroll 3
      for (int r = 0; r < 3; ++r) {
        if (!row_in[r]) continue;
#pragma GCC unroll 3
        for (int s = 0; s < 3; ++s)
          if (!check || wg_inside(iw0 + s, t.W)) acc[r][s] += dv * load16(xr[r] + (iw0 + s) * 16);
      }
    };
    for (int64_t ow = 0; ow < lo; ++ow) pixel(ow, true);
    for (int64_t ow = lo; ow < hi; ++ow) pixel(ow, false);
    for (int64_t ow = hi; ow < t.OW; ++ow) pixel(ow, true);
  }
  for (int r = 0; r < 3; ++r)
    for (int s = 0; s < 3; ++s) store16(out + (r * 3 + s) * 16, acc[r][s]);
}

static void depthwise_wgrad_any(const DepthwiseTile& t, float* out) {
  for (int64_t r = 0; r < t.KH; ++r)
    for (int64_t s = 0; s < t.KW; ++s) {
      v16 acc = load16(out + (r * t.KW + s) * 16);
      for (int64_t oh = t.oh0; oh < t.oh1; ++oh) {
        const int64_t ih = oh * t.SH - t.PH + r;
        if (!wg_inside(ih, t.H)) continue;
        const float* xr = t.x + ih * t.W * 16;
        const float* d = t.dy + oh * t.OW * 16;
        for (int64_t ow = 0; ow < t.OW; ++ow) {
          const int64_t iw = ow * t.SW - t.PW + s;
          if (wg_inside(iw, t.W)) acc += load16(d + ow * 16) * load16(xr + iw * 16);
        }
      }
      store16(out + (r * t.KW + s) * 16, acc);
    }
}

static void depthwise_wgrad(const DepthwiseTile& t, float* out) {
  if (t.KH == 3 && t.KW == 3) depthwise_wgrad_3x3(t, out);
  else depthwise_wgrad_any(t, out);
}

// ---- work items (conv_weight_grad.cpp hands them out): dense convs (output block kb, group of
// sources), depthwise convs (channel block). An item sums over every image, in chunks of `rows`
// output rows so that a chunk's input and dy stay in cache across the item's tiles; it owns its part
// of dw, so the result does not depend on the thread count.

static FK_ALWAYS_INLINE int64_t wg_min(int64_t a, int64_t b) { return a < b ? a : b; }
static FK_ALWAYS_INLINE int64_t wg_max(int64_t a, int64_t b) { return a > b ? a : b; }

static void wgrad_dense_items(const fk::cpu::BlockedConvGeometry& g, const float* x, const float* dy, float* dw,
                              int64_t rows, float* acc, int64_t begin, int64_t end) {
  const int64_t Cb = fk::cpu::channel_blocks(g.C), OCb = fk::cpu::channel_blocks(g.OC);
  const bool by_blocks = g.KW == 1;  // sources: 3 channel blocks, else up to 3 columns of one block
  const int64_t cgroups = by_blocks ? (Cb + 2) / 3 : Cb, sgroups = by_blocks ? 1 : (g.KW + 2) / 3;
  const int64_t x_plane = g.H * g.W * 16, y_plane = g.OH * g.OW * 16;
  const int64_t tiles = g.KH * sgroups * 2;  // (r, sg, half), 24 vectors of 16 each
  for (int64_t i = begin; i < end; ++i) {
    const int64_t kb = i / cgroups, cg = i % cgroups;
    std::memset(acc, 0, size_t(tiles * 384) * sizeof(float));
    auto source = [&](int64_t sg, int v, int64_t& cb, int64_t& s) {
      cb = by_blocks ? cg * 3 + v : cg;
      s = by_blocks ? 0 : sg * 3 + v;
    };
    auto count = [&](int64_t sg) { return int(by_blocks ? wg_min(3, Cb - cg * 3) : wg_min(3, g.KW - sg * 3)); };
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t oh0 = 0; oh0 < g.OH; oh0 += rows)
        for (int64_t r = 0; r < g.KH; ++r)
          for (int64_t sg = 0; sg < sgroups; ++sg) {
            WgradTile t;
            const int V = count(sg);
            int64_t lo = 0, hi = g.OW;
            for (int v = 0; v < V; ++v) {
              int64_t cb, s;
              source(sg, v, cb, s);
              t.x[v] = x + (n * Cb + cb) * x_plane;
              t.off[v] = s - g.PW;
              lo = wg_max(lo, t.off[v] < 0 ? (-t.off[v] + g.SW - 1) / g.SW : 0);
              hi = wg_min(hi, g.W - 1 - t.off[v] >= 0 ? (g.W - 1 - t.off[v]) / g.SW + 1 : 0);
            }
            t.lo = wg_min(lo, g.OW);
            t.hi = wg_max(hi, t.lo);
            t.r = r, t.oh0 = oh0, t.oh1 = wg_min(g.OH, oh0 + rows);
            t.H = g.H, t.W = g.W, t.OW = g.OW, t.SH = g.SH, t.SW = g.SW, t.PH = g.PH;
            for (int h = 0; h < 2; ++h) {
              t.dy = dy + (n * OCb + kb) * y_plane + h * 8;
              wgrad_tile_any(V, t, acc + ((r * sgroups + sg) * 2 + h) * 384);
            }
          }
    for (int64_t r = 0; r < g.KH; ++r)
      for (int64_t sg = 0; sg < sgroups; ++sg)
        for (int h = 0; h < 2; ++h)
          for (int v = 0; v < count(sg); ++v)
            for (int j = 0; j < 8; ++j) {
              const int64_t k = kb * 16 + h * 8 + j;
              if (k >= g.OC) continue;
              int64_t cb, s;
              source(sg, v, cb, s);
              const float* a = acc + ((r * sgroups + sg) * 2 + h) * 384 + (v * 8 + j) * 16;
              for (int64_t c = cb * 16; c < wg_min(g.C, cb * 16 + 16); ++c)
                dw[((k * g.C + c) * g.KH + r) * g.KW + s] = a[c - cb * 16];
            }
  }
}

static void wgrad_depthwise_items(const fk::cpu::BlockedConvGeometry& g, const float* x, const float* dy, float* dw,
                                  int64_t rows, float* acc, int64_t begin, int64_t end) {
  const int64_t Cb = fk::cpu::channel_blocks(g.C), taps = g.KH * g.KW;
  for (int64_t cb = begin; cb < end; ++cb) {
    std::memset(acc, 0, size_t(taps * 16) * sizeof(float));
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t oh0 = 0; oh0 < g.OH; oh0 += rows) {
        DepthwiseTile t;
        t.x = x + (n * Cb + cb) * g.H * g.W * 16;
        t.dy = dy + (n * Cb + cb) * g.OH * g.OW * 16;
        t.oh0 = oh0, t.oh1 = wg_min(g.OH, oh0 + rows);
        t.H = g.H, t.W = g.W, t.OW = g.OW, t.KH = g.KH, t.KW = g.KW;
        t.SH = g.SH, t.SW = g.SW, t.PH = g.PH, t.PW = g.PW;
        depthwise_wgrad(t, acc);
      }
    for (int64_t c = cb * 16; c < wg_min(g.C, cb * 16 + 16); ++c)
      for (int64_t k = 0; k < taps; ++k) dw[c * taps + k] = acc[k * 16 + c - cb * 16];
  }
}
