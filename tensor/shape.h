// Shapes and strides: the index arithmetic every op shares. Strides are in elements, as in PyTorch
// (`x.stride()`); a broadcast dimension has stride 0.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fk {

using Shape = std::vector<int64_t>;

int64_t numel_of(const Shape& shape);
Shape contiguous_strides(const Shape& shape);
// "[2, 3, 7, 7]"
std::string shape_str(const Shape& shape);

// A dim in [-ndim, ndim) -> [0, ndim); throws naming the op otherwise.
int64_t normalize_dim(int64_t dim, int64_t ndim, const char* op);

// NumPy broadcasting: align trailing dims; each pair must be equal or 1.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// Strides that read a tensor of `shape`/`strides` as if it had `target` shape (stride 0 on
// broadcast dims). `shape` must broadcast to `target`.
Shape broadcast_strides(const Shape& shape, const Shape& strides, const Shape& target);

}  // namespace fk
