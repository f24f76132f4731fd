// The CUDA runtime API of cuda/runtime.h for builds without CUDA (FK_CUDA=OFF): no devices, and
// any attempt to allocate on one says how to get CUDA support.
#include "cuda/runtime.h"

#include "tensor/error.h"

namespace fk::cuda {

bool compiled_with_cuda() { return false; }
int device_count() { return 0; }
const char* describe() { return "built without CUDA (configure with -DFK_CUDA=ON and nvcc on PATH)"; }

[[noreturn]] static void unavailable() {
  throw Error("CUDA tensors are unavailable: facekit was built without CUDA (configure with -DFK_CUDA=ON)");
}

void* device_malloc(size_t, int) { unavailable(); }
void device_free(void*, int) noexcept {}
MemoryStats memory_stats(int) { return {}; }
void empty_cache() {}
StreamHandle current_stream(int) { return nullptr; }
StreamHandle create_stream(int) { unavailable(); }
void set_current_stream(StreamHandle, int) {}
void synchronize(int) {}
void memset_zero(void*, size_t, int) { unavailable(); }
void memcpy(void*, const void*, size_t, CopyKind, int) { unavailable(); }
void* pinned_malloc(size_t) { unavailable(); }
void pinned_free(void*) noexcept {}
bool is_pinned(const void*) { return false; }

}  // namespace fk::cuda
