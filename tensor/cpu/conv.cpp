// CPU kernels of conv2d (torch.nn.functional.conv2d): forward and backward as im2col + GEMM over
// batches of images, and conv2d_reference, the seven-loop definition the tests check them against:
//   y[n,oc,oh,ow] = b[oc] + sum_{cg,kh,kw} x[n, g*Cg+cg, oh*SH-PH+kh*DH, ow*SW-PW+kw*DW] * w[oc,cg,kh,kw]
// with g = oc / (OC/groups), Cg = C/groups, and x = 0 outside the input (zero padding).
//
// Layout: the column matrix col has one row per (c, kh, kw) and one column per (n, oh, ow), so the
// rows of group g are one contiguous block and a batch of images is one GEMM per group:
//   y_g (OCg, N*L) = w_g (OCg, Cg*KH*KW) x col_g (Cg*KH*KW, N*L),   L = OH*OW
// whose (OC, N, L) result is then permuted to (N, OC, L). The batch is cut into chunks whose column
// matrix stays under 32 MB, 8 MB in backward (images_per_chunk): the whole batch for small maps. A 1x1
// stride-1 unpadded conv needs no im2col: each image x_n (C, H*W) already is its column matrix.
// The index rule (tensor/cpu/conv_math.h, shared with the CUDA kernels) is applied here row by row:
// valid_range() solves conv_inside(conv_in_pos(o, k)) for the run of valid o, so whole rows are copied.
// Backward: dw_g = dy_g col_g^T, dcol_g = w_g^T dy_g followed by col2im (the adjoint of im2col),
// db = sum of dy over (n, oh, ow). OpenMP runs the im2col/col2im/permute loops; the GEMMs are
// called outside parallel regions (OpenBLAS threads itself). Float32 convs of 16 or more channels
// run their forward, their weight gradient and (stride 1) their input gradient on the blocked kernels
// instead (conv_blocked_nchw.h). Tests: tests/tensor/test_conv.cpp.
#include <algorithm>
#include <cstring>
#include <memory>
#include <type_traits>

#include "tensor/cpu/conv_blocked_nchw.h"
#include "tensor/cpu/conv_math.h"
#include "tensor/cpu/kernels_conv_pool.h"
#include "tensor/linalg.h"
#include "tensor/parallel.h"

namespace fk::cpu {

// The outputs o in [lo, hi) whose input position o*S + off lies inside [0, in), clipped to [0, out).
static void valid_range(int64_t off, int64_t S, int64_t in, int64_t out, int64_t& lo, int64_t& hi) {
  lo = off >= 0 ? 0 : (-off + S - 1) / S;
  hi = in - 1 - off < 0 ? 0 : (in - 1 - off) / S + 1;
  lo = std::min(lo, out);
  hi = std::clamp(hi, lo, out);
}

// Work items per OpenMP chunk so that a thread gets at least ~32k elements to copy.
static int64_t grain_for(int64_t per_item) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, per_item)); }

// A 1x1 stride-1 unpadded conv: x_n (C, H*W) already is the column matrix of image n, so there is
// no im2col at all, one GEMM per image straight into y. (Gathering small maps into one GEMM over the
// batch was measured too: ~20% faster on 7x7 maps with OMP_WAIT_POLICY=passive, but slower with the
// default policy, where the OpenMP gather threads spin against OpenBLAS's own threads.)
static bool is_pointwise(const Conv2dGeometry& g) {
  return g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PH == 0 && g.PW == 0;
}

// Images per im2col chunk: the column buffer holds at most `budget` elements (at least one image).
// Forward uses g.col_budget (default 8M, 32 MB in float32, glibc's largest size that malloc keeps
// reusing instead of mapping fresh, zeroed pages at every call): the whole batch is one chunk when
// the maps are small; a 3x3 conv on 8 x 64 x 56 x 56 would need 58 MB and runs in 2 chunks, measured
// ~2x faster than one. Backward uses g.backward_col_budget (default 2M, 8 MB) so that col, which is
// written, read by the dw GEMM, overwritten by the dcol GEMM and read by col2im, stays in a 32 MB L3:
// that conv's backward then runs one image per chunk, measured 25-31 ms vs 40-43 ms with 4 (2 threads).
static int64_t images_per_chunk(const Conv2dGeometry& g, int64_t budget) {
  const int64_t per_image = g.C * g.KH * g.KW * g.OH * g.OW;
  return std::clamp<int64_t>(budget / std::max<int64_t>(1, per_image), 1, std::max<int64_t>(1, g.N));
}

// col: (C*KH*KW, NI*L) for the NI images at x; col[(c*KH + kh)*KW + kw, n*L + oh*OW + ow] = x[n, c, ih, iw],
// or 0 in the padding
template <class T>
static void im2col(const Conv2dGeometry& g, const T* x, int64_t NI, T* col) {
  const int64_t L = g.OH * g.OW, NL = NI * L, HW = g.H * g.W;
  const int64_t rows = g.C * g.KH * g.KW;
  parallel_for(rows, grain_for(NL), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t kw = r % g.KW, kh = (r / g.KW) % g.KH, c = r / (g.KW * g.KH);
      const int64_t off_h = kh * g.DH - g.PH, off_w = kw * g.DW - g.PW;
      int64_t oh_lo, oh_hi, ow_lo, ow_hi;
      valid_range(off_h, g.SH, g.H, g.OH, oh_lo, oh_hi);
      valid_range(off_w, g.SW, g.W, g.OW, ow_lo, ow_hi);
      for (int64_t n = 0; n < NI; ++n) {
        const T* xc = x + (n * g.C + c) * HW;
        T* dst = col + r * NL + n * L;
        std::fill(dst, dst + oh_lo * g.OW, T(0));
        for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
          const T* xrow = xc + (oh * g.SH + off_h) * g.W;
          T* d = dst + oh * g.OW;
          std::fill(d, d + ow_lo, T(0));
          if (g.SW == 1) {
            if (ow_hi > ow_lo) std::memcpy(d + ow_lo, xrow + ow_lo + off_w, size_t(ow_hi - ow_lo) * sizeof(T));
          } else {
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) d[ow] = xrow[ow * g.SW + off_w];
          }
          std::fill(d + ow_hi, d + g.OW, T(0));
        }
        std::fill(dst + oh_hi * g.OW, dst + L, T(0));
      }
    }
  });
}

// The adjoint of im2col for NI images: dx = 0, then
// dx[n, c, ih, iw] += dcol[(c*KH + kh)*KW + kw, n*L + oh*OW + ow].
// Parallel over channels: each thread writes only its own channels' planes, so no two threads collide.
template <class T>
static void col2im(const Conv2dGeometry& g, const T* dcol, int64_t NI, T* dx) {
  const int64_t L = g.OH * g.OW, NL = NI * L, HW = g.H * g.W;
  parallel_for(g.C, grain_for(g.KH * g.KW * NL), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      for (int64_t n = 0; n < NI; ++n) std::fill(dx + (n * g.C + c) * HW, dx + (n * g.C + c + 1) * HW, T(0));
      for (int64_t kh = 0; kh < g.KH; ++kh) {
        for (int64_t kw = 0; kw < g.KW; ++kw) {
          const int64_t r = (c * g.KH + kh) * g.KW + kw;
          const int64_t off_h = kh * g.DH - g.PH, off_w = kw * g.DW - g.PW;
          int64_t oh_lo, oh_hi, ow_lo, ow_hi;
          valid_range(off_h, g.SH, g.H, g.OH, oh_lo, oh_hi);
          valid_range(off_w, g.SW, g.W, g.OW, ow_lo, ow_hi);
          for (int64_t n = 0; n < NI; ++n) {
            T* dxc = dx + (n * g.C + c) * HW;
            const T* src = dcol + r * NL + n * L;
            for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
              T* dxrow = dxc + (oh * g.SH + off_h) * g.W;
              const T* s = src + oh * g.OW;
              for (int64_t ow = ow_lo; ow < ow_hi; ++ow) dxrow[ow * g.SW + off_w] += s[ow];
            }
          }
        }
      }
    }
  });
}

// y[n, oc, :] += b[oc] for every image
template <class T>
static void add_bias(const Conv2dGeometry& g, const T* b, T* y) {
  const int64_t L = g.OH * g.OW;
  parallel_for(g.N * g.OC, grain_for(L), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const T bias = b[i % g.OC];
      for (int64_t l = 0; l < L; ++l) y[i * L + l] += bias;
    }
  });
}

template <class T>
void conv2d_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y) {
  const int64_t L = g.OH * g.OW, HW = g.H * g.W;
  const int64_t G = g.groups, Cg = g.C / G, OCg = g.OC / G, Kg = Cg * g.KH * g.KW;
  if (g.N == 0 || g.OC == 0 || L == 0) return;
  if constexpr (std::is_same_v<T, float>) {
    if (conv2d_blocked_applies(g)) return conv2d_forward_blocked(g, x, w, b, y);
  }

  if (is_pointwise(g)) {
    // x_n (C, L) is already the column matrix: y_n,g (OCg, L) = w_g (OCg, Cg) x_n,g (Cg, L)
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t gi = 0; gi < G; ++gi)
        gemm(false, false, OCg, L, Cg, T(1), w + gi * OCg * Cg, Cg, x + (n * g.C + gi * Cg) * L, L, T(0),
             y + (n * g.OC + gi * OCg) * L, L);
    if (b) add_bias(g, b, y);
    return;
  }

  // Chunks of NC images: col (C*KH*KW, NC*L); y_g (OCg, NC*L) = w_g col_g, permuted to (NC, OC, L).
  // With one image per chunk the GEMM writes y in place (its (OC, L) layout is y's own).
  const int64_t NC = images_per_chunk(g, g.col_budget);
  std::unique_ptr<T[]> col(new T[size_t(g.C * g.KH * g.KW * NC * L)]);
  std::unique_ptr<T[]> out(NC > 1 ? new T[size_t(g.OC * NC * L)] : nullptr);  // (OC, NC, L)
  for (int64_t n0 = 0; n0 < g.N; n0 += NC) {
    const int64_t NI = std::min(NC, g.N - n0), NL = NI * L;
    im2col(g, x + n0 * g.C * HW, NI, col.get());
    T* dst = NC > 1 ? out.get() : y + n0 * g.OC * L;
    for (int64_t gi = 0; gi < G; ++gi)
      gemm(false, false, OCg, NL, Kg, T(1), w + gi * OCg * Kg, Kg, col.get() + gi * Kg * NL, NL, T(0),
           dst + gi * OCg * NL, NL);
    if (NC == 1) continue;
    // (OC, NI, L) -> (NI, OC, L), adding the bias
    T* yc = y + n0 * g.OC * L;
    parallel_for(NI * g.OC, grain_for(L), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const int64_t n = i / g.OC, oc = i % g.OC;
        const T* src = out.get() + (oc * NI + n) * L;
        const T bias = b ? b[oc] : T(0);
        for (int64_t l = 0; l < L; ++l) yc[i * L + l] = src[l] + bias;
      }
    });
  }
  if (NC == 1 && b) add_bias(g, b, y);
}

template <class T>
void conv2d_backward(const Conv2dGeometry& g, const T* dy, const T* x, const T* w, T* dx, T* dw, T* db,
                     const float* x_blocked) {
  const int64_t L = g.OH * g.OW, HW = g.H * g.W;
  const int64_t G = g.groups, Cg = g.C / G, OCg = g.OC / G, Kg = Cg * g.KH * g.KW;

  // db[oc] = sum over n, oh, ow of dy[n, oc, oh, ow]
  if (db) {
    parallel_for(g.OC, grain_for(g.N * L), [&](int64_t o0, int64_t o1) {
      for (int64_t oc = o0; oc < o1; ++oc) {
        T acc = 0;
        for (int64_t n = 0; n < g.N; ++n) {
          const T* d = dy + (n * g.OC + oc) * L;
          for (int64_t l = 0; l < L; ++l) acc += d[l];
        }
        db[oc] = acc;
      }
    });
  }
  if constexpr (std::is_same_v<T, float>) {
    T* bdx = dx && conv2d_input_grad_blocked_applies(g) ? dx : nullptr;
    T* bdw = dw && conv2d_weight_grad_blocked_applies(g) ? dw : nullptr;
    if (bdx || bdw) {
      conv2d_backward_blocked(g, dy, x, x_blocked, w, bdx, bdw);
      if (bdx) dx = nullptr;
      if (bdw) dw = nullptr;
    }
  }
  if (!dx && !dw) return;
  if (g.N == 0 || L == 0) {
    if (dx) std::fill(dx, dx + g.N * g.C * HW, T(0));
    if (dw) std::fill(dw, dw + g.OC * Kg, T(0));
    return;
  }

  if (dx && G == g.C && g.OC == g.C) {
    // depthwise dx plane by plane: dx[n, c] = sum over taps of w[c, kh, kw] times dy[n, c] shifted into
    // place (as GEMMs this would be one 1 x KH*KW by KH*KW x L product per channel, all overhead)
    const int64_t taps = g.KH * g.KW;
    parallel_for(g.N * g.C, grain_for(taps * L), [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        T* dxp = dx + p * HW;
        const T* dyp = dy + p * L;
        std::fill(dxp, dxp + HW, T(0));
        for (int64_t kh = 0; kh < g.KH; ++kh)
          for (int64_t kw = 0; kw < g.KW; ++kw) {
            const T wv = w[(p % g.C) * taps + kh * g.KW + kw];
            const int64_t off_h = kh * g.DH - g.PH, off_w = kw * g.DW - g.PW;
            int64_t oh_lo, oh_hi, ow_lo, ow_hi;
            valid_range(off_h, g.SH, g.H, g.OH, oh_lo, oh_hi);
            valid_range(off_w, g.SW, g.W, g.OW, ow_lo, ow_hi);
            for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
              T* row = dxp + (oh * g.SH + off_h) * g.W + off_w;
              const T* src = dyp + oh * g.OW;
              for (int64_t ow = ow_lo; ow < ow_hi; ++ow) row[ow * g.SW] += wv * src[ow];
            }
          }
      }
    });
    dx = nullptr;
    if (!dw) return;
  }

  if (is_pointwise(g)) {
    // per image: dw_g += dy_n,g (OCg, L) x_n,g^T (L, Cg);  dx_n,g = w_g^T (Cg, OCg) dy_n,g (OCg, L)
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t gi = 0; gi < G; ++gi) {
        const T* dyg = dy + (n * g.OC + gi * OCg) * L;
        if (dw)
          gemm(false, true, OCg, Cg, L, T(1), dyg, L, x + (n * g.C + gi * Cg) * L, L, n == 0 ? T(0) : T(1),
               dw + gi * OCg * Cg, Cg);
        if (dx)
          gemm(true, false, Cg, L, OCg, T(1), w + gi * OCg * Cg, Cg, dyg, L, T(0), dx + (n * g.C + gi * Cg) * L, L);
      }
    return;
  }

  // Chunks of NC images, as in forward but with the smaller backward budget. dyt (OC, NC*L) is dy's
  // GEMM layout (dy itself when NC == 1);
  // dw accumulates over chunks; col holds im2col(x) for dw, then dcol = w^T dyt for col2im.
  const int64_t NC = images_per_chunk(g, g.backward_col_budget);
  std::unique_ptr<T[]> col(new T[size_t(g.C * g.KH * g.KW * NC * L)]);
  std::unique_ptr<T[]> dyt_buf(NC > 1 ? new T[size_t(g.OC * NC * L)] : nullptr);
  for (int64_t n0 = 0; n0 < g.N; n0 += NC) {
    const int64_t NI = std::min(NC, g.N - n0), NL = NI * L;
    const T* dyc = dy + n0 * g.OC * L;
    const T* dyt = dyc;
    if (NC > 1) {  // (NI, OC, L) -> (OC, NI, L)
      T* p = dyt_buf.get();
      parallel_for(g.OC * NI, grain_for(L), [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
          const int64_t oc = i / NI, n = i % NI;
          std::memcpy(p + i * L, dyc + (n * g.OC + oc) * L, size_t(L) * sizeof(T));
        }
      });
      dyt = p;
    }
    if (dw) {
      im2col(g, x + n0 * g.C * HW, NI, col.get());
      for (int64_t gi = 0; gi < G; ++gi)
        gemm(false, true, OCg, Kg, NL, T(1), dyt + gi * OCg * NL, NL, col.get() + gi * Kg * NL, NL,
             n0 == 0 ? T(0) : T(1), dw + gi * OCg * Kg, Kg);
    }
    if (dx) {
      for (int64_t gi = 0; gi < G; ++gi)  // dcol_g (Kg, NI*L) = w_g^T dyt_g, reusing col's buffer
        gemm(true, false, Kg, NL, OCg, T(1), w + gi * OCg * Kg, Kg, dyt + gi * OCg * NL, NL, T(0),
             col.get() + gi * Kg * NL, NL);
      col2im(g, col.get(), NI, dx + n0 * g.C * HW);
    }
  }
}

template <class T>
void conv2d_reference(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y) {
  const int64_t Cg = g.C / g.groups, OCg = g.OC / g.groups;
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t oc = 0; oc < g.OC; ++oc) {
      const int64_t gi = oc / OCg;
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          T acc = b ? b[oc] : T(0);
          for (int64_t cg = 0; cg < Cg; ++cg)
            for (int64_t kh = 0; kh < g.KH; ++kh)
              for (int64_t kw = 0; kw < g.KW; ++kw) {
                const int64_t ih = conv_in_pos(oh, kh, g.SH, g.PH, g.DH), iw = conv_in_pos(ow, kw, g.SW, g.PW, g.DW);
                if (!conv_inside(ih, g.H) || !conv_inside(iw, g.W)) continue;  // zero padding
                acc += x[((n * g.C + gi * Cg + cg) * g.H + ih) * g.W + iw] *
                       w[((oc * Cg + cg) * g.KH + kh) * g.KW + kw];
              }
          y[((n * g.OC + oc) * g.OH + oh) * g.OW + ow] = acc;
        }
    }
}

#define FK_INSTANTIATE_CONV(T)                                                                              \
  template void conv2d_forward<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*);                 \
  template void conv2d_backward<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*, T*, T*,        \
                                   const float*);                                                          \
  template void conv2d_reference<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*);
FK_INSTANTIATE_CONV(float)
FK_INSTANTIATE_CONV(double)
#undef FK_INSTANTIATE_CONV

}  // namespace fk::cpu
