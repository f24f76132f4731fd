// conv2d_blocked's kernels compiled for AVX-512 (a v16 is one zmm register), whatever the build's
// baseline: the target pragma comes after the standard headers, so only this file's own functions
// use AVX-512, and conv_blocked.cpp calls them only on a CPU that has it (cpu_has_avx512()).
#include <cstdint>
#include <cstring>

#include "tensor/cpu/conv_blocked_isa.h"

#include "tensor/cpu/avx512_target_begin.h"

namespace fk::cpu {
namespace isa_avx512 {
#include "tensor/cpu/conv_blocked_kernel.h"
#include "tensor/cpu/conv_stem_kernel.h"
}  // namespace isa_avx512

void conv_blocked_run_avx512(const BlockedConvGeometry& g, PaddedInput x, const float* w, const BlockedEpilogue& e,
                             float* y, int64_t begin, int64_t end) {
  using namespace isa_avx512;
#include "tensor/cpu/conv_blocked_run.inc"
}

void winograd_chunk_avx512(const BlockedConvGeometry& g, PaddedInput x, const float* U, const WinogradOut& o,
                     float* V, int64_t pos_stride, int64_t t_begin, int64_t t_end, int64_t pair_begin,
                     int64_t pair_end, bool transform) {
  isa_avx512::winograd_chunk(g, x, U, o, V, pos_stride, t_begin, t_end, pair_begin, pair_end, transform);
}

}  // namespace fk::cpu

#include "tensor/cpu/avx512_target_end.h"
