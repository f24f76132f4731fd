// Pooling (torch.nn.functional.max_pool2d / avg_pool2d / adaptive_avg_pool2d), NCHW or CHW input.
// Output size: floor or, with ceil_mode, ceil((H + 2*pad - dil*(K-1) - 1) / stride) + 1, where with
// ceil_mode the last window must start inside the input or the left padding (PyTorch's rule).
#pragma once

#include <array>
#include <utility>

#include "tensor/tensor.h"

namespace fk {

// The options struct lives in namespace fk (fk::ops names it through a using-declaration): were it
// in fk::ops, argument-dependent lookup would find ops::max_pool2d next to fk::max_pool2d and make
// an unqualified `max_pool2d(x, opts)` under `using namespace fk` ambiguous.
struct Pool2dOptions {
  std::array<int64_t, 2> kernel{1, 1};
  std::array<int64_t, 2> stride{0, 0};  // 0: same as kernel (PyTorch's default stride=None)
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> dilation{1, 1};  // max_pool2d only
  bool ceil_mode = false;
  bool count_include_pad = true;  // avg_pool2d only
};

}  // namespace fk

namespace fk::ops {

using fk::Pool2dOptions;

// y and the int64 flat index (h*W + w) of each window's maximum within its (n, c) plane
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const Pool2dOptions& opts);
Tensor max_pool2d(const Tensor& x, const Pool2dOptions& opts);
Tensor max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape);
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& opts);
Tensor avg_pool2d_backward(const Tensor& dy, const Shape& x_shape, const Pool2dOptions& opts);
// window i spans [floor(i*H/OH), ceil((i+1)*H/OH))
Tensor adaptive_avg_pool2d(const Tensor& x, std::array<int64_t, 2> output_size);
Tensor adaptive_avg_pool2d_backward(const Tensor& dy, const Shape& x_shape);

}  // namespace fk::ops
