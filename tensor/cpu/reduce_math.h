// The per-value math of the reductions (tensor/reduce.cpp), shared with their CUDA twins
// (cuda/reduce_kernels.h, cuda/reduce.cu): the variance's final division, and the max/min rule that
// decides which of two candidates wins (NaN propagates like torch.max; among equal values the first
// index wins, as PyTorch on the CPU).
// Tested by tests/tensor/test_reduce.cpp and tests/tensor/test_cuda_kernels_reduce.cpp.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "tensor/hd.h"

namespace fk::cpu {

// var = ss / (n - 1) with Bessel's correction (unbiased), else ss / n; NaN when the denominator is <= 0
FK_HD_INLINE double var_finish(double ss, int64_t n, bool unbiased) {
  double denom = double(n) - (unbiased ? 1.0 : 0.0);
  return denom > 0 ? ss / denom : std::numeric_limits<double>::quiet_NaN();
}

// Scanning in increasing index order: does `cand` (a later index) replace `best`? A NaN replaces
// any number; nothing replaces a NaN (the scan may stop there); a tie keeps the earlier index.
template <bool IsMax, class T>
FK_HD_INLINE bool extreme_replaces(T cand, T best) {
  if (best != best) return false;  // best is NaN
  if (cand != cand) return true;   // cand is NaN
  return IsMax ? cand > best : cand < best;
}

// A (value, index) candidate of a parallel max/min; index < 0 marks an empty slot (a thread that saw
// no element), which every real candidate replaces.
template <class T>
struct ExtremeCandidate {
  T value;
  int64_t index;
};

// The winner of two candidates in any order (a tree reduction combines partial results): NaN beats
// a number, the better value wins, and equal values (or two NaNs) go to the smaller index.
template <bool IsMax, class T>
FK_HD_INLINE ExtremeCandidate<T> extreme_combine(ExtremeCandidate<T> a, ExtremeCandidate<T> b) {
  if (a.index < 0) return b;
  if (b.index < 0) return a;
  bool a_nan = a.value != a.value, b_nan = b.value != b.value;
  if (a_nan || b_nan) {
    if (a_nan && b_nan) return a.index < b.index ? a : b;
    return a_nan ? a : b;
  }
  if (a.value == b.value) return a.index < b.index ? a : b;
  return (IsMax ? b.value > a.value : b.value < a.value) ? b : a;
}

}  // namespace fk::cpu
