// The part of the CUDA runtime that tensor/ needs: device memory through a caching allocator,
// streams, copies, pinned host memory, as plain C++ declarations (no CUDA headers), so every file
// can include it. Implemented in runtime.cu when facekit is built with FK_CUDA=ON, otherwise by
// no_cuda.cpp whose functions throw "facekit was built without CUDA".
//
// Streams: every kernel, copy and library call of facekit runs on the *current stream* of its device
// (one non-blocking stream per device made on first use, like torch.cuda.current_stream()); a
// StreamGuard makes another stream current for a scope. Work on one stream runs in order, so the
// caching allocator may hand a freed block to the next allocation on the same stream at once.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fk::cuda {

// True when facekit was compiled with CUDA support.
bool compiled_with_cuda();
// Number of usable CUDA devices (0 when none, or when built without CUDA): never throws.
int device_count();
// One line for --version and test skips: "CUDA 13.0, 1 device: NVIDIA H100 ..." or why not.
const char* describe();

// ---- device memory (caching allocator: sizes rounded up, freed blocks kept for reuse per stream)
void* device_malloc(size_t nbytes, int device);
void device_free(void* ptr, int device) noexcept;
struct MemoryStats {
  size_t allocated = 0;       // bytes in live blocks (as rounded by the allocator)
  size_t reserved = 0;        // bytes taken from the driver: live + cached
  size_t peak_allocated = 0;  // high-water mark of `allocated`
  int64_t driver_mallocs = 0; // cudaMalloc calls so far (a warm training loop makes none)
};
MemoryStats memory_stats(int device = 0);
void empty_cache();  // returns every cached (free) block to the driver (torch.cuda.empty_cache)

// ---- streams
using StreamHandle = void*;  // a cudaStream_t
StreamHandle current_stream(int device = 0);
StreamHandle create_stream(int device = 0);  // a new non-blocking stream (lives until exit)
void set_current_stream(StreamHandle s, int device = 0);
// Makes `s` current on `device` for a scope (torch.cuda.stream(s)).
class StreamGuard {
 public:
  StreamGuard(StreamHandle s, int device = 0) : device_(device), prev_(current_stream(device)) {
    set_current_stream(s, device);
  }
  ~StreamGuard() { set_current_stream(prev_, device_); }
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  int device_;
  StreamHandle prev_;
};
// Waits for all work on the device's current stream (-1: every device, every stream).
void synchronize(int device = -1);

// ---- copies (on the current stream; device-to-host copies wait for their data)
void memset_zero(void* ptr, size_t nbytes, int device);
enum class CopyKind { HostToDevice, DeviceToHost, DeviceToDevice };
void memcpy(void* dst, const void* src, size_t nbytes, CopyKind kind, int device);

// ---- page-locked host memory (fast, asynchronous host-to-device copies for the data loader)
void* pinned_malloc(size_t nbytes);
void pinned_free(void* ptr) noexcept;
bool is_pinned(const void* ptr);

}  // namespace fk::cuda
