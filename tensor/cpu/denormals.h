// FlushDenormals: while alive, the calling thread flushes subnormal results to zero (FTZ) and reads
// subnormal inputs as zero (DAZ), then restores the thread's previous mode. Subnormal floats (tiny
// activations times PReLU slopes) cost ~100 cycles per operation on x86; the inference kernels set
// this in every worker thread of their OpenMP regions (MXCSR is per thread). A no-op off x86.
#pragma once

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace fk::cpu {

class FlushDenormals {
 public:
#if defined(__SSE__) || defined(__x86_64__)
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040u); }  // FTZ (bit 15) | DAZ (bit 6)
  ~FlushDenormals() { _mm_setcsr(saved_); }
#else
  FlushDenormals() = default;
#endif
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

 private:
#if defined(__SSE__) || defined(__x86_64__)
  unsigned saved_;
#endif
};

}  // namespace fk::cpu
