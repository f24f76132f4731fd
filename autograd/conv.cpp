// The differentiable conv2d (torch.nn.functional.conv2d): forward by ops::conv2d, backward by
// ops::conv2d_backward (col2im + GEMM for dx, GEMM for dweight, a sum for dbias).
// Only the gradients some input needs are computed (dx of a first layer is skipped).
// Tests: tests/autograd/test_conv_grad.cpp.
#include "autograd/ops.h"

namespace fk {

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opts) {
  Tensor y = ops::conv2d(x, weight, bias, opts);
  const bool has_bias = bias.defined();
  const std::array<bool, 3> mask{x.requires_grad(), weight.requires_grad(), has_bias && bias.requires_grad()};
  return autograd::record(
      "conv2d", y, {x, weight, bias},
      [x = autograd::saved(x), weight = autograd::saved(weight), has_bias, opts, mask](const Tensor& dy) {
        // dx = col2im(w^T dy), dweight = dy im2col(x)^T, dbias = sum of dy over (n, oh, ow)
        ops::Conv2dGrads g = ops::conv2d_backward(dy, x, weight, has_bias, opts, mask);
        return autograd::Grads{g.dx, g.dweight, g.dbias};
      });
}

}  // namespace fk
