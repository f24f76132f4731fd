// bench_fma_peak: the measured single-precision FMA peak of this machine, the 100 % of the "% of peak"
// columns of bench/models.py and bench/ops.py. Each thread runs kChains independent chains of vector
// FMAs (acc = acc * a + b) on registers only, enough to cover the FMA latency times the FMA ports
// (4-5 cycles x 2 ports = 8-10 in flight), so the loop is bound by FMA throughput alone; no memory is
// touched. One FMA of a W-float vector counts 2W flops. AVX-512 (16 floats) when the build targets it,
// else AVX2 + FMA (8 floats), else scalar (a number, but not this CPU's vector peak).
// Threads: OpenMP, OMP_NUM_THREADS or the first argument. The best of `rounds` rounds is reported.
//   bench_fma_peak [threads] [rounds] [seconds per round]      (default: OMP threads, 5, 0.2)
// Output, one JSON line: {"isa": "avx512", "lanes": 16, "chains": 24, "threads": T, "gflops": G,
//                         "gflops_per_thread": g}
// Run it on an otherwise idle machine: a busy core shows up here as a lower peak.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace {

constexpr int kChains = 24;  // 24 of the 32 zmm registers; two more hold a and b

#if defined(__AVX512F__)
constexpr const char* kIsa = "avx512";
constexpr int kLanes = 16;

// `iters` x kChains FMAs; returns a value that depends on every chain (so nothing is optimised away)
float run(long iters, float seed) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(seed + 0.001f * float(c));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-6f);  // acc stays near 1: no denormals
  for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 24
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  }
  __m512 s = acc[0];
  for (int c = 1; c < kChains; ++c) s = _mm512_add_ps(s, acc[c]);
  float out[16], sum = 0;  // not _mm512_reduce_add_ps: GCC 12 warns inside it (-Wuninitialized)
  _mm512_storeu_ps(out, s);
  for (float v : out) sum += v;
  return sum;
}
#elif defined(__AVX2__) && defined(__FMA__)
constexpr const char* kIsa = "avx2";
constexpr int kLanes = 8;

float run(long iters, float seed) {
  __m256 acc[kChains / 2];  // 16 ymm registers only: 12 chains
  constexpr int n = kChains / 2;
  for (int c = 0; c < n; ++c) acc[c] = _mm256_set1_ps(seed + 0.001f * float(c));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-6f);
  for (long i = 0; i < 2 * iters; ++i) {  // twice the iterations: the same FMA count per call
#pragma GCC unroll 12
    for (int c = 0; c < n; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
  }
  float out[8], sum = 0;
  __m256 s = acc[0];
  for (int c = 1; c < n; ++c) s = _mm256_add_ps(s, acc[c]);
  _mm256_storeu_ps(out, s);
  for (float v : out) sum += v;
  return sum;
}
#else
constexpr const char* kIsa = "scalar";
constexpr int kLanes = 1;

float run(long iters, float seed) {
  float acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = seed + 0.001f * float(c);
  for (long i = 0; i < iters; ++i)
    for (int c = 0; c < kChains; ++c) acc[c] = acc[c] * 0.999999f + 1e-6f;
  float s = 0;
  for (float v : acc) s += v;
  return s;
}
#endif

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : omp_get_max_threads();
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  const double seconds = argc > 3 ? std::atof(argv[3]) : 0.2;
  if (threads < 1 || rounds < 1 || seconds <= 0) {
    std::fprintf(stderr, "usage: bench_fma_peak [threads] [rounds] [seconds per round]\n");
    return 2;
  }

  // calibrate on one thread: iterations for about `seconds`
  long iters = 1 << 16;
  volatile float sink = 0;
  for (;;) {
    auto t0 = std::chrono::steady_clock::now();
    sink = sink + run(iters, 1.0f);
    double t = seconds_since(t0);
    if (t > seconds / 4 || iters > (1L << 40)) {
      iters = std::max(1L, long(double(iters) * seconds / t));
      break;
    }
    iters *= 4;
  }

  double best = 0;
  for (int r = 0; r < rounds; ++r) {
    std::vector<float> out(size_t(threads), 0.0f);
    double t = 0;
#pragma omp parallel num_threads(threads)
    {
      run(iters / 16, 1.0f);  // wake the core (clock, AVX-512 power state) before the timed part
#pragma omp barrier
      std::chrono::steady_clock::time_point t0;
#pragma omp master
      t0 = std::chrono::steady_clock::now();
      out[size_t(omp_get_thread_num())] = run(iters, 1.0f + 0.01f * float(omp_get_thread_num()));
#pragma omp barrier
#pragma omp master
      t = seconds_since(t0);
    }
    for (float v : out) sink = sink + v;
    const double flops = 2.0 * kLanes * kChains * double(iters) * threads;
    best = std::max(best, flops / t * 1e-9);
  }
  std::printf("{\"isa\": \"%s\", \"lanes\": %d, \"chains\": %d, \"threads\": %d, \"gflops\": %.1f, "
              "\"gflops_per_thread\": %.1f, \"sink\": %.3g}\n",
              kIsa, kLanes, kChains, threads, best, best / threads, double(sink));
  return 0;
}
