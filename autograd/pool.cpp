// The differentiable pooling ops (torch.nn.functional.max_pool2d, avg_pool2d, adaptive_avg_pool2d):
// forward by ops::, backward by the dedicated kernels in tensor/cpu/pool.cpp.
// Tests: tests/autograd/test_pool_grad.cpp.
#include "autograd/node.h"
#include "autograd/ops.h"

namespace fk {

Tensor max_pool2d(const Tensor& x, const Pool2dOptions& opts) {
  if (!autograd::needs_grad({&x})) return ops::max_pool2d(x, opts);  // inference: no argmax indices
  auto [y, indices] = ops::max_pool2d_with_indices(x, opts);
  return autograd::record("max_pool2d", y, {x}, [indices = autograd::saved(indices), x_shape = x.shape()](const Tensor& dy) {
    // dx[argmax] += dy; every other input position gets 0
    return autograd::Grads{ops::max_pool2d_backward(dy, indices, x_shape)};
  });
}

Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& opts) {
  Tensor y = ops::avg_pool2d(x, opts);
  return autograd::record("avg_pool2d", y, {x}, [x_shape = x.shape(), opts](const Tensor& dy) {
    // dx[i] = sum over the windows containing i of dy / divisor
    return autograd::Grads{ops::avg_pool2d_backward(dy, x_shape, opts)};
  });
}

Tensor adaptive_avg_pool2d(const Tensor& x, std::array<int64_t, 2> output_size) {
  Tensor y = ops::adaptive_avg_pool2d(x, output_size);
  return autograd::record("adaptive_avg_pool2d", y, {x}, [x_shape = x.shape()](const Tensor& dy) {
    // dx[i] = sum over the windows containing i of dy / window area
    return autograd::Grads{ops::adaptive_avg_pool2d_backward(dy, x_shape)};
  });
}

}  // namespace fk
