// Launching element-wise CUDA kernels, and running the same per-index functors on the CPU.
//
// A kernel of facekit's CUDA backend is mostly a functor `f(int64_t i)` computing output element
// (or work item) i; `launch(n, f)` runs it over i in [0, n) as a grid-stride loop on the current
// stream (.cu files only). `emulate(n, f)` runs the same functor in a plain loop on the CPU: the CPU
// tests call it on host pointers, so the index arithmetic of the kernels (broadcasting, im2col,
// pooling windows, ...) is tested on machines without a GPU.
//
// StridedIndex turns a flat row-major index into the element offset of a strided (or broadcast,
// stride 0) tensor, for up to kMaxDims dims.
#pragma once

#include <cstdint>

#include "tensor/error.h"
#include "tensor/hd.h"
#include "tensor/shape.h"
#include "tensor/tensor.h"

#if defined(__CUDACC__)
#include <cuda_runtime.h>

#include "cuda/check.h"
#include "cuda/runtime.h"
#endif

namespace fk::cuda {

constexpr int kMaxDims = 8;

struct StridedIndex {
  int nd = 0;
  int64_t size[kMaxDims] = {};
  int64_t stride[kMaxDims] = {};
  // offset (in elements) of flat row-major index i
  FK_HD_INLINE int64_t operator()(int64_t i) const {
    int64_t off = 0;
    for (int d = nd - 1; d >= 0; --d) {
      int64_t s = size[d];
      off += (i % s) * stride[d];
      i /= s;
    }
    return off;
  }
};

// `strides` of a tensor of `shape` (0 in broadcast dims); throws beyond kMaxDims dims.
inline StridedIndex make_strided_index(const Shape& shape, const Shape& strides) {
  FK_CHECK(shape.size() <= size_t(kMaxDims), "CUDA kernels take tensors of at most ", kMaxDims, " dims, got ",
           shape_str(shape));
  StridedIndex ix;
  ix.nd = int(shape.size());
  for (size_t d = 0; d < shape.size(); ++d) {
    ix.size[d] = shape[d] == 0 ? 1 : shape[d];
    ix.stride[d] = strides[d];
  }
  return ix;
}

// The device address of a CUDA tensor's first element, as T* (the dtype must be T).
template <class T>
T* ptr(const Tensor& t) {
  FK_CHECK(t.defined() && t.device().is_cuda(), "CUDA kernel given ", t.defined() ? t.str() : "an undefined tensor",
           ", expected a CUDA tensor");
  FK_CHECK(t.dtype() == dtype_of<T>::value, "CUDA kernel given ", t.str(), ", expected dtype ",
           dtype_name(dtype_of<T>::value));
  return static_cast<T*>(t.raw_data());
}

// The CPU loop twin of launch(): f(i) for i in [0, n), in order.
template <class F>
void emulate(int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) f(i);
}

#if defined(__CUDACC__)
template <class F>
__global__ void grid_stride_kernel(int64_t n, F f) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) f(i);
}

inline cudaStream_t stream(int device = 0) { return static_cast<cudaStream_t>(current_stream(device)); }

constexpr int kThreads = 256;
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  int64_t b = (n + threads - 1) / threads;
  return unsigned(b < (int64_t(1) << 20) ? b : (int64_t(1) << 20));  // the grid-stride loop does the rest
}

// f(i) for i in [0, n) on the device's current stream; a launch error throws with the kernel's name.
template <class F>
void launch(int64_t n, F f, int device = 0) {
  if (n <= 0) return;
  grid_stride_kernel<<<grid_for(n), kThreads, 0, stream(device)>>>(n, f);
  FK_CUDA_CHECK(cudaGetLastError());
}
#endif

}  // namespace fk::cuda
