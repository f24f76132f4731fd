// CPU: 64-byte aligned allocations from the caching allocator (cpu_allocator.h), zeroed unless asked not to. CUDA: delegated to fk::cuda (cuda/runtime.h), which
// throws a clear error when facekit was built without CUDA or no device is present.
#include "tensor/storage.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "cuda/runtime.h"
#include "tensor/cpu_allocator.h"
#include "tensor/error.h"

namespace fk {

Storage::Storage(size_t nbytes, Device device, bool pinned) : nbytes_(nbytes), device_(device), pinned_(pinned) {
  if (device.is_cpu() && pinned) {
    data_ = cuda::pinned_malloc(nbytes);
    std::memset(data_, 0, nbytes);
  } else if (device.is_cpu()) {
    data_ = cpu_alloc(nbytes);
    std::memset(data_, 0, nbytes);
  } else {
    data_ = cuda::device_malloc(nbytes, device.index);
    cuda::memset_zero(data_, nbytes, device.index);
  }
}

Storage::Storage(size_t nbytes, Uninitialized) : nbytes_(nbytes), device_(Device::cpu()) { data_ = cpu_alloc(nbytes); }

Storage::~Storage() {
  if (device_.is_cpu() && pinned_) {
    cuda::pinned_free(data_);
  } else if (device_.is_cpu()) {
    cpu_free(data_, nbytes_);
  } else {
    cuda::device_free(data_, device_.index);
  }
}

}  // namespace fk
