// Derivatives of prelu, softmax, log_softmax and dropout, and normalize composed from differentiable
// ops (torch.nn.functional.prelu / softmax / log_softmax / dropout / normalize).
// Tested by tests/autograd/test_activation_grad.cpp.
#include "autograd/ops.h"

namespace fk {

using autograd::Grads;
using autograd::record;
using autograd::saved;

Tensor prelu(const Tensor& x, const Tensor& weight) {
  // dx = x > 0 ? dy : w * dy;  dw = sum over x <= 0 of dy * x (per channel, or all for a shared w)
  return record("prelu", ops::prelu(x, weight), {x, weight}, [x = saved(x), w = saved(weight)](const Tensor& dy) {
    ops::PreluGrads g = ops::prelu_backward(dy, x, w);
    return Grads{g.dx, g.dweight};
  });
}

Tensor softmax(const Tensor& x, int64_t dim) {
  Tensor y = ops::softmax(x, dim);
  // dx = y * (dy - sum(dy * y, dim))
  return record("softmax", y, {x}, [y = saved(y), dim](const Tensor& dy) {
    return Grads{ops::softmax_backward(dy, y, dim)};
  });
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  Tensor y = ops::log_softmax(x, dim);
  // dx = dy - exp(y) * sum(dy, dim)
  return record("log_softmax", y, {x}, [y = saved(y), dim](const Tensor& dy) {
    return Grads{ops::log_softmax_backward(dy, y, dim)};
  });
}

Tensor dropout(const Tensor& x, double p, bool training) {
  auto [y, mask] = ops::dropout(x, p, training);
  if (!mask.defined()) return y;  // identity: y is x itself, its graph unchanged
  // dx = dy * mask (mask holds 0 or 1 / (1 - p))
  return record("dropout", y, {x}, [mask = saved(mask)](const Tensor& dy) { return Grads{ops::mul(dy, mask)}; });
}

Tensor normalize(const Tensor& x, int64_t dim, double eps) {
  // x / max(||x||_2, eps) along dim, composed from differentiable ops ("reuse first"). The clamp is
  // applied to the squared norm (max(sqrt(s), eps) == sqrt(max(s, eps^2))) so that an all-zero
  // slice gets a finite gradient (1/eps, as PyTorch) instead of sqrt's 0/0 at s = 0.
  FK_CHECK(x.defined(), "normalize: x is an undefined tensor");
  int64_t d = normalize_dim(dim, x.dim(), "normalize");
  FK_CHECK(eps >= 0, "normalize: eps must be non-negative, got ", eps);
  Tensor sumsq = sum(mul(x, x), {d}, true);
  Tensor norm = sqrt(clamp(sumsq, eps * eps, std::nullopt));
  return div(x, norm);
}

}  // namespace fk
