// One library handle per device (cuBLAS in cuda/blas.cu, cuDNN in cuda/conv.cu), made on first use.
// Include only from .cu files (it needs the CUDA headers).
#pragma once

#include <map>
#include <mutex>

#include "cuda/check.h"

namespace fk::cuda {

// The handle of `device`: on first use `create()` makes it with that device current (the caller's
// device is restored, even when `create` throws). Each caller passes its own lambda and so gets its
// own table. Handles live until exit and are never destroyed: destroying them from a static
// destructor may run after the CUDA driver has shut down.
template <class Handle, class Create>
Handle device_handle(int device, Create create) {
  static std::mutex mu;
  static std::map<int, Handle> handles;
  std::lock_guard<std::mutex> lock(mu);
  auto it = handles.find(device);
  if (it != handles.end()) return it->second;
  int prev = 0;
  FK_CUDA_CHECK(cudaGetDevice(&prev));
  struct Restore {
    int prev, device;
    ~Restore() {
      if (prev != device) cudaSetDevice(prev);
    }
  } restore{prev, device};
  if (prev != device) FK_CUDA_CHECK(cudaSetDevice(device));
  return handles.emplace(device, create()).first->second;
}

}  // namespace fk::cuda
