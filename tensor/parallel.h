// parallel_for: OpenMP over [0, n) in chunks, serial when the work is small (threads cost ~µs to
// wake). `fn(begin, end)` must be safe to run concurrently on disjoint ranges.
#pragma once

#include <algorithm>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fk {

template <class Fn>
void parallel_for(int64_t n, int64_t grain, Fn&& fn) {
  if (n <= 0) return;
#ifdef _OPENMP
  int threads = omp_get_max_threads();
  if (threads > 1 && n > grain && !omp_in_parallel()) {
    int64_t chunks = std::min<int64_t>(threads, (n + grain - 1) / grain);
#pragma omp parallel for num_threads(int(chunks)) schedule(static)
    for (int64_t c = 0; c < chunks; ++c) {
      int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
      fn(b, e);
    }
    return;
  }
#endif
  fn(int64_t(0), n);
}

}  // namespace fk
