// Shape ops. reshape/view/flatten/permute/transpose/squeeze/unsqueeze/expand/slice/select return views
// sharing storage (reshape and flatten copy only when the strides cannot express the new shape, by torch's
// computeStride rule; view throws instead); index_select/index_add/cat/stack/pad return new contiguous
// tensors. Views work for every dtype; the copying ops run on the CPU or a CUDA device (cuda/shape.cu,
// cuda::copy_strided).
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace fk::ops {

// One entry may be -1 (inferred).
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor view(const Tensor& x, const Shape& shape);  // throws when a copy would be needed
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor squeeze(const Tensor& x, int64_t dim);
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor expand(const Tensor& x, const Shape& shape);  // -1 keeps a dim
// x[start:end:step] along dim (negative start/end count from the end, clamped like Python)
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
Tensor select(const Tensor& x, int64_t dim, int64_t index);  // removes dim
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);  // index: 1-d int64
// out[..., index[i], ...] += src[..., i, ...] along dim (index_select's backward)
Tensor index_add(const Tensor& base, int64_t dim, const Tensor& index, const Tensor& src);
Tensor cat(const std::vector<Tensor>& xs, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim = 0);
// F.pad: pads = {left, right, top, bottom, ...} from the last dim backwards; negative values crop.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value = 0.0);

// Backward helpers: zeros of `input_shape` with dy written into the region that slice/select read.
Tensor slice_backward(const Tensor& dy, const Shape& input_shape, int64_t dim, int64_t start, int64_t end,
                      int64_t step = 1);
Tensor select_backward(const Tensor& dy, const Shape& input_shape, int64_t dim, int64_t index);

}  // namespace fk::ops
