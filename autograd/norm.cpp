// Derivative of batch_norm (torch.nn.functional.batch_norm). The forward saves the mean and inverse
// std it normalised with; backward calls the dedicated kernel (tensor/cpu/norm.cpp), which in
// training differentiates through the batch statistics too. Running stats are buffers: updated in
// place by the forward, never differentiated.
// Tested by tests/autograd/test_norm_grad.cpp.
#include "autograd/ops.h"

namespace fk {

using autograd::Grads;
using autograd::record;
using autograd::saved;

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean, Tensor running_var,
                  bool training, double momentum, double eps) {
  ops::BatchNormResult r = ops::batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps);
  // dbias = sum dy, dweight = sum dy * xhat,
  // dx = w * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)) in training, w * invstd * dy in eval
  return record("batch_norm", r.y, {x, weight, bias},
                [x = saved(x), w = saved(weight), has_bias = bias.defined(), mean = r.save_mean,
                 invstd = r.save_invstd, training](const Tensor& dy) {
                  ops::BatchNormGrads g = ops::batch_norm_backward(dy, x, w, mean, invstd, training);
                  return Grads{g.dx, w.defined() ? g.dweight : Tensor(), has_bias ? g.dbias : Tensor()};
                });
}

}  // namespace fk
