// BatchNorm1d / BatchNorm2d (torch.nn.BatchNorm1d/2d): y = (x - mean) / sqrt(var + eps) * weight + bias
// per channel (dim 1). Training normalises with the batch statistics and updates
//   running = (1 - m) * running + m * batch_stat  (running_var with the unbiased variance),
// m = momentum, or 1/num_batches_tracked (a cumulative average) when momentum is nullopt (None);
// eval uses the running statistics. State keys: weight, bias (affine), running_mean, running_var,
// num_batches_tracked (int64, 0-d) (track_running_stats). Init: weight 1, bias 0, mean 0, var 1.
// Prints as `BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)`.
// Tests: tests/layers/test_layers.cpp ("batchnorm: ...").
#pragma once

#include <optional>

#include "layers/module.h"

namespace fk {

class BatchNormBase : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  // forward, then PReLU with slopes `alpha` / ReLU, in one fused op on the CPU (batch_norm_act): what
  // Sequential and the models call for a BatchNorm followed by its activation (no hooks run here).
  Tensor forward_prelu(const Tensor& x, const Tensor& alpha);
  Tensor forward_relu(const Tensor& x);
  // forward(x) + residual in one fused op on the CPU (batch_norm_add): what Sequential::forward_add and
  // the models call for a block's last BatchNorm and its shortcut (no hooks run here).
  Tensor forward_add(const Tensor& x, const Tensor& residual);
  std::string extra_repr() const override;

  int64_t num_features;
  double eps;
  std::optional<double> momentum;  // nullopt: cumulative moving average (PyTorch's momentum=None)
  bool affine, track_running_stats;
  Tensor weight, bias;                                    // (C), undefined unless affine
  Tensor running_mean, running_var, num_batches_tracked;  // undefined unless track_running_stats

 protected:
  BatchNormBase(int64_t num_features, double eps, std::optional<double> momentum, bool affine,
                bool track_running_stats);
  // throws PyTorch's "expected 4D input (got 3D input)" for a wrong rank
  virtual void check_input_dim(const Tensor& x) const = 0;
  Tensor value_for_missing(const std::string& local_name) const override;

 private:
  Tensor forward_impl(const Tensor& x, bool act, const Tensor& alpha, const Tensor& residual = Tensor());
};

class BatchNorm1d : public BatchNormBase {
 public:
  explicit BatchNorm1d(int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                       bool affine = true, bool track_running_stats = true)
      : BatchNormBase(num_features, eps, momentum, affine, track_running_stats) {}

 protected:
  void check_input_dim(const Tensor& x) const override;  // (N, C) or (N, C, L)
};

class BatchNorm2d : public BatchNormBase {
 public:
  explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                       bool affine = true, bool track_running_stats = true)
      : BatchNormBase(num_features, eps, momentum, affine, track_running_stats) {}

 protected:
  void check_input_dim(const Tensor& x) const override;  // (N, C, H, W)
};

// Whether act(bn(x)) runs as one fused op: bn a BatchNorm in training, act a PReLU (per-channel or
// shared slope) or ReLU, neither with forward hooks (they would not fire).
bool fuses_with_activation(const Module& bn, const Module& act);
// act(bn(x)): BatchNormBase::forward_prelu / forward_relu when fuses_with_activation, else the two
// modules through their operator(). What Sequential and the models' blocks call for such pairs.
Tensor batch_norm_activation(Module& bn, Module& act, const Tensor& x);
// Whether bn(x) + residual runs as one fused op: bn a BatchNorm in training without forward hooks.
bool fuses_with_residual(const Module& bn);
// bn(x) + residual: BatchNormBase::forward_add when fuses_with_residual, else add(bn(x), residual).
Tensor batch_norm_residual(Module& bn, const Tensor& x, const Tensor& residual);

}  // namespace fk
