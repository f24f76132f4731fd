// The pieces of conv2d_weight_grad_winograd (conv_weight_grad.h), compiled twice like
// conv_weight_grad_kernel.h (included after it, inside the same per-ISA namespace). No include guard.
//
// Winograd F(2x2, 3x3) run backwards (Lavin & Gray 2016). The forward computes each 2x2 output tile as
//   Y = A^T [ U .* V ] A,   U = G g G^T (weights),   V = B^T d B (the tile's 4x4 input d),
// so the weight gradient summed over the tiles is
//   dg = G^T [ sum over tiles of M .* V ] G,   M = A dY A^T (the tile's 2x2 output gradient dY),
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  A^T = [1 1 1 0; 0 1 -1 -1],
//   G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]:
// 16 products per tile, input channel and output channel instead of the direct form's 36 (9 taps x 4
// pixels). The sum is 16 GEMMs, one per tile position, that reduce over the tiles: the dense wgrad
// tile of conv_weight_grad_kernel.h with tiles in place of pixels (a plane of one row).
//
// The 16 positions split into their 4 rows (position = 4 * row + column); a thread owns a range of
// rows [r0, r1) for the whole call (np = 4 * (r1 - r0) positions): it transforms every tile of the
// rows it owns, chunk by chunk, into buffers of its own that stay in L2,
//   Vx (np, Cb, Tc, 16) and Vy (np, OCb, Tc, 16): position, channel block, tile of the chunk, lanes,
// and adds their products into its positions of dU, one 384-float block of the dense tile's
// accumulators per (position, output block kb, source group cg, half h): up to 3 input blocks x 8 output
// channels x 16 lanes. No barrier between chunks, and each dU element is summed by one thread in tile
// order.

#include "tensor/cpu/winograd_transform.h"

static FK_ALWAYS_INLINE void wgw_tile_coords(const fk::cpu::WinogradWgradChunk& ck, int64_t t, int64_t& n, int64_t& i,
                                             int64_t& j) {
  const int64_t tile = ck.t0 + t;
  j = tile % ck.tw, i = (tile / ck.tw) % ck.th, n = tile / (ck.tw * ck.th);
}

// Vx rows [r0, r1) for the chunk's tiles, channel block cb. The 4x4 input tile d of tile (n, i, j)
// starts at row 2i - PH, column 2j - PW; pixels outside the input are zero.
static void wgw_input_tiles(const fk::cpu::BlockedConvGeometry& g, const float* x, const fk::cpu::WinogradWgradChunk& ck,
                            int64_t cb, int r0, int r1, float* Vx) {
  const int64_t Cb = fk::cpu::channel_blocks(g.C), pos_stride = Cb * ck.Tc * 16;
  for (int64_t t = 0; t < ck.tc; ++t) {
    int64_t n, i, j;
    wgw_tile_coords(ck, t, n, i, j);
    const int64_t ih0 = 2 * i - g.PH, iw0 = 2 * j - g.PW;
    const float* xp = x + (n * Cb + cb) * g.H * g.W * 16;
    v16 d[4][4];
    if (ih0 >= 0 && ih0 + 4 <= g.H && iw0 >= 0 && iw0 + 4 <= g.W) {
      for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 4; ++c) d[r][c] = load16(xp + ((ih0 + r) * g.W + iw0 + c) * 16);
    } else {
      for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 4; ++c) {
          const int64_t ih = ih0 + r, iw = iw0 + c;
          d[r][c] = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W ? load16(xp + (ih * g.W + iw) * 16) : v16{};
        }
    }
    float* out = Vx + (cb * ck.Tc + t) * 16;
    for (int r = r0; r < r1; ++r) winograd_input_transform_row(d, r, out + (r - r0) * 4 * pos_stride, pos_stride);
  }
}

// Vy rows [r0, r1) for the chunk's tiles, output block kb: M = A dY A^T of the tile's 2x2 output
// gradient dY (the row and column past OH, OW of the last tiles are zero).
static void wgw_output_grad_tiles(const fk::cpu::BlockedConvGeometry& g, const float* dy,
                                  const fk::cpu::WinogradWgradChunk& ck, int64_t kb, int r0, int r1, float* Vy) {
  const int64_t OCb = fk::cpu::channel_blocks(g.OC), pos_stride = OCb * ck.Tc * 16;
  for (int64_t t = 0; t < ck.tc; ++t) {
    int64_t n, i, j;
    wgw_tile_coords(ck, t, n, i, j);
    const float* yp = dy + ((n * OCb + kb) * g.OH + 2 * i) * g.OW * 16 + 2 * j * 16;
    const bool row1 = 2 * i + 1 < g.OH, col1 = 2 * j + 1 < g.OW;
    const v16 y00 = load16(yp), y01 = col1 ? load16(yp + 16) : v16{};
    const v16 y10 = row1 ? load16(yp + g.OW * 16) : v16{}, y11 = row1 && col1 ? load16(yp + g.OW * 16 + 16) : v16{};
    float* out = Vy + (kb * ck.Tc + t) * 16;
    for (int r = r0; r < r1; ++r) {
      // row r of A dY (rows y0, y0 + y1, y0 - y1, -y1), then times A^T: p, p + q, p - q, -q
      const v16 p = r == 0 ? y00 : r == 1 ? y00 + y10 : r == 2 ? y00 - y10 : -y10;
      const v16 q = r == 0 ? y01 : r == 1 ? y01 + y11 : r == 2 ? y01 - y11 : -y11;
      float* o = out + (r - r0) * 4 * pos_stride;
      store16(o, p);
      store16(o + pos_stride, p + q);
      store16(o + 2 * pos_stride, p - q);
      store16(o + 3 * pos_stride, -q);
    }
  }
}

// Source group cg of Cb input blocks in `groups` groups of 2 or 3: blocks [first, first + count).
static FK_ALWAYS_INLINE void wgw_group(int64_t Cb, int64_t groups, int64_t cg, int64_t& first, int& count) {
  first = cg * Cb / groups;
  count = int((cg + 1) * Cb / groups - first);
}

// dU (positions of rows [r0, r1)) += the chunk's products.
static void wgw_gemm(const fk::cpu::BlockedConvGeometry& g, const fk::cpu::WinogradWgradChunk& ck, const float* Vx,
                     const float* Vy, int r0, int r1, float* dU) {
  const int64_t Cb = fk::cpu::channel_blocks(g.C), OCb = fk::cpu::channel_blocks(g.OC), cgroups = (Cb + 2) / 3;
  WgradTile t;  // a plane of one row of tc "pixels"
  t.r = 0, t.oh0 = 0, t.oh1 = 1, t.H = 1, t.W = ck.tc, t.OW = ck.tc, t.SH = 1, t.SW = 1, t.PH = 0;
  t.lo = 0, t.hi = ck.tc;
  for (int64_t p = 0; p < 4 * (r1 - r0); ++p) {
    const int64_t pos = r0 * 4 + p;
    const float* vx = Vx + p * Cb * ck.Tc * 16;
    for (int64_t kb = 0; kb < OCb; ++kb)
      for (int64_t cg = 0; cg < cgroups; ++cg) {
        int64_t first;
        int V;
        wgw_group(Cb, cgroups, cg, first, V);
        for (int v = 0; v < V; ++v) {
          t.x[v] = vx + (first + v) * ck.Tc * 16;
          t.off[v] = 0;
        }
        for (int h = 0; h < 2; ++h) {
          t.dy = Vy + (p * OCb + kb) * ck.Tc * 16 + h * 8;
          wgrad_tile_any(V, t, dU + (((pos * OCb + kb) * cgroups + cg) * 2 + h) * 384);
        }
      }
  }
}

// dw (OC, C, 3, 3) for output blocks [begin, end): G^T M G per output and input channel, M the 16
// positions' sums.
static void wgw_weight_items(const fk::cpu::BlockedConvGeometry& g, const float* dU, float* dw, int64_t begin,
                             int64_t end) {
  const int64_t Cb = fk::cpu::channel_blocks(g.C), OCb = fk::cpu::channel_blocks(g.OC), cgroups = (Cb + 2) / 3;
  const int64_t pos_stride = OCb * cgroups * 2 * 384;
  for (int64_t kb = begin; kb < end; ++kb)
    for (int64_t cg = 0; cg < cgroups; ++cg) {
      int64_t first;
      int count;
      wgw_group(Cb, cgroups, cg, first, count);
      for (int h = 0; h < 2; ++h)
        for (int v = 0; v < count; ++v)
          for (int j = 0; j < 8; ++j) {
            const int64_t k = kb * 16 + h * 8 + j, c0 = (first + v) * 16;
            if (k >= g.OC) continue;
            const float* m = dU + ((kb * cgroups + cg) * 2 + h) * 384 + (v * 8 + j) * 16;
            v16 p[3][4];  // G^T M
            for (int c = 0; c < 4; ++c) {
              const v16 m0 = load16(m + c * pos_stride), m1 = load16(m + (4 + c) * pos_stride),
                        m2 = load16(m + (8 + c) * pos_stride), m3 = load16(m + (12 + c) * pos_stride);
              const v16 sum = 0.5f * (m1 + m2);
              p[0][c] = m0 + sum;
              p[1][c] = 0.5f * (m1 - m2);
              p[2][c] = sum + m3;
            }
            alignas(64) float out[9][16];  // (G^T M) G
            for (int r = 0; r < 3; ++r) {
              const v16 sum = 0.5f * (p[r][1] + p[r][2]);
              store16(out[r * 3 + 0], p[r][0] + sum);
              store16(out[r * 3 + 1], 0.5f * (p[r][1] - p[r][2]));
              store16(out[r * 3 + 2], sum + p[r][3]);
            }
            for (int64_t c = c0; c < wg_min(g.C, c0 + 16); ++c)
              for (int q = 0; q < 9; ++q) dw[(k * g.C + c) * 9 + q] = out[q][c - c0];
          }
    }
}
