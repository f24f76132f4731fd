// conv2d_blocked's kernels for the build's baseline ISA (the same source as the AVX-512 ones, see
// conv_blocked_kernel.h): what runs on a CPU without AVX-512, and under FK_CPU_ISA=generic.
#include <cstdint>
#include <cstring>

#include "tensor/cpu/conv_blocked_isa.h"

namespace fk::cpu {
namespace isa_generic {
#include "tensor/cpu/conv_blocked_kernel.h"
#include "tensor/cpu/conv_stem_kernel.h"
}  // namespace isa_generic

void conv_blocked_run_generic(const BlockedConvGeometry& g, PaddedInput x, const float* w, const BlockedEpilogue& e,
                              float* y, int64_t begin, int64_t end) {
  using namespace isa_generic;
#include "tensor/cpu/conv_blocked_run.inc"
}

void winograd_chunk_generic(const BlockedConvGeometry& g, PaddedInput x, const float* U, const WinogradOut& o,
                     float* V, int64_t pos_stride, int64_t t_begin, int64_t t_end, int64_t pair_begin,
                     int64_t pair_end, bool transform) {
  isa_generic::winograd_chunk(g, x, U, o, V, pos_stride, t_begin, t_end, pair_begin, pair_end, transform);
}

}  // namespace fk::cpu
