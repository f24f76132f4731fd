// conv2d_blocked (conv_blocked.h): weight packing, layout conversions, the padded (and pre-op'ed)
// input, and the one OpenMP region per convolution that runs the per-ISA row kernels
// (conv_blocked_avx512.cpp, conv_blocked_generic.cpp). Tests: tests/tensor/test_conv_blocked.cpp.
#include "tensor/cpu/conv_blocked.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tensor/cpu/conv_blocked_isa.h"
#include "tensor/cpu/denormals.h"
#include "tensor/error.h"
#include "tensor/parallel.h"

namespace fk::cpu {

bool cpu_has_avx512() {
  static const bool yes = [] {
    const char* isa = std::getenv("FK_CPU_ISA");
    if (isa && std::string(isa) == "generic") return false;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
#else
    return false;
#endif
  }();
  return yes;
}

namespace {
std::atomic<bool> g_winograd_on{[] {
  const char* e = std::getenv("FK_WINOGRAD");
  return !(e && std::string(e) == "0");
}()};
}  // namespace

void set_winograd_enabled(bool on) { g_winograd_on = on; }
bool winograd_enabled() { return g_winograd_on; }

// Winograd F(2x2, 3x3) for dense 3x3 stride-1 convs with at least 16 input channels (the stem's 3
// leave too few products to amortise the transforms). Since the transforms run in L2-resident chunks
// (conv2d_winograd) it measured faster than the direct kernel on every such conv of the zoo's models
// on the project machine (bench_ops --conv; docs/perf.md), including the cases the earlier two-phase
// form lost and left out: 512 channels at 7x7 (batch 1 / 8 / 32: 1.08 -> 0.96, 8.3 -> 6.9, 33 -> 25-27 ms)
// and 112x112 maps (64 channels: 4.4 -> 2.5, 37 -> 22, 141 -> 96 ms).
bool winograd_preferred(const BlockedConvGeometry& g) {
  return g_winograd_on && g.KH == 3 && g.KW == 3 && g.SH == 1 && g.SW == 1 && !g.depthwise && g.C >= 16;
}

int64_t pack_conv_weights_blocked(const BlockedConvGeometry& g, const float* w, float* out) {
  const int64_t Cb = channel_blocks(g.C), OCb = channel_blocks(g.OC), taps = g.KH * g.KW;
  if (g.depthwise) {
    const int64_t size = Cb * taps * 16;
    if (!out) return size;
    std::fill(out, out + size, 0.0f);
    for (int64_t c = 0; c < g.C; ++c)
      for (int64_t t = 0; t < taps; ++t) out[((c / 16) * taps + t) * 16 + c % 16] = w[c * taps + t];
    return size;
  }
  if (g.winograd) {
    FK_CHECK(g.KH == 3 && g.KW == 3, "Winograd packing: a 3x3 kernel is needed, got ", g.KH, "x", g.KW);
    const int64_t size = 16 * OCb * Cb * 256;
    if (!out) return size;
    std::fill(out, out + size, 0.0f);
    static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    // in parallel over output-channel blocks (training packs at every step): each writes its own columns
    parallel_for(OCb, std::max<int64_t>(1, 256 / std::max<int64_t>(1, g.C)), [&](int64_t b0, int64_t b1) {
      for (int64_t oc = b0 * 16; oc < std::min(g.OC, b1 * 16); ++oc)
        for (int64_t c = 0; c < g.C; ++c) {
          const float* k = w + (oc * g.C + c) * 9;
          double gk[4][3];  // G k
          for (int r = 0; r < 4; ++r)
            for (int j = 0; j < 3; ++j) gk[r][j] = G[r][0] * k[j] + G[r][1] * k[3 + j] + G[r][2] * k[6 + j];
          for (int r = 0; r < 4; ++r)
            for (int q = 0; q < 4; ++q) {  // (G k G^T)[r][q]
              const double u = gk[r][0] * G[q][0] + gk[r][1] * G[q][1] + gk[r][2] * G[q][2];
              out[(((r * 4 + q) * OCb + oc / 16) * Cb + c / 16) * 256 + (c % 16) * 16 + oc % 16] = float(u);
            }
        }
    });
    return size;
  }
  if (conv_blocked_stem_kind(g) != StemKind::None) {  // (OCb, KH, KW*C, 16)
    const int64_t size = OCb * taps * g.C * 16;
    if (!out) return size;
    std::fill(out, out + size, 0.0f);
    for (int64_t oc = 0; oc < g.OC; ++oc)
      for (int64_t c = 0; c < g.C; ++c)
        for (int64_t kh = 0; kh < g.KH; ++kh)
          for (int64_t kw = 0; kw < g.KW; ++kw)
            out[(((oc / 16) * g.KH + kh) * g.KW * g.C + kw * g.C + c) * 16 + oc % 16] =
                w[((oc * g.C + c) * g.KH + kh) * g.KW + kw];
    return size;
  }
  const int64_t size = OCb * Cb * taps * 256;
  if (!out) return size;
  // in parallel over output-channel blocks, each filling and writing its own stretch of out
  parallel_for(OCb, std::max<int64_t>(1, 65536 / std::max<int64_t>(1, Cb * taps * 256)), [&](int64_t b0, int64_t b1) {
    std::fill(out + b0 * Cb * taps * 256, out + b1 * Cb * taps * 256, 0.0f);
    for (int64_t oc = b0 * 16; oc < std::min(g.OC, b1 * 16); ++oc)
      for (int64_t c = 0; c < g.C; ++c)
        for (int64_t t = 0; t < taps; ++t)
          out[(((oc / 16) * Cb + c / 16) * taps + t) * 256 + (c % 16) * 16 + oc % 16] = w[(oc * g.C + c) * taps + t];
  });
  return size;
}

void nchw_to_blocked(int64_t N, int64_t C, int64_t HW, const float* x, float* y) {
  const int64_t Cb = channel_blocks(C);
  parallel_for(N * Cb, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, HW * 16)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / Cb, cb = i % Cb, cn = std::min<int64_t>(16, C - cb * 16);
      float* dst = y + i * HW * 16;
      const float* src = x + (n * C + cb * 16) * HW;
      for (int64_t p = 0; p < HW; ++p) {
        for (int64_t c = 0; c < cn; ++c) dst[p * 16 + c] = src[c * HW + p];
        for (int64_t c = cn; c < 16; ++c) dst[p * 16 + c] = 0.0f;
      }
    }
  });
}

void blocked_to_nchw(int64_t N, int64_t C, int64_t HW, const float* x, float* y) {
  const int64_t Cb = channel_blocks(C);
  parallel_for(N * Cb, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, HW * 16)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / Cb, cb = i % Cb, cn = std::min<int64_t>(16, C - cb * 16);
      const float* src = x + i * HW * 16;
      float* dst = y + (n * C + cb * 16) * HW;
      // in runs of 64 pixels, whose 4 KB of input stay in L1 while the 16 channel rows are written
      // (one pass over the whole plane per channel read it 16 times from L2: 2x slower)
      for (int64_t p0 = 0; p0 < HW; p0 += 64) {
        const int64_t p1 = std::min(HW, p0 + 64);
        for (int64_t c = 0; c < cn; ++c)
          for (int64_t p = p0; p < p1; ++p) dst[c * HW + p] = src[p * 16 + c];
      }
    }
  });
}

int64_t conv_blocked_items(const BlockedConvGeometry& g) {
  const int64_t OCb = channel_blocks(g.OC);
  if (conv_blocked_pointwise(g)) return g.N * ((OCb + 1) / 2) * ((g.OH * g.OW + kPointwiseRun - 1) / kPointwiseRun);
  if (g.depthwise) return g.N * g.OH * channel_blocks(g.C);
  const int64_t per = conv_blocked_row_blocks(g);
  return g.N * g.OH * ((OCb + per - 1) / per);
}

// The input the kernels read: x itself, or a copy with the zero border and the pre-op applied to
// the inside. The copy lives in a per-thread buffer that only grows (no page faults per call).
// extra_h / extra_w: zero rows / columns past the bottom / right padding (Winograd's last tiles).
static PaddedInput padded_input(const BlockedConvGeometry& g, const float* x, const BlockedEpilogue& e,
                                int64_t extra_h = 0, int64_t extra_w = 0) {
  if (g.PH == 0 && g.PW == 0 && !e.pre_scale && extra_h == 0 && extra_w == 0) return {x, g.H, g.W};
  const int64_t Cb = channel_blocks(g.C), Hp = g.H + 2 * g.PH + extra_h, Wp = g.W + 2 * g.PW + extra_w;
  thread_local std::vector<float> buffer;
  const size_t need = size_t(g.N * Cb * Hp * Wp * 16);
  if (buffer.size() < need) buffer.assign(need, 0.0f);
  float* out = buffer.data();
  parallel_for(g.N * Cb, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, Hp * Wp * 16)), [&](int64_t i0, int64_t i1) {
    FlushDenormals ftz;
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t cb = i % Cb;
      const float* src = x + i * g.H * g.W * 16;
      float* dst = out + i * Hp * Wp * 16;
      std::fill(dst, dst + g.PH * Wp * 16, 0.0f);
      std::fill(dst + (g.PH + g.H) * Wp * 16, dst + Hp * Wp * 16, 0.0f);  // bottom padding and extra rows
      for (int64_t h = 0; h < g.H; ++h) {
        float* row = dst + (g.PH + h) * Wp * 16;
        std::fill(row, row + g.PW * 16, 0.0f);
        std::fill(row + (g.PW + g.W) * 16, row + Wp * 16, 0.0f);  // right padding and extra columns
        const float* s = src + h * g.W * 16;
        float* d = row + g.PW * 16;
        if (!e.pre_scale) {
          std::memcpy(d, s, size_t(g.W) * 16 * sizeof(float));
        } else {
          const float* a = e.pre_scale + cb * 16;
          const float* c = e.pre_shift + cb * 16;
          for (int64_t w = 0; w < g.W; ++w)
            for (int64_t k = 0; k < 16; ++k) d[w * 16 + k] = a[k] * s[w * 16 + k] + c[k];
        }
      }
    }
  });
  return {out, Hp, Wp};
}

// The stem kernel's input (conv_stem_kernel.h): x (N, 1, H, W, 16) with C <= 16 live channels packed
// to (N, Hp, Wp, C), zero border, pre-op applied inside; a per-thread buffer that only grows.
static PaddedInput stem_input(const BlockedConvGeometry& g, const float* x, const BlockedEpilogue& e) {
  const int64_t C = g.C, Hp = g.H + 2 * g.PH, Wp = g.W + 2 * g.PW;
  thread_local std::vector<float> buffer;
  if (int64_t(buffer.size()) < g.N * Hp * Wp * C) buffer.resize(size_t(g.N * Hp * Wp * C));
  float* out = buffer.data();
  parallel_for(g.N * Hp, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, Wp * C)), [&](int64_t r0, int64_t r1) {
    FlushDenormals ftz;
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / Hp, h = r % Hp - g.PH;
      float* dst = out + r * Wp * C;
      if (h < 0 || h >= g.H) {
        std::fill(dst, dst + Wp * C, 0.0f);
        continue;
      }
      std::fill(dst, dst + g.PW * C, 0.0f);
      std::fill(dst + (g.PW + g.W) * C, dst + Wp * C, 0.0f);
      const float* src = x + (n * g.H + h) * g.W * 16;
      float* d = dst + g.PW * C;
      for (int64_t w = 0; w < g.W; ++w)
        for (int64_t c = 0; c < C; ++c)
          d[w * C + c] = e.pre_scale ? e.pre_scale[c] * src[w * 16 + c] + e.pre_shift[c] : src[w * 16 + c];
    }
  });
  return {out, Hp, Wp};
}

// Work items per thread handed out dynamically (parallel.h): small enough to even out uneven items and
// a noisy neighbour, large enough that consecutive rows still share their weights in cache.
constexpr int kPiecesPerThread = 16;

// Winograd F(2x2, 3x3) (conv_blocked_kernel.h): one OpenMP region over items (chunk of tiles, group
// of output-block pairs); a thread transforms a chunk into its own buffer once for its consecutive
// items of that chunk. The pairs are split into groups only when there are too few chunks to keep
// every thread busy (small maps at batch 1).
static void conv2d_winograd(const BlockedConvGeometry& g, const float* x, const float* U, const BlockedEpilogue& e,
                            float* y, bool avx512) {
  FK_CHECK(g.KH == 3 && g.KW == 3 && g.SH == 1 && g.SW == 1 && !g.depthwise,
           "conv2d_blocked: Winograd needs a dense 3x3 stride-1 conv");
  const int64_t Cb = channel_blocks(g.C), OCb = channel_blocks(g.OC);
  const int64_t th = (g.OH + 1) / 2, tw = (g.OW + 1) / 2, tiles = g.N * th * tw;
  if (tiles == 0) return;
  // tile i reads padded rows 2i .. 2i+3: up to 2*th + 1, one past the padding when OH is odd
  const PaddedInput px = padded_input(g, x, e, std::max<int64_t>(0, 2 * th + 2 - (g.H + 2 * g.PH)),
                                      std::max<int64_t>(0, 2 * tw + 2 - (g.W + 2 * g.PW)));
  WinogradOut o{tiles, th, tw, g.OH, g.OW, OCb, y, e.residual, e.bias, e.slope, e.act, e.residual_after_act};
  const int64_t chunks = (tiles + kWinogradChunk - 1) / kWinogradChunk, pairs = (OCb + 1) / 2;
  int64_t groups = 1;
  while (chunks * groups < 4 * int64_t(max_threads()) && groups < pairs) groups = std::min(pairs, groups * 2);
  const int64_t pos_stride = kWinogradChunk / kWinogradTile * Cb * kWinogradTile * 16;
  parallel_for_dynamic(chunks * groups, 1, kPiecesPerThread, [&](int64_t b, int64_t end) {
    FlushDenormals ftz;
    thread_local std::vector<float> vbuf;
    if (int64_t(vbuf.size()) < 16 * pos_stride) vbuf.resize(size_t(16 * pos_stride));
    for (int64_t it = b; it < end; ++it) {
      const int64_t chunk = it / groups, grp = it % groups;
      const int64_t t0 = chunk * kWinogradChunk, t1 = std::min(tiles, t0 + kWinogradChunk);
      const bool transform = it == b || grp == 0;  // else this thread transformed the chunk for it - 1
      const int64_t p0 = grp * pairs / groups, p1 = (grp + 1) * pairs / groups;
      if (avx512) winograd_chunk_avx512(g, px, U, o, vbuf.data(), pos_stride, t0, t1, p0, p1, transform);
      else winograd_chunk_generic(g, px, U, o, vbuf.data(), pos_stride, t0, t1, p0, p1, transform);
    }
  });
}

void conv2d_blocked(const BlockedConvGeometry& g, const float* x, const float* packed_w, const BlockedEpilogue& e,
                    float* y) {
  if (g.winograd) return conv2d_winograd(g, x, packed_w, e, y, !g.generic_isa && cpu_has_avx512());
  const int64_t items = conv_blocked_items(g);
  if (items == 0) return;
  // The padded copy of a large batch does not stay in cache while the items read it (once per output
  // block group): such a conv runs in pieces of images whose copy is ~4 MB (IR-50's stride-2 convs on
  // 112x112 and 56x56 maps at batch 8 were memory-bound at 38-42 % of the FMA peak).
  const bool stem = conv_blocked_stem_kind(g) != StemKind::None;
  const bool copies = g.PH != 0 || g.PW != 0 || e.pre_scale || stem;
  const int64_t x_image = channel_blocks(g.C) * g.H * g.W * 16, y_image = channel_blocks(g.OC) * g.OH * g.OW * 16;
  const int64_t padded_image = (stem ? g.C : channel_blocks(g.C) * 16) * (g.H + 2 * g.PH) * (g.W + 2 * g.PW);
  const int64_t piece = copies ? std::clamp<int64_t>((int64_t(1) << 20) / padded_image, 1, g.N) : g.N;
  if (piece < g.N) {
    for (int64_t n0 = 0; n0 < g.N; n0 += piece) {
      BlockedConvGeometry gp = g;
      gp.N = std::min(piece, g.N - n0);
      BlockedEpilogue ep = e;
      if (e.residual) ep.residual = e.residual + n0 * y_image;
      conv2d_blocked(gp, x + n0 * x_image, packed_w, ep, y + n0 * y_image);
    }
    return;
  }
  const PaddedInput px = stem ? stem_input(g, x, e) : padded_input(g, x, e);
  const bool avx512 = !g.generic_isa && cpu_has_avx512();
  auto run = [&](int64_t b, int64_t end) {
    FlushDenormals ftz;
    if (avx512) conv_blocked_run_avx512(g, px, packed_w, e, y, b, end);
    else conv_blocked_run_generic(g, px, packed_w, e, y, b, end);
  };
  // a thread is worth waking for ~1 MFLOP of work
  const int64_t flops_per_item = 2 * (g.depthwise ? 16 : 16 * conv_blocked_row_blocks(g) * g.C) * g.KH * g.KW *
                                 (conv_blocked_pointwise(g) ? kPointwiseRun : g.OW);
  parallel_for_dynamic(items, std::max<int64_t>(1, 1000000 / std::max<int64_t>(1, flops_per_item)), kPiecesPerThread,
                       run);
}

}  // namespace fk::cpu
