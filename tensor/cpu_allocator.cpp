// The CPU caching allocator (cpu_allocator.h).
#include "tensor/cpu_allocator.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include "tensor/error.h"

namespace fk {

namespace {

constexpr size_t kCachedMin = size_t(64) << 10;

// The size class of a request: small ones to 64 bytes, large ones to 1/8 of their power of two.
size_t size_class(size_t n) {
  if (n < kCachedMin) return (n + 63) / 64 * 64;
  size_t p = size_t(1) << (63 - __builtin_clzll(n));  // the power of two <= n
  size_t step = p / 8;
  return (n + step - 1) / step * step;
}

// A quarter of the machine's memory, at least 2 GiB: a training step's activations (about 4 GB for
// IR-50 at batch 32) then come back from the cache every step instead of from the OS.
size_t default_limit() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  const size_t quarter = pages > 0 && page > 0 ? size_t(pages) * size_t(page) / 4 : 0;
  return std::max(size_t(2048) << 20, quarter);
}

struct Cache {
  std::mutex mu;
  std::multimap<size_t, void*> free_blocks;  // size class -> block
  size_t cached = 0, hits = 0, misses = 0;
  size_t limit = [] {
    const char* s = std::getenv("FK_CPU_CACHE_MB");
    return s ? size_t(std::strtoull(s, nullptr, 10)) << 20 : default_limit();
  }();
  ~Cache() {
    for (auto& [size, p] : free_blocks) std::free(p);
  }
};

Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: Storage may be freed during static destruction
  return *c;
}

}  // namespace

void* cpu_alloc(size_t nbytes) {
  const size_t cls = size_class(nbytes == 0 ? 64 : nbytes);
  if (cls >= kCachedMin) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_blocks.find(cls);
    if (it != c.free_blocks.end()) {
      void* p = it->second;
      c.free_blocks.erase(it);
      c.cached -= cls;
      ++c.hits;
      return p;
    }
    ++c.misses;
  }
  void* p = std::aligned_alloc(64, cls);
  if (!p && cls >= kCachedMin) {  // give the cache back and try once more
    cpu_empty_cache();
    p = std::aligned_alloc(64, cls);
  }
  FK_CHECK(p != nullptr, "out of memory: cannot allocate ", nbytes, " bytes on the CPU");
  return p;
}

void cpu_free(void* p, size_t nbytes) {
  if (!p) return;
  const size_t cls = size_class(nbytes == 0 ? 64 : nbytes);
  if (cls >= kCachedMin) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.cached + cls <= c.limit) {
      c.free_blocks.emplace(cls, p);
      c.cached += cls;
      return;
    }
  }
  std::free(p);
}

CpuCacheStats cpu_cache_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return {c.cached, c.hits, c.misses};
}

size_t cpu_cache_limit() { return cache().limit; }

void cpu_empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& [size, p] : c.free_blocks) std::free(p);
  c.free_blocks.clear();
  c.cached = 0;
}

}  // namespace fk
