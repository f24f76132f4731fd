// Derivative of batch_norm (torch.nn.functional.batch_norm). The forward saves the mean and inverse
// std it normalised with; backward calls the dedicated kernel (tensor/cpu/norm.cpp), which in
// training differentiates through the batch statistics too. Running stats are buffers: updated in
// place by the forward, never differentiated.
// batch_norm_act is batch_norm followed by PReLU or ReLU in one node (ops::batch_norm_act), which saves
// x, not the batch-norm output: the models' training forward uses it for every such pair.
// batch_norm_add is batch_norm followed by a residual add in one node (ops::batch_norm_add): the IR and
// IResNet blocks' last BatchNorm and shortcut.
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

Tensor batch_norm_act(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                      Tensor running_var, bool training, double momentum, double eps, const Tensor& alpha) {
  if (!x.device().is_cpu() || x.dim() < 2 || (alpha.defined() && alpha.numel() != x.size(1))) {
    Tensor y = batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps);
    return alpha.defined() ? prelu(y, alpha) : relu(y);
  }
  ops::BatchNormResult r =
      ops::batch_norm_act(x, weight, bias, running_mean, running_var, training, momentum, eps, alpha);
  return record("batch_norm_act", r.y, {x, weight, bias, alpha},
                [x = saved(x), w = saved(weight), b = saved(bias), a = saved(alpha), mean = r.save_mean,
                 invstd = r.save_invstd, training](const Tensor& dz) {
                  ops::BatchNormActGrads g = ops::batch_norm_act_backward(dz, x, w, b, a, mean, invstd, training);
                  return Grads{g.dx, w.defined() ? g.dweight : Tensor(), b.defined() ? g.dbias : Tensor(), g.dalpha};
                });
}

Tensor batch_norm_add(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                      Tensor running_var, bool training, double momentum, double eps, const Tensor& residual) {
  if (!x.device().is_cpu() || x.dim() < 2 || residual.shape() != x.shape() || residual.dtype() != x.dtype() ||
      !residual.device().is_cpu())
    return add(batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps), residual);
  ops::BatchNormResult r =
      ops::batch_norm_add(x, weight, bias, running_mean, running_var, training, momentum, eps, residual);
  // batch_norm's gradients with dz as dy; the residual gets dz as it is
  return record("batch_norm_add", r.y, {x, weight, bias, residual},
                [x = saved(x), w = saved(weight), has_bias = bias.defined(), mean = r.save_mean,
                 invstd = r.save_invstd, training](const Tensor& dz) {
                  ops::BatchNormGrads g = ops::batch_norm_backward(dz, x, w, mean, invstd, training);
                  return Grads{g.dx, w.defined() ? g.dweight : Tensor(), has_bias ? g.dbias : Tensor(), dz};
                });
}

}  // namespace fk
