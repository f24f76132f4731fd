// conv2d_blocked's kernels for the build's baseline ISA (the same source as the AVX-512 ones, see
// conv_blocked_kernel.h): what runs on a CPU without AVX-512, and under FK_CPU_ISA=generic.
#include <cstdint>
#include <cstring>

#include "tensor/cpu/conv_blocked_isa.h"

namespace fk::cpu {
namespace isa_generic {
#include "tensor/cpu/conv_blocked_kernel.h"
}  // namespace isa_generic

void conv_blocked_run_generic(const BlockedConvGeometry& g, PaddedInput x, const float* w, const BlockedEpilogue& e,
                              float* y, int64_t begin, int64_t end) {
  using namespace isa_generic;
#include "tensor/cpu/conv_blocked_run.inc"
}

void winograd_input_generic(const BlockedConvGeometry& g, PaddedInput x, float* V, int64_t begin, int64_t end) {
  isa_generic::winograd_input_rows(g, x, V, begin, end);
}

void winograd_gemm_generic(const float* V, const float* U, int64_t Cb, int64_t last_icn, const WinogradOut& o,
                          int64_t begin, int64_t end) {
  isa_generic::winograd_items(V, U, Cb, last_icn, o, begin, end);
}

}  // namespace fk::cpu
