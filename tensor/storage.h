// Storage: one reference-counted block of bytes on a device. Tensors share it through
// std::shared_ptr and view it with their own shape, strides and offset (like torch.UntypedStorage).
// CPU blocks are 64-byte aligned (one cache line, one AVX-512 vector), come from the caching
// allocator (cpu_allocator.h) and are zero-initialised unless made with Storage::Uninitialized.
#pragma once

#include <cstddef>
#include <memory>

#include "tensor/device.h"

namespace fk {

class Storage {
 public:
  // Allocates `nbytes` on `device` (CUDA through cuda/runtime.h's caching allocator). `pinned`:
  // page-locked CPU memory (needs a CUDA device), whose copies to the GPU run asynchronously.
  Storage(size_t nbytes, Device device, bool pinned = false);
  // A CPU block whose bytes are left as they are: for outputs a kernel writes in full.
  struct Uninitialized {};
  Storage(size_t nbytes, Uninitialized);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  bool pinned() const { return pinned_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  bool pinned_ = false;
};

}  // namespace fk
