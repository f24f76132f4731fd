// 16-float vectors for the per-ISA kernel headers (conv_blocked_kernel.h, conv_weight_grad_kernel.h),
// written with GCC's vector extensions: one zmm register under AVX-512, split into what the baseline
// ISA has otherwise. Included by those headers inside their per-ISA namespace, once per namespace,
// hence no include guard.
#include <cstring>

// The helpers below pass v16 by value; on a baseline without AVX-512 GCC notes that this ABI differs
// from an AVX-512 build's. They are static and always inlined, so no call crosses that boundary.
#pragma GCC diagnostic ignored "-Wpsabi"

typedef float v16 __attribute__((vector_size(64)));

#define FK_ALWAYS_INLINE inline __attribute__((always_inline))

static FK_ALWAYS_INLINE v16 load16(const float* p) {
  v16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
static FK_ALWAYS_INLINE void store16(float* p, v16 v) { std::memcpy(p, &v, sizeof v); }
static FK_ALWAYS_INLINE v16 splat16(float s) { return v16{s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s}; }
