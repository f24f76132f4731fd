// CPU: 64-byte aligned, zeroed allocations. CUDA: delegated to fk::cuda (cuda/runtime.h), which
// throws a clear error when facekit was built without CUDA or no device is present.
#include "tensor/storage.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "cuda/runtime.h"
#include "tensor/error.h"

namespace fk {

Storage::Storage(size_t nbytes, Device device, bool pinned) : nbytes_(nbytes), device_(device), pinned_(pinned) {
  if (device.is_cpu() && pinned) {
    data_ = cuda::pinned_malloc(nbytes);
    std::memset(data_, 0, nbytes);
  } else if (device.is_cpu()) {
    size_t rounded = (nbytes + 63) / 64 * 64;  // aligned_alloc wants a multiple of the alignment
    data_ = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
    FK_CHECK(data_ != nullptr, "out of memory: cannot allocate ", nbytes, " bytes on the CPU");
    std::memset(data_, 0, rounded == 0 ? 64 : rounded);
  } else {
    data_ = cuda::device_malloc(nbytes, device.index);
    cuda::memset_zero(data_, nbytes, device.index);
  }
}

Storage::~Storage() {
  if (device_.is_cpu() && pinned_) {
    cuda::pinned_free(data_);
  } else if (device_.is_cpu()) {
    std::free(data_);
  } else {
    cuda::device_free(data_, device_.index);
  }
}

}  // namespace fk
