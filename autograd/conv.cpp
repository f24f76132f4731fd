// The differentiable conv2d (torch.nn.functional.conv2d): forward by ops::conv2d, backward by
// ops::conv2d_backward (blocked kernels or col2im + GEMM for dx, blocked kernels or GEMM for dweight, a
// sum for dbias). Float32 CPU convs the blocked kernels run keep x in the blocked layout for backward.
// Only the gradients some input needs are computed (dx of a first layer is skipped).
// Tests: tests/autograd/test_conv_grad.cpp.
#include "autograd/ops.h"

namespace fk {

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opts) {
  const bool has_bias = bias.defined();
  const std::array<bool, 3> mask{x.requires_grad(), weight.requires_grad(), has_bias && bias.requires_grad()};
  if (mask[1] && autograd::needs_grad({&x, &weight, &bias}) && ops::conv2d_blocked_input_applies(x, weight, opts)) {
    // float32 on the CPU's blocked kernels: x converted once, and that copy (not x) kept for dweight
    BlockedTensor xb = to_blocked(x);
    Tensor y = ops::conv2d(xb, weight, bias, opts);
    return autograd::record("conv2d", y, {x, weight, bias},
                            [xb, weight = autograd::saved(weight), has_bias, opts, mask](const Tensor& dy) {
                              ops::Conv2dGrads g = ops::conv2d_backward(dy, xb, weight, has_bias, opts, mask);
                              return autograd::Grads{g.dx, g.dweight, g.dbias};
                            });
  }
  Tensor y = ops::conv2d(x, weight, bias, opts);
  return autograd::record(
      "conv2d", y, {x, weight, bias},
      [x = autograd::saved(x), weight = autograd::saved(weight), has_bias, opts, mask](const Tensor& dy) {
        // dx = col2im(w^T dy), dweight = dy im2col(x)^T, dbias = sum of dy over (n, oh, ow)
        ops::Conv2dGrads g = ops::conv2d_backward(dy, x, weight, has_bias, opts, mask);
        return autograd::Grads{g.dx, g.dweight, g.dbias};
      });
}

}  // namespace fk
