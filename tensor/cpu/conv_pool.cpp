// conv_prelu_maxpool2 (conv_pool.h): the weight packing, the OpenMP region and the ISA choice; the
// baseline-ISA kernel is compiled here.
#include "tensor/cpu/conv_pool.h"

#include <algorithm>

#include "tensor/cpu/conv_blocked.h"
#include "tensor/cpu/denormals.h"
#include "tensor/parallel.h"
#include "tensor/error.h"

namespace fk::cpu {

namespace isa_generic {
#include "tensor/cpu/conv_pool_kernel.h"
}  // namespace isa_generic

void conv_pool_rows_generic(const ConvPoolGeometry& g, const float* x, const float* packed, const float* bias,
                            const float* slope, float* y, int64_t begin, int64_t end) {
  isa_generic::conv_pool_rows(g, x, packed, bias, slope, y, begin, end);
}

void pack_conv_pool_weights(const ConvPoolGeometry& g, const float* w, float* packed) {
  const int64_t taps = g.C * g.K * g.K;
  std::fill(packed, packed + taps * 16, 0.0f);
  for (int64_t o = 0; o < g.OC; ++o)
    for (int64_t t = 0; t < taps; ++t) packed[t * 16 + o] = w[o * taps + t];
}

void conv_prelu_maxpool2(const ConvPoolGeometry& g, const float* x, const float* packed, const float* bias,
                         const float* slope, float* y) {
  FK_CHECK(g.OC > 0 && g.OC <= 16 && g.C > 0 && g.K > 0, "conv_prelu_maxpool2: needs 1..16 output channels, got ",
           g.OC);
  FK_CHECK(g.conv_h() > 0 && g.conv_w() > 0, "conv_prelu_maxpool2: input ", g.H, "x", g.W, " is smaller than the ",
           g.K, "x", g.K, " kernel");
  const int64_t rows = g.N * g.pooled_h();
  const bool avx512 = !g.generic_isa && cpu_has_avx512();
  // ~4 * C*K*K*16 multiply-adds per pooled pixel: a thread is worth waking for a few pooled rows
  const int64_t grain = std::max<int64_t>(1, 250000 / std::max<int64_t>(1, g.pooled_w() * 4 * g.C * g.K * g.K * 16));
  parallel_for(rows, grain, [&](int64_t b, int64_t e) {
    FlushDenormals ftz;
    if (avx512) conv_pool_rows_avx512(g, x, packed, bias, slope, y, b, e);
    else conv_pool_rows_generic(g, x, packed, bias, slope, y, b, e);
  });
}

}  // namespace fk::cpu
