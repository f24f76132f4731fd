// conv_prelu_maxpool2's kernel compiled for AVX-512 (see conv_blocked_avx512.cpp for the pattern: the
// target pragma after the standard headers, called only on a CPU that has it).
#include <cstdint>

#include "tensor/cpu/conv_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
#define FK_HAVE_AVX512_TU 1
#endif

namespace fk::cpu {
namespace isa_avx512 {
#include "tensor/cpu/conv_pool_kernel.h"
}  // namespace isa_avx512

void conv_pool_rows_avx512(const ConvPoolGeometry& g, const float* x, const float* packed, const float* bias,
                           const float* slope, float* y, int64_t begin, int64_t end) {
  isa_avx512::conv_pool_rows(g, x, packed, bias, slope, y, begin, end);
}

}  // namespace fk::cpu

#ifdef FK_HAVE_AVX512_TU
#pragma GCC pop_options
#endif
