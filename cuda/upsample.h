// The CUDA twins of bilinear upsampling (tensor/upsample.h, align_corners=False): forward and
// backward for (N,C,H,W) CUDA tensors. Like the CPU kernels they take the geometry (sizes and
// sampling ratios, scale_factor included) that the public op (tensor/upsample.cpp) computed after
// its checks, and return new contiguous tensors on the input's device. Kernels:
// cuda/upsample_kernels.h. Tests: tests/cuda/test_upsample.cpp, tests/tensor/test_cuda_kernels_upsample.cpp.
#pragma once

#include "tensor/cpu/kernels_conv_pool.h"
#include "tensor/tensor.h"

namespace fk::cuda {

Tensor upsample_bilinear2d(const Tensor& x, const Upsample2dGeometry& g);
Tensor upsample_bilinear2d_backward(const Tensor& dy, const Upsample2dGeometry& g, const Shape& x_shape);

}  // namespace fk::cuda
