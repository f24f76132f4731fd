// The CUDA twins of the copying shape ops that are not a strided copy (tensor/shape_ops.h):
// index_select and index_add along one dim. shape_ops.cpp calls them after its checks, with the dim
// normalised and the indices already copied to the host and bounds-checked (the index tensor may
// live on the CPU or the GPU); they upload the indices and return new contiguous tensors on the
// data's device. cat, stack, pad, slice_backward, select_backward and reshape's copy need no kernel
// of their own: shape_ops.cpp writes them on cuda::copy_strided (cuda/copy.h).
// Kernels: cuda/shape_kernels.h. Tests: tests/cuda/test_shape_ops.cpp, tests/tensor/test_cuda_kernels_shape.cpp.
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace fk::cuda {

// out[..., i, ...] = x[..., index[i], ...] along dim; any dtype; x of at least one dim.
Tensor index_select(const Tensor& x, int64_t dim, const std::vector<int64_t>& index);
// out = base; out[..., index[i], ...] += src[..., i, ...] along dim (repeated indices add up);
// float32/float64, base of at least one dim.
Tensor index_add(const Tensor& base, int64_t dim, const std::vector<int64_t>& index, const Tensor& src);

}  // namespace fk::cuda
