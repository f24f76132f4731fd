// Derivatives of nll_loss, and cross_entropy = nll_loss(log_softmax(x, 1)) composed from the two
// differentiable ops (torch.nn.functional.nll_loss / cross_entropy, reduction='mean').
// Tested by tests/autograd/test_loss_grad.cpp.
#include "autograd/ops.h"

namespace fk {

using autograd::Grads;
using autograd::record;
using autograd::saved;

Tensor nll_loss(const Tensor& logp, const Tensor& target, int64_t ignore_index) {
  // dlogp[n, target[n]] = -dloss / (number of kept targets); the int64 target gets no gradient
  return record("nll_loss", ops::nll_loss(logp, target, ignore_index), {logp, target},
                [logp = saved(logp), target = saved(target), ignore_index](const Tensor& dloss) {
                  return Grads{ops::nll_loss_backward(dloss, logp, target, ignore_index), Tensor()};
                });
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, int64_t ignore_index) {
  FK_CHECK(logits.defined() && logits.dim() == 2, "cross_entropy: logits must be (N, C), got ",
           logits.defined() ? shape_str(logits.shape()) : std::string("an undefined tensor"));
  return nll_loss(log_softmax(logits, 1), target, ignore_index);
}

}  // namespace fk
