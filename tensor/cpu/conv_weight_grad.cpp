// conv2d_weight_grad_blocked and conv2d_weight_grad_winograd (conv_weight_grad.h): the kernels compiled
// for the baseline ISA and for AVX-512 (target pragma after the standard headers, as in
// conv_blocked_avx512.cpp), and the OpenMP regions that hand out their work items.
#include "tensor/cpu/conv_weight_grad.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "tensor/cpu/denormals.h"
#include "tensor/error.h"
#include "tensor/parallel.h"

namespace fk::cpu {
namespace wg_generic {
#include "tensor/cpu/conv_weight_grad_kernel.h"
#include "tensor/cpu/conv_weight_grad_winograd_kernel.h"
}  // namespace wg_generic
}  // namespace fk::cpu

#include "tensor/cpu/avx512_target_begin.h"
namespace fk::cpu {
namespace wg_avx512 {
#include "tensor/cpu/conv_weight_grad_kernel.h"
#include "tensor/cpu/conv_weight_grad_winograd_kernel.h"
}  // namespace wg_avx512
}  // namespace fk::cpu
#include "tensor/cpu/avx512_target_end.h"

namespace fk::cpu {

// Winograd (conv_weight_grad_winograd_kernel.h): one OpenMP region in which each thread owns rows of
// tile positions and runs every chunk of tiles for them (transform, then GEMM into dU), then one
// region over output blocks turns dU into dw. At most 4 threads take part (one per row of positions):
// enough for the 2-core machines this is tuned on.
void conv2d_weight_grad_winograd(const BlockedConvGeometry& g, const float* x, const float* dy, float* dw) {
  FK_CHECK(g.KH == 3 && g.KW == 3 && g.SH == 1 && g.SW == 1 && !g.depthwise,
           "conv2d_weight_grad_winograd: a dense 3x3 stride-1 conv is needed");
  const int64_t Cb = channel_blocks(g.C), OCb = channel_blocks(g.OC), cgroups = (Cb + 2) / 3;
  const int64_t th = (g.OH + 1) / 2, tw = (g.OW + 1) / 2, tiles = g.N * th * tw;
  if (tiles == 0) {
    std::fill(dw, dw + g.OC * g.C * 9, 0.0f);
    return;
  }
  const bool avx512 = !g.generic_isa && cpu_has_avx512();
  const int64_t pos_floats = OCb * cgroups * 2 * 384;  // dU per position
  thread_local std::vector<float> du_buf;
  if (int64_t(du_buf.size()) < 16 * pos_floats) du_buf.resize(size_t(16 * pos_floats));
  float* dU = du_buf.data();
  // tiles per chunk: bench_ops on IR-50's 3x3 convs at batch 32 (64 to 512 channels, 56x56 to 7x7)
  // measured 256 best or within the noise of the best among 16 .. 2048; at 16-32 the accumulators'
  // loads and stores per GEMM call cost up to 2.5x. A thread's buffers: 8 positions x (Cb + OCb)
  // blocks x 256 tiles, 1 MB (64 channels) to 8 MB (512).
  const int64_t Tc = std::min<int64_t>(tiles, 256);
  parallel_for(4, 1, [&](int64_t rb, int64_t re) {
    FlushDenormals ftz;
    const int r0 = int(rb), r1 = int(re), np = 4 * (r1 - r0);
    thread_local std::vector<float> buf;
    const size_t vx = size_t(np * Cb * Tc * 16), need = vx + size_t(np * OCb * Tc * 16);
    if (buf.size() < need) buf.resize(need);
    float *Vx = buf.data(), *Vy = Vx + vx;
    std::fill(dU + r0 * 4 * pos_floats, dU + r1 * 4 * pos_floats, 0.0f);
    for (int64_t t0 = 0; t0 < tiles; t0 += Tc) {
      const WinogradWgradChunk ck{t0, std::min(Tc, tiles - t0), Tc, th, tw};
      for (int64_t cb = 0; cb < Cb; ++cb) {
        if (avx512) wg_avx512::wgw_input_tiles(g, x, ck, cb, r0, r1, Vx);
        else wg_generic::wgw_input_tiles(g, x, ck, cb, r0, r1, Vx);
      }
      for (int64_t kb = 0; kb < OCb; ++kb) {
        if (avx512) wg_avx512::wgw_output_grad_tiles(g, dy, ck, kb, r0, r1, Vy);
        else wg_generic::wgw_output_grad_tiles(g, dy, ck, kb, r0, r1, Vy);
      }
      if (avx512) wg_avx512::wgw_gemm(g, ck, Vx, Vy, r0, r1, dU);
      else wg_generic::wgw_gemm(g, ck, Vx, Vy, r0, r1, dU);
    }
  });
  parallel_for(OCb, 1, [&](int64_t b, int64_t e) {
    if (avx512) wg_avx512::wgw_weight_items(g, dU, dw, b, e);
    else wg_generic::wgw_weight_items(g, dU, dw, b, e);
  });
}

void conv2d_weight_grad_blocked(const BlockedConvGeometry& g, const float* x, const float* dy, float* dw) {
  // the forward's rule (dense 3x3 stride 1, 16+ input channels, Winograd switched on): it measured
  // faster on every such conv of IR-50 at batch 32 (bench_ops, docs/perf.md)
  if (winograd_preferred(g)) return conv2d_weight_grad_winograd(g, x, dy, dw);
  const int64_t Cb = channel_blocks(g.C), OCb = channel_blocks(g.OC);
  const int64_t taps = g.KH * g.KW;
  const int64_t dw_size = g.depthwise ? g.C * taps : g.OC * g.C * taps;
  if (g.N == 0 || g.OH == 0 || g.OW == 0) {
    std::fill(dw, dw + dw_size, 0.0f);
    return;
  }
  // output rows per chunk: the chunk's dy rows and the input rows they read in ~96 KB (L2 holds them
  // across the item's tiles)
  const int64_t row_bytes = (g.OW + g.SH * g.W) * 16 * int64_t(sizeof(float));
  const int64_t rows = std::max<int64_t>(1, (96 << 10) / row_bytes);
  const bool by_blocks = g.KW == 1;
  const int64_t items = g.depthwise ? Cb : OCb * (by_blocks ? (Cb + 2) / 3 : Cb);
  const int64_t acc_floats = g.depthwise ? taps * 16 : g.KH * (by_blocks ? 1 : (g.KW + 2) / 3) * 2 * 384;
  const bool avx512 = !g.generic_isa && cpu_has_avx512();
  // a thread is worth waking for ~1 MFLOP of work
  const int64_t flops_per_item = 2 * g.N * g.OH * g.OW * taps * 16 * (g.depthwise ? 1 : 16 * (by_blocks ? 3 : 1));
  parallel_for_dynamic(items, std::max<int64_t>(1, 1000000 / std::max<int64_t>(1, flops_per_item)), 4,
                       [&](int64_t b, int64_t e) {
    FlushDenormals ftz;
    thread_local std::vector<float> acc;
    if (int64_t(acc.size()) < acc_floats) acc.resize(size_t(acc_floats));
    if (g.depthwise) {
      if (avx512) wg_avx512::wgrad_depthwise_items(g, x, dy, dw, rows, acc.data(), b, e);
      else wg_generic::wgrad_depthwise_items(g, x, dy, dw, rows, acc.data(), b, e);
    } else {
      if (avx512) wg_avx512::wgrad_dense_items(g, x, dy, dw, rows, acc.data(), b, e);
      else wg_generic::wgrad_dense_items(g, x, dy, dw, rows, acc.data(), b, e);
    }
  });
}

}  // namespace fk::cpu
