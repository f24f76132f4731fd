// Device memory and copies for Storage (cuda/runtime.h), plus device discovery. Every call is
// wrapped in FK_CUDA_CHECK; device_count() never throws (no driver or no GPU -> 0).
#include <cstdio>
#include <string>

#include "cuda/check.h"
#include "cuda/runtime.h"

namespace fk::cuda {

bool compiled_with_cuda() { return true; }

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device"/"no driver" error
    return 0;
  }
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
  FK_CHECK(device >= 0 && device < device_count(), "cuda:", device, " is not available (",
           describe(), ")");
  FK_CUDA_CHECK(cudaSetDevice(device));
}

void* device_malloc(size_t nbytes, int device) {
  select(device);
  void* p = nullptr;
  FK_CUDA_CHECK(cudaMalloc(&p, nbytes == 0 ? 1 : nbytes));
  return p;
}

void device_free(void* ptr, int device) noexcept {
  if (!ptr) return;
  cudaSetDevice(device);
  cudaFree(ptr);  // a failing free in a destructor has nobody to report to
}

void memset_zero(void* ptr, size_t nbytes, int device) {
  select(device);
  FK_CUDA_CHECK(cudaMemset(ptr, 0, nbytes));
}

void memcpy(void* dst, const void* src, size_t nbytes, CopyKind kind, int device) {
  select(device);
  cudaMemcpyKind k = kind == CopyKind::HostToDevice   ? cudaMemcpyHostToDevice
                     : kind == CopyKind::DeviceToHost ? cudaMemcpyDeviceToHost
                                                      : cudaMemcpyDeviceToDevice;
  FK_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, k));
}

}  // namespace fk::cuda
