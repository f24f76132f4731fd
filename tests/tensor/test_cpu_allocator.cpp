// Tests of the CPU caching allocator (tensor/cpu_allocator.h): a freed large block comes back for a
// request of the same size class, small blocks are not cached, empty_cache gives everything back,
// and the default limit holds a training step's activations (at least 2 GiB).
#include <cstdint>
#include <cstdlib>

#include "tensor/cpu_allocator.h"
#include "test_util.h"

using namespace fk;

TEST_CASE("cpu allocator: a freed large block is handed out again for the same size class") {
  const size_t n = (size_t(1) << 20) + 100;  // 1 MiB + 100: rounds up to the class of 1 MiB + 128 KiB
  void* a = cpu_alloc(n);
  REQUIRE(a != nullptr);
  CHECK(reinterpret_cast<uintptr_t>(a) % 64 == 0);
  cpu_free(a, n);
  const CpuCacheStats before = cpu_cache_stats();
  CHECK(before.cached_bytes >= n);
  void* b = cpu_alloc(n + 1000);  // same size class
  const CpuCacheStats after = cpu_cache_stats();
  CHECK(b == a);
  CHECK(after.hits == before.hits + 1);
  CHECK(after.cached_bytes < before.cached_bytes);
  cpu_free(b, n + 1000);
}

TEST_CASE("cpu allocator: small blocks go back to malloc, empty_cache empties the cache") {
  const CpuCacheStats start = cpu_cache_stats();
  void* s = cpu_alloc(1000);
  REQUIRE(s != nullptr);
  CHECK(reinterpret_cast<uintptr_t>(s) % 64 == 0);
  cpu_free(s, 1000);
  CHECK(cpu_cache_stats().cached_bytes == start.cached_bytes);
  CHECK(cpu_cache_stats().hits == start.hits);

  void* big = cpu_alloc(size_t(3) << 20);
  cpu_free(big, size_t(3) << 20);
  CHECK(cpu_cache_stats().cached_bytes >= (size_t(3) << 20));
  cpu_empty_cache();
  CHECK(cpu_cache_stats().cached_bytes == 0);
}

TEST_CASE("cpu allocator: the default cache limit is at least 2 GiB, FK_CPU_CACHE_MB otherwise") {
  const char* env = std::getenv("FK_CPU_CACHE_MB");
  if (env) {
    CHECK(cpu_cache_limit() == size_t(std::strtoull(env, nullptr, 10)) << 20);
  } else {
    CHECK(cpu_cache_limit() >= size_t(2048) << 20);
  }
}
