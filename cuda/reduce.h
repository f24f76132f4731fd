// CUDA twins of the reductions of tensor/reduce.h (torch.sum, mean, var, max/min along a dim), with
// the same semantics; fk::ops checks the arguments, then routes CUDA tensors here. max()/min()/argmax()
// over all elements and argmax(dim) go through max/min(dim), and sum_to through sum, on either device.
// Layout: the input seen as (outer, R, inner), each output reducing R values strided by inner (the
// reduced dims made adjacent by a permuted copy when they are not). Kernels: cuda/reduce_kernels.h (one
// thread per output, emulated on the CPU by tests/tensor/test_cuda_kernels_reduce.cpp) and
// cuda/reduce.cu (one block per output, warp shuffles, when R is large). Shared math:
// tensor/cpu/reduce_math.h. GPU-vs-CPU tests: tests/cuda/test_reduce.cpp.
#pragma once

#include <utility>

#include "tensor/reduce.h"

namespace fk::cuda {

Tensor sum(const Tensor& x, const ops::Dims& dims, bool keepdim);
Tensor mean(const Tensor& x, const ops::Dims& dims, bool keepdim);
Tensor var(const Tensor& x, const ops::Dims& dims, bool unbiased, bool keepdim);
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim);
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim);
Tensor index_reduce_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape, int64_t dim,
                             bool keepdim);

}  // namespace fk::cuda
