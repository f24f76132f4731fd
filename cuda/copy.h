// The CUDA copy primitive that Tensor::clone / contiguous / to(DType) and the other CUDA families use:
// dst = src element by element, with any strides on both sides and a dtype conversion on the way
// (the rule of Tensor::to(DType): through double, to bool nonzero -> true; float16/bfloat16 are
// copied only as themselves). Like torch.Tensor.copy_ between two tensors on one GPU.
// Implemented in cuda/elementwise.cu (kernels: cuda/elementwise_kernels.h); tests:
// tests/cuda/test_elementwise.cpp and, emulated on the CPU, tests/tensor/test_cuda_kernels_elementwise.cpp.
#pragma once

#include "tensor/tensor.h"

namespace fk::cuda {

// dst[idx] = src[idx] converted to dst's dtype. src's shape must broadcast to dst's (broadcast dims
// read with stride 0); both on one CUDA device; dtypes float32/float64/int64/uint8/bool, any pair
// (float16/bfloat16 only to the same dtype). dst must not overlap src. Runs on the current stream.
void copy_strided(const Tensor& dst, const Tensor& src);

}  // namespace fk::cuda
