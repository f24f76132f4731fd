// The CUDA twins of the pooling ops (tensor/pool.h): max_pool2d (with indices, dilation, padding,
// ceil_mode), avg_pool2d (count_include_pad, ceil_mode), adaptive_avg_pool2d, and their backwards,
// for (N,C,H,W) or (C,H,W) CUDA tensors. Like the CPU kernels they take the geometry that the public
// op (tensor/pool.cpp) computed after checking its arguments, so the two devices cannot disagree on
// an output size; they return new contiguous tensors on x's device. Kernels: cuda/pool_kernels.h.
// Tests: tests/cuda/test_pool.cpp (GPU vs CPU), tests/tensor/test_cuda_kernels_pool.cpp (emulated).
#pragma once

#include <utility>

#include "tensor/cpu/kernels_conv_pool.h"
#include "tensor/tensor.h"

namespace fk::cuda {

// y: x's shape with (OH, OW) last, and (when with_indices) the int64 flat index ih*W + iw of each
// window's maximum within its plane (an undefined tensor otherwise).
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const Pool2dGeometry& g, bool with_indices);
// dx (x_shape) = 0; dx[plane, indices] += dy. g needs planes, H, W, OH, OW.
Tensor max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Pool2dGeometry& g,
                           const Shape& x_shape);
Tensor avg_pool2d(const Tensor& x, const Pool2dGeometry& g);
Tensor avg_pool2d_backward(const Tensor& dy, const Pool2dGeometry& g, const Shape& x_shape);
Tensor adaptive_avg_pool2d(const Tensor& x, const Pool2dGeometry& g);
Tensor adaptive_avg_pool2d_backward(const Tensor& dy, const Pool2dGeometry& g, const Shape& x_shape);

}  // namespace fk::cuda
