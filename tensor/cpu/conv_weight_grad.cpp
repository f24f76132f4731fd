// conv2d_weight_grad_blocked (conv_weight_grad.h): the kernels compiled for the baseline ISA and for
// AVX-512 (target pragma after the standard headers, as in conv_blocked_avx512.cpp), and the one
// OpenMP region that hands out their work items.
#include "tensor/cpu/conv_weight_grad.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "tensor/cpu/denormals.h"
#include "tensor/parallel.h"

namespace fk::cpu {
namespace wg_generic {
#include "tensor/cpu/conv_weight_grad_kernel.h"
}  // namespace wg_generic
}  // namespace fk::cpu

#include "tensor/cpu/avx512_target_begin.h"
namespace fk::cpu {
namespace wg_avx512 {
#include "tensor/cpu/conv_weight_grad_kernel.h"
}  // namespace wg_avx512
}  // namespace fk::cpu
#include "tensor/cpu/avx512_target_end.h"

namespace fk::cpu {

void conv2d_weight_grad_blocked(const BlockedConvGeometry& g, const float* x, const float* dy, float* dw) {
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
