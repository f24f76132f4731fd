// Device discovery, the caching allocator, streams, copies and pinned memory of cuda/runtime.h.
// Every CUDA call is wrapped in FK_CUDA_CHECK; device_count() never throws (no driver or no GPU -> 0).
//
// The caching allocator (the idea of PyTorch's CUDACachingAllocator, much simplified): sizes are
// rounded up (512 B steps below 1 MiB, 2 MiB steps above), a freed block goes to a free list of its
// device and stream, and the next allocation of a size it fits (without wasting more than half of
// it) takes it back with no cudaMalloc. Blocks are reused only on the stream they were made for, so
// a kernel still reading a block on one stream never races a new owner on another. When cudaMalloc
// runs out, the cache is released and the allocation retried once; if it still fails, the error
// names the size asked for and what the device holds.
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cuda/check.h"
#include "cuda/runtime.h"

namespace fk::cuda {

bool compiled_with_cuda() { return true; }

int device_count() {
  static int n = [] {
    int c = 0;
    if (cudaGetDeviceCount(&c) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky "no device"/"no driver" error
      return 0;
    }
    return c;
  }();
  return n;
}

const char* describe() {
  static std::string text = [] {
    int rt = 0;
    cudaRuntimeGetVersion(&rt);
    std::string s = "CUDA " + std::to_string(rt / 1000) + "." + std::to_string(rt % 1000 / 10);
    int n = device_count();
    if (n == 0) return s + ", no CUDA device";
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) return s + ", device 0 unreadable";
    return s + ", " + std::to_string(n) + " device(s): " + prop.name;
  }();
  return text.c_str();
}

static void select(int device) {
  FK_CHECK(device >= 0 && device < device_count(), "cuda:", device, " is not available (", describe(), ")");
  int cur = -1;
  FK_CUDA_CHECK(cudaGetDevice(&cur));
  if (cur != device) FK_CUDA_CHECK(cudaSetDevice(device));
}

// ---- streams
namespace {
struct StreamTable {
  std::mutex mu;
  std::vector<cudaStream_t> current;  // per device; null until first use
};
StreamTable& streams() {
  static StreamTable* t = new StreamTable;  // never destroyed: kernels may run during static teardown
  return *t;
}
}  // namespace

StreamHandle create_stream(int device) {
  select(device);
  cudaStream_t s = nullptr;
  FK_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return s;
}

StreamHandle current_stream(int device) {
  StreamTable& t = streams();
  std::lock_guard<std::mutex> lock(t.mu);
  if (t.current.size() <= size_t(device)) t.current.resize(size_t(device) + 1, nullptr);
  if (!t.current[size_t(device)]) t.current[size_t(device)] = static_cast<cudaStream_t>(create_stream(device));
  return t.current[size_t(device)];
}

void set_current_stream(StreamHandle s, int device) {
  StreamTable& t = streams();
  std::lock_guard<std::mutex> lock(t.mu);
  if (t.current.size() <= size_t(device)) t.current.resize(size_t(device) + 1, nullptr);
  t.current[size_t(device)] = static_cast<cudaStream_t>(s);
}

void synchronize(int device) {
  if (device >= 0) {
    select(device);
    FK_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(current_stream(device))));
    return;
  }
  for (int d = 0; d < device_count(); ++d) {
    select(d);
    FK_CUDA_CHECK(cudaDeviceSynchronize());
  }
}

// ---- the caching allocator
namespace {
struct Block {
  size_t size;
  int device;
  cudaStream_t stream;
};
struct Allocator {
  std::mutex mu;
  std::unordered_map<void*, Block> live;
  // free blocks by (device, stream), ordered by size
  std::map<std::pair<int, cudaStream_t>, std::multimap<size_t, void*>> free_lists;
  std::vector<MemoryStats> stats;

  MemoryStats& st(int device) {
    if (stats.size() <= size_t(device)) stats.resize(size_t(device) + 1);
    return stats[size_t(device)];
  }
  // cudaFree of every cached block (of one device, or all with -1); mu held
  void release_cached(int device) {
    for (auto& [key, list] : free_lists) {
      if (device >= 0 && key.first != device) continue;
      cudaSetDevice(key.first);
      for (auto& [size, ptr] : list) {
        cudaFree(ptr);
        st(key.first).reserved -= size;
      }
      list.clear();
    }
  }
};
Allocator& allocator() {
  static Allocator* a = new Allocator;  // never destroyed (see streams())
  return *a;
}
size_t round_size(size_t n) {
  if (n == 0) n = 1;
  constexpr size_t kSmall = 512, kLarge = size_t(2) << 20;
  if (n < (size_t(1) << 20)) return (n + kSmall - 1) / kSmall * kSmall;
  return (n + kLarge - 1) / kLarge * kLarge;
}
std::string mib(size_t b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", double(b) / (1024.0 * 1024.0));
  return buf;
}
}  // namespace

void* device_malloc(size_t nbytes, int device) {
  select(device);
  cudaStream_t stream = static_cast<cudaStream_t>(current_stream(device));
  size_t size = round_size(nbytes);
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mu);
  auto& list = a.free_lists[{device, stream}];
  auto it = list.lower_bound(size);
  if (it != list.end() && it->first <= 2 * size) {
    Block b{it->first, device, stream};
    void* p = it->second;
    list.erase(it);
    a.live[p] = b;
    MemoryStats& s = a.st(device);
    s.allocated += b.size;
    if (s.allocated > s.peak_allocated) s.peak_allocated = s.allocated;
    return p;
  }
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, size);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    a.release_cached(device);
    select(device);
    err = cudaMalloc(&p, size);
  }
  if (err != cudaSuccess) {
    cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    MemoryStats& s = a.st(device);
    throw Error(detail::concat("CUDA out of memory on cuda:", device, ": tried to allocate ", mib(size), " (",
                               cudaGetErrorString(err), "); facekit holds ", mib(s.allocated), " in tensors, the device has ",
                               mib(free_b), " free of ", mib(total_b)));
  }
  MemoryStats& s = a.st(device);
  s.reserved += size;
  s.allocated += size;
  s.driver_mallocs++;
  if (s.allocated > s.peak_allocated) s.peak_allocated = s.allocated;
  a.live[p] = Block{size, device, stream};
  return p;
}

void device_free(void* ptr, int device) noexcept {
  if (!ptr) return;
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mu);
  auto it = a.live.find(ptr);
  if (it == a.live.end()) return;  // not ours: nothing to do
  Block b = it->second;
  a.live.erase(it);
  a.st(b.device).allocated -= b.size;
  a.free_lists[{b.device, b.stream}].emplace(b.size, ptr);
}

MemoryStats memory_stats(int device) {
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mu);
  return a.st(device);
}

void empty_cache() {
  if (device_count() == 0) return;
  synchronize(-1);
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mu);
  a.release_cached(-1);
}

// ---- copies
void memset_zero(void* ptr, size_t nbytes, int device) {
  select(device);
  FK_CUDA_CHECK(cudaMemsetAsync(ptr, 0, nbytes, static_cast<cudaStream_t>(current_stream(device))));
}

void memcpy(void* dst, const void* src, size_t nbytes, CopyKind kind, int device) {
  select(device);
  cudaStream_t s = static_cast<cudaStream_t>(current_stream(device));
  cudaMemcpyKind k = kind == CopyKind::HostToDevice   ? cudaMemcpyHostToDevice
                     : kind == CopyKind::DeviceToHost ? cudaMemcpyDeviceToHost
                                                      : cudaMemcpyDeviceToDevice;
  FK_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, k, s));
  // The host may read (D2H) or free (H2D from pinned memory) its buffer as soon as we return.
  // Pageable H2D copies are staged by the driver before cudaMemcpyAsync returns, so only pinned
  // sources and D2H need the wait.
  if (kind == CopyKind::DeviceToHost || (kind == CopyKind::HostToDevice && is_pinned(src)))
    FK_CUDA_CHECK(cudaStreamSynchronize(s));
}

// ---- pinned host memory
namespace {
struct PinnedTable {
  std::mutex mu;
  std::map<const char*, size_t> blocks;  // base -> size
};
PinnedTable& pinned() {
  static PinnedTable* t = new PinnedTable;
  return *t;
}
}  // namespace

void* pinned_malloc(size_t nbytes) {
  FK_CHECK(device_count() > 0, "pinned memory needs a CUDA device (", describe(), ")");
  void* p = nullptr;
  cudaError_t err = cudaHostAlloc(&p, nbytes == 0 ? 1 : nbytes, cudaHostAllocPortable);
  if (err != cudaSuccess) {
    cudaGetLastError();
    throw Error(detail::concat("cannot allocate ", mib(nbytes), " of pinned host memory: ", cudaGetErrorString(err)));
  }
  std::lock_guard<std::mutex> lock(pinned().mu);
  pinned().blocks[static_cast<const char*>(p)] = nbytes;
  return p;
}

void pinned_free(void* ptr) noexcept {
  if (!ptr) return;
  {
    std::lock_guard<std::mutex> lock(pinned().mu);
    pinned().blocks.erase(static_cast<const char*>(ptr));
  }
  cudaFreeHost(ptr);  // waits for copies still reading it
}

bool is_pinned(const void* ptr) {
  // inside some pinned block (a tensor view may start past the block's base)
  const char* p = static_cast<const char*>(ptr);
  std::lock_guard<std::mutex> lock(pinned().mu);
  auto it = pinned().blocks.upper_bound(p);
  if (it == pinned().blocks.begin()) return false;
  --it;
  return p < it->first + it->second;
}

}  // namespace fk::cuda
