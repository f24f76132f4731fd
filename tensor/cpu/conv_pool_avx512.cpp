// conv_prelu_maxpool2's kernel compiled for AVX-512 (see conv_blocked_avx512.cpp for the pattern: the
// target pragma after the standard headers, called only on a CPU that has it).
#include <cstdint>

#include "tensor/cpu/conv_pool.h"

#include "tensor/cpu/avx512_target_begin.h"

namespace fk::cpu {
namespace isa_avx512 {
#include "tensor/cpu/conv_pool_kernel.h"
}  // namespace isa_avx512

void conv_pool_rows_avx512(const ConvPoolGeometry& g, const float* x, const float* packed, const float* bias,
                           const float* slope, float* y, int64_t begin, int64_t end) {
  isa_avx512::conv_pool_rows(g, x, packed, bias, slope, y, begin, end);
}

}  // namespace fk::cpu

#include "tensor/cpu/avx512_target_end.h"
