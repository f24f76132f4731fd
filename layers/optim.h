// Optimisers (torch.optim 1.13, the default single-tensor code path): SGD (momentum, dampening,
// Nesterov, weight decay), Adam and AdamW (bias-corrected moments, optional amsgrad), parameter groups,
// zero_grad, and checkpointable state. Helpers: sgd_bn_groups (egcode's "sgd_bn": no weight decay on
// BatchNorm parameters), clip_grad_norm_ / clip_grad_value_ (torch.nn.utils).
//
// Updates are in place on the parameter tensors (contiguous float32/float64), through the ops of
// tensor/optim_update.h. On the CPU a group is updated in one fused pass: its parameters' elements taken as one range, split evenly over the threads
// in one parallel region (not one small loop per tensor), with the group's state (momentum buffers,
// Adam's moments) in one flat buffer per field that each parameter's state tensor views. A group that
// cannot take that pass (parameters on several devices or dtypes, state that some parameters have and
// others not yet, Adam steps that differ) is updated one parameter at a time; both give the same bits.
// CUDA parameters get one fused kernel launch each (cuda/optim.cu). Every path calls the per-element
// functions of tensor/cpu/optim_math.h. The parameters and gradients themselves stay in their own
// storage: moving them into one buffer would make a saved state dict write the whole buffer for any one
// of them (the writer keeps shared storages, as torch does), and the pass is memory-bound either way. State tensors live on their parameter's device; state_dict() gives
// CPU copies and load_state_dict() moves them back to each parameter's device. A parameter with
// requires_grad false or without a .grad is skipped and gets no state (torch skips p.grad is None).
//
// State-dict format (an ordered StateDict; every scalar is a 0-d float64 tensor):
//   param_groups.<i>.lr, .weight_decay          group i's hyper-parameters
//   param_groups.<i>.initial_lr                 only once an LRScheduler has set it
//   param_groups.<i>.<option>                   the optimiser's options, e.g. momentum, dampening,
//                                               nesterov (0/1) for SGD; beta1, beta2, eps, amsgrad for Adam
//   state.<param name>.momentum_buffer          SGD with momentum (param's shape)
//   state.<param name>.step / exp_avg / exp_avg_sq [/ max_exp_avg_sq]   Adam, AdamW
// state_dict() returns copies (a snapshot); load_state_dict checks every key, shape and the group
// count before changing anything, and throws one line naming the first problem.
//
// Tests: tests/layers/test_optim.cpp (fixtures from tests/fixtures/make_optim.py), tests/cuda/test_optim.cpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "layers/module.h"
#include "tensor/cpu/optim_math.h"

namespace fk::optim {

// A hyper-parameter left as kUnset takes the optimiser's default (a group dict missing the key in torch).
inline constexpr double kUnset = std::numeric_limits<double>::quiet_NaN();
inline bool is_unset(double v) { return std::isnan(v); }

// One parameter group (torch's param_groups[i]). Names are the keys of the optimiser's state dict,
// normally Module::named_parameters() names; they must be unique across all groups.
struct ParamGroup {
  NamedTensors params;
  double lr = kUnset;
  double weight_decay = kUnset;
  double initial_lr = kUnset;  // set by the first LRScheduler built on the optimiser (torch's 'initial_lr')
};

// ---- the per-element updates (SgdCoefs, AdamCoefs, sgd_update_element, adam_update_element) are in
// tensor/cpu/optim_math.h, shared with the fused CUDA kernels (cuda/optim.cu).

// ---- the optimiser base (torch.optim.Optimizer)
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;  // holds per-parameter state: a copy would fork it silently
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that has a gradient (under autograd::NoGrad).
  void step();
  // Zeroes every .grad in place (torch's zero_grad(set_to_none=False); the CPU ones in one parallel
  // pass); set_to_none drops them instead.
  void zero_grad(bool set_to_none = false);

  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  // Appends a group (unset lr / weight_decay take the defaults); names must be new.
  void add_param_group(ParamGroup group);

  StateDict state_dict() const;
  void load_state_dict(const StateDict& sd);

  virtual std::string type_name() const = 0;  // "SGD", "Adam", "AdamW"

  // One parameter of a step: the tensor, its usable gradient (as update()'s p and g) and its state.
  struct Slot {
    Tensor p, g;
    StateDict* state;
  };

 protected:
  Optimizer(std::vector<ParamGroup> groups, double default_lr, double default_weight_decay);

  // Updates one parameter. p and g are contiguous tensors of the same dtype, shape and device; `state`
  // is the parameter's state (empty on its first update), field name -> tensor.
  virtual void update(const ParamGroup& group, Tensor& p, const Tensor& g, StateDict& state) = 0;
  // Updates all of a group's slots in one pass and returns true, or returns false without changing
  // anything when they do not allow it (then step() calls update() for each).
  virtual bool update_fused(const ParamGroup& group, const std::vector<Slot>& slots) = 0;
  // The optimiser-wide options saved in every group of the state dict, and their restore.
  virtual std::vector<std::pair<std::string, double>> options() const = 0;
  virtual void set_option(const std::string& name, double value) = 0;
  // The state fields every parameter with state holds (with the current options).
  virtual std::vector<std::string> state_fields() const = 0;

 private:
  const Tensor* find_param(const std::string& name) const;
  std::vector<ParamGroup> groups_;
  double default_lr_, default_weight_decay_;
  std::unordered_map<std::string, StateDict> state_;  // param name -> its state
};

// ---- SGD (torch.optim.SGD)
struct SGDOptions {
  double lr = kUnset;  // required (torch: lr has no default)
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  // throws when a group ends up without lr (neither SGDOptions.lr nor the group's), for a negative lr
  // or momentum, and for nesterov without momentum or with dampening (torch's checks)
  SGD(std::vector<ParamGroup> groups, const SGDOptions& options);
  SGD(const NamedTensors& params, const SGDOptions& options) : SGD(std::vector<ParamGroup>{{params}}, options) {}
  std::string type_name() const override { return "SGD"; }
  const SGDOptions& options_struct() const { return opt_; }

 protected:
  void update(const ParamGroup& group, Tensor& p, const Tensor& g, StateDict& state) override;
  bool update_fused(const ParamGroup& group, const std::vector<Slot>& slots) override;
  std::vector<std::pair<std::string, double>> options() const override;
  void set_option(const std::string& name, double value) override;
  std::vector<std::string> state_fields() const override;

 private:
  SGDOptions opt_;
};

// ---- Adam / AdamW (torch.optim.Adam, torch.optim.AdamW)
struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = kUnset;  // unset: 0 for Adam, 1e-2 for AdamW (torch's defaults)
  bool amsgrad = false;
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<ParamGroup> groups, const AdamOptions& options);
  Adam(const NamedTensors& params, const AdamOptions& options) : Adam(std::vector<ParamGroup>{{params}}, options) {}
  std::string type_name() const override { return decoupled_ ? "AdamW" : "Adam"; }
  const AdamOptions& options_struct() const { return opt_; }

 protected:
  Adam(std::vector<ParamGroup> groups, const AdamOptions& options, bool decoupled);
  void update(const ParamGroup& group, Tensor& p, const Tensor& g, StateDict& state) override;
  bool update_fused(const ParamGroup& group, const std::vector<Slot>& slots) override;
  std::vector<std::pair<std::string, double>> options() const override;
  void set_option(const std::string& name, double value) override;
  std::vector<std::string> state_fields() const override;

 private:
  AdamOptions opt_;
  bool decoupled_;  // AdamW: weight decay applied to the parameter, not added to the gradient
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<ParamGroup> groups, const AdamOptions& options) : Adam(std::move(groups), options, true) {}
  AdamW(const NamedTensors& params, const AdamOptions& options)
      : Adam(std::vector<ParamGroup>{{params}}, options, true) {}
};

// ---- helpers

// egcode's "sgd_bn" groups: [0] every parameter not in a BatchNorm module, with `weight_decay`;
// [1] the BatchNorm parameters (found by module type walking named_modules()), with weight decay 0.
// also_prelu_and_bias moves PReLU slopes and every `bias` into the no-decay group too. Names are
// `prefix` + named_parameters() names; lr is left unset (the optimiser's default). The module must be
// held by a std::shared_ptr. Frozen parameters are listed too (the optimiser skips them).
std::vector<ParamGroup> sgd_bn_groups(Module& module, double weight_decay, bool also_prelu_and_bias = false,
                                      const std::string& prefix = "");

// torch.nn.utils.clip_grad_norm_: total = the norm_type-norm of all gradients together (norm_type
// may be infinity); every gradient is multiplied by min(1, max_norm / (total + 1e-6)). Gradients may be
// on the CPU or a GPU (the norm is summed on the CPU in double, the scaling is in place). Tensors
// without a gradient are ignored. Returns the total norm (before clipping); 0 when no gradient.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0);
// torch.nn.utils.clip_grad_value_: every gradient element clamped to [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

// The tensors of a group list / named list, for the helpers above.
std::vector<Tensor> tensors_of(const NamedTensors& named);

}  // namespace fk::optim
