// The part of the CUDA runtime that tensor/ needs: device memory and copies, as plain C++
// declarations (no CUDA headers), so every file can include it. Implemented in runtime.cu when
// facekit is built with FK_CUDA=ON, otherwise by no_cuda.cpp whose functions throw
// "facekit was built without CUDA".
#pragma once

#include <cstddef>

namespace fk::cuda {

// True when facekit was compiled with CUDA support.
bool compiled_with_cuda();
// Number of usable CUDA devices (0 when none, or when built without CUDA): never throws.
int device_count();
// One line for --version and test skips: "CUDA 13.0, 1 device: NVIDIA H100 ..." or why not.
const char* describe();

void* device_malloc(size_t nbytes, int device);
void device_free(void* ptr, int device) noexcept;
void memset_zero(void* ptr, size_t nbytes, int device);
enum class CopyKind { HostToDevice, DeviceToHost, DeviceToDevice };
void memcpy(void* dst, const void* src, size_t nbytes, CopyKind kind, int device);

}  // namespace fk::cuda
