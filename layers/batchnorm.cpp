// BatchNorm1d/2d (see batchnorm.h): PyTorch's _BatchNorm.forward, i.e. count the batch, pick the
// averaging factor, and call fk::batch_norm, which updates the running statistics in place.
#include "layers/batchnorm.h"

#include "layers/activation.h"
#include "tensor/creation.h"

namespace fk {

BatchNormBase::BatchNormBase(int64_t num_features_, double eps_, std::optional<double> momentum_, bool affine_,
                             bool track_running_stats_)
    : num_features(num_features_),
      eps(eps_),
      momentum(momentum_),
      affine(affine_),
      track_running_stats(track_running_stats_) {
  FK_CHECK(num_features > 0, "BatchNorm: num_features must be positive, got ", num_features);
  FK_CHECK(eps > 0, "BatchNorm: eps must be positive, got ", eps);
  if (affine) {
    weight = register_parameter("weight", ones({num_features}));
    bias = register_parameter("bias", zeros({num_features}));
  } else {
    register_parameter("weight", Tensor());
    register_parameter("bias", Tensor());
  }
  if (track_running_stats) {
    running_mean = register_buffer("running_mean", zeros({num_features}));
    running_var = register_buffer("running_var", ones({num_features}));
    num_batches_tracked = register_buffer("num_batches_tracked", scalar_tensor(0, DType::Int64));
  } else {
    register_buffer("running_mean", Tensor());
    register_buffer("running_var", Tensor());
    register_buffer("num_batches_tracked", Tensor());
  }
}

Tensor BatchNormBase::forward(const Tensor& x) { return forward_impl(x, false, Tensor()); }
Tensor BatchNormBase::forward_prelu(const Tensor& x, const Tensor& alpha) { return forward_impl(x, true, alpha); }
Tensor BatchNormBase::forward_relu(const Tensor& x) { return forward_impl(x, true, Tensor()); }
Tensor BatchNormBase::forward_add(const Tensor& x, const Tensor& residual) {
  return forward_impl(x, false, Tensor(), residual);
}

Tensor BatchNormBase::forward_impl(const Tensor& x, bool act, const Tensor& alpha, const Tensor& residual) {
  check_input_dim(x);
  FK_CHECK(x.size(1) == num_features, type_name(), "(", num_features, "): input ", shape_str(x.shape()), " has ",
           x.size(1), " channels in dim 1");
  double factor = momentum.value_or(0.0);
  if (is_training() && track_running_stats) {
    Tensor count = num_batches_tracked;
    ops::fill_(count, count.item() + 1);
    if (!momentum) factor = 1.0 / count.item();  // cumulative moving average
  }
  // eval without running statistics normalises with the batch statistics, as PyTorch
  bool use_batch_stats = is_training() || !running_mean.defined();
  bool pass_running = !is_training() || track_running_stats;
  Tensor rm = pass_running ? running_mean : Tensor(), rv = pass_running ? running_var : Tensor();
  if (residual.defined()) return batch_norm_add(x, weight, bias, rm, rv, use_batch_stats, factor, eps, residual);
  if (!act) return batch_norm(x, weight, bias, rm, rv, use_batch_stats, factor, eps);
  return batch_norm_act(x, weight, bias, rm, rv, use_batch_stats, factor, eps, alpha);
}

std::string BatchNormBase::extra_repr() const {
  return std::to_string(num_features) + ", eps=" + py_float(eps) +
         ", momentum=" + (momentum ? py_float(*momentum) : std::string("None")) + ", affine=" + py_bool(affine) +
         ", track_running_stats=" + py_bool(track_running_stats);
}

Tensor BatchNormBase::value_for_missing(const std::string& local_name) const {
  if (local_name == "num_batches_tracked" && track_running_stats) return scalar_tensor(0, DType::Int64);
  return Tensor();
}

void BatchNorm1d::check_input_dim(const Tensor& x) const {
  FK_CHECK(x.dim() == 2 || x.dim() == 3, "BatchNorm1d: expected 2D or 3D input (got ", x.dim(), "D input ",
           shape_str(x.shape()), ")");
}

void BatchNorm2d::check_input_dim(const Tensor& x) const {
  FK_CHECK(x.dim() == 4, "BatchNorm2d: expected 4D input (got ", x.dim(), "D input ", shape_str(x.shape()), ")");
}

bool fuses_with_activation(const Module& bn, const Module& act) {
  const auto* b = dynamic_cast<const BatchNormBase*>(&bn);
  if (!b || !b->is_training() || bn.has_forward_hooks(false) || act.has_forward_hooks(false)) return false;
  return dynamic_cast<const PReLU*>(&act) || dynamic_cast<const ReLU*>(&act);
}

Tensor batch_norm_activation(Module& bn, Module& act, const Tensor& x) {
  if (!fuses_with_activation(bn, act)) return act(bn(x));
  auto& b = static_cast<BatchNormBase&>(bn);
  const auto* prelu = dynamic_cast<const PReLU*>(&act);
  return prelu ? b.forward_prelu(x, prelu->weight) : b.forward_relu(x);
}

bool fuses_with_residual(const Module& bn) {
  const auto* b = dynamic_cast<const BatchNormBase*>(&bn);
  return b && b->is_training() && !bn.has_forward_hooks(false);
}

Tensor batch_norm_residual(Module& bn, const Tensor& x, const Tensor& residual) {
  if (!fuses_with_residual(bn)) return add(bn(x), residual);
  return static_cast<BatchNormBase&>(bn).forward_add(x, residual);
}

}  // namespace fk
