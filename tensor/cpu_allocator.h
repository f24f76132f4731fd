// The CPU caching allocator behind Storage: 64-byte aligned blocks; blocks of 64 KiB and more are
// kept on free and handed out again for a request of the same size class, instead of going back to
// the OS. glibc returns large blocks to the OS at free (they are mmap'ed), so without a cache every
// forward pays page faults and the kernel's zero-filling for every activation: ~20 % of a batch-1
// IR-50 forward on this project's machine (../docs/perf.md). Size classes round up to 1/8 of the
// request's power of two (at most 12.5 % slack); the cache holds at most cpu_cache_limit() bytes
// (FK_CPU_CACHE_MB; default a quarter of the machine's memory, at least 2048 MiB) and drops what is over. Thread-safe. Tests:
// tests/tensor/test_cpu_allocator.cpp.
#pragma once

#include <cstddef>

namespace fk {

void* cpu_alloc(size_t nbytes);  // 64-byte aligned, uninitialised; throws "out of memory" naming the size
void cpu_free(void* p, size_t nbytes);

struct CpuCacheStats {
  size_t cached_bytes = 0;  // held in the cache, free for reuse
  size_t hits = 0, misses = 0;
};
CpuCacheStats cpu_cache_stats();
size_t cpu_cache_limit();
void cpu_empty_cache();  // gives every cached block back to the OS

}  // namespace fk
