// Reductions over given dims, with keepdim (torch.sum, mean, max, min, argmax, var).
// An empty `dims` list means every dim. var uses Bessel's correction when `unbiased` (torch default).
#pragma once

#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace fk::ops {

using Dims = std::vector<int64_t>;

Tensor sum(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor var(const Tensor& x, const Dims& dims = {}, bool unbiased = true, bool keepdim = false);
// values and int64 indices along one dim (first index among ties, as PyTorch on CPU)
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor max(const Tensor& x);  // 0-d, over all elements
Tensor min(const Tensor& x);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x);  // index into the flattened tensor
// Sums `g` down to `shape` (the inverse of broadcasting `shape` up to g.shape()).
Tensor sum_to(const Tensor& g, const Shape& shape);

}  // namespace fk::ops

namespace fk::ops {
// The shape `x_shape` takes when `dims` are reduced with keepdim=true (size 1 in each reduced dim).
Shape keepdim_shape(const Shape& x_shape, const Dims& dims, const char* op);
// max/min(dim) backward: dy scattered to the positions `indices` picked along `dim`.
Tensor index_reduce_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape, int64_t dim, bool keepdim);
}  // namespace fk::ops
