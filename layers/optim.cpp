// Optimisers and gradient helpers: see optim.h for the semantics and the state-dict format. The state
// (lazy initialisation, flat per-group buffers, steps, coefficients) is kept here; the updates
// themselves are the ops of tensor/optim_update.h, called with a whole group (update_fused) or one
// parameter (update).
#include "layers/optim.h"

#include <algorithm>
#include <unordered_set>

#include "autograd/node.h"
#include "layers/activation.h"
#include "layers/batchnorm.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"
#include "tensor/optim_update.h"
#include "tensor/shape_ops.h"

namespace fk::optim {

namespace {

Tensor scalar64(double v) { return scalar_tensor(v, DType::Float64); }

// The parameter checks every update needs: a defined, contiguous float32/float64 tensor (CPU or CUDA).
void check_param(const std::string& name, const Tensor& p) {
  FK_CHECK(p.defined(), "optim: parameter '", name, "' is undefined");
  FK_CHECK(is_compute_float(p.dtype()), "optim: parameter '", name, "' has dtype ", dtype_name(p.dtype()),
           "; expected float32 or float64");
  FK_CHECK(p.is_contiguous(), "optim: parameter '", name, "' is not contiguous");
}

// The gradient of `p` as a contiguous tensor of p's dtype and shape.
Tensor usable_grad(const std::string& name, const Tensor& p) {
  Tensor g = p.grad();
  FK_CHECK(g.shape() == p.shape(), "optim: parameter '", name, "' ", shape_str(p.shape()), " has a gradient of shape ",
           shape_str(g.shape()));
  FK_CHECK(g.device() == p.device(), "optim: parameter '", name, "' is on ", p.device().str(),
           " but its gradient on ", g.device().str());
  if (g.dtype() != p.dtype()) g = g.to(p.dtype());
  return g.contiguous();
}

// "state.<name>.<field>" -> {name, field}; the name may contain dots, the field never does.
bool split_state_key(const std::string& key, std::string& name, std::string& field) {
  const std::string prefix = "state.";
  if (key.rfind(prefix, 0) != 0) return false;
  size_t dot = key.rfind('.');
  if (dot <= prefix.size()) return false;
  name = key.substr(prefix.size(), dot - prefix.size());
  field = key.substr(dot + 1);
  return true;
}

// "param_groups.<i>.<field>" -> {i, field}
bool split_group_key(const std::string& key, size_t& index, std::string& field) {
  const std::string prefix = "param_groups.";
  if (key.rfind(prefix, 0) != 0) return false;
  size_t dot = key.find('.', prefix.size());
  if (dot == std::string::npos) return false;
  std::string digits = key.substr(prefix.size(), dot - prefix.size());
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return false;
  index = std::stoul(digits);
  field = key.substr(dot + 1);
  return !field.empty();
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Running sums of the tensors' element counts: starts[i] = elements before tensor i, back() = total.
std::vector<int64_t> element_starts(const std::vector<Tensor>& tensors) {
  std::vector<int64_t> starts{0};
  for (const Tensor& t : tensors) starts.push_back(starts.back() + t.numel());
  return starts;
}

}  // namespace

// ---------------------------------------------------------------- Optimizer

Optimizer::Optimizer(std::vector<ParamGroup> groups, double default_lr, double default_weight_decay)
    : default_lr_(default_lr), default_weight_decay_(default_weight_decay) {
  FK_CHECK(!groups.empty(), "optim: the optimiser got an empty parameter list");
  for (auto& g : groups) add_param_group(std::move(g));
}

void Optimizer::add_param_group(ParamGroup group) {
  FK_CHECK(!group.params.empty(), "optim: parameter group ", groups_.size(), " is empty");
  // every (name, tensor) seen so far, in earlier groups and earlier in this one
  NamedTensors seen;
  for (const auto& g : groups_) seen.insert(seen.end(), g.params.begin(), g.params.end());
  for (const auto& [name, p] : group.params) {
    check_param(name, p);
    for (const auto& [other, q] : seen) {
      FK_CHECK(other != name, "optim: parameter name '", name, "' is given twice");
      FK_CHECK(q.impl() != p.impl(), "optim: parameters '", other, "' and '", name, "' are the same tensor");
    }
    seen.emplace_back(name, p);
  }
  if (is_unset(group.lr)) group.lr = default_lr_;
  if (is_unset(group.weight_decay)) group.weight_decay = default_weight_decay_;
  FK_CHECK(!is_unset(group.lr), "optim: parameter group ", groups_.size(),
           " has no learning rate (set the group's lr or the optimiser's)");
  FK_CHECK(group.lr >= 0, "optim: invalid learning rate ", group.lr, " in group ", groups_.size());
  FK_CHECK(group.weight_decay >= 0, "optim: invalid weight_decay ", group.weight_decay, " in group ", groups_.size());
  groups_.push_back(std::move(group));
}

const Tensor* Optimizer::find_param(const std::string& name) const {
  for (const auto& g : groups_)
    for (const auto& [n, p] : g.params)
      if (n == name) return &p;
  return nullptr;
}

void Optimizer::step() {
  autograd::NoGrad no_grad;
  for (const auto& group : groups_) {
    std::vector<Slot> slots;
    for (const auto& [name, param] : group.params) {
      if (!param.requires_grad() || !param.grad().defined()) continue;  // frozen, or no gradient reached it
      check_param(name, param);
      slots.push_back({param, usable_grad(name, param), &state_[name]});  // map references stay valid
    }
    if (slots.empty() || update_fused(group, slots)) continue;
    for (Slot& s : slots) update(group, s.p, s.g, *s.state);
  }
}

void Optimizer::zero_grad(bool set_to_none) {
  std::vector<Tensor> cpu_grads;  // zeroed together below
  for (const auto& group : groups_) {
    for (const auto& [name, param] : group.params) {
      Tensor p = param;
      Tensor g = p.grad();
      if (!g.defined()) continue;
      if (set_to_none) {
        p.zero_grad();
      } else if (g.is_contiguous() && g.device().is_cpu()) {
        cpu_grads.push_back(g);
      } else {
        p.set_grad(zeros(g.shape(), g.dtype(), g.device()));
      }
    }
  }
  ops::zero_(cpu_grads);  // one parallel pass
}

namespace {
// The fused pass's precondition: every slot on the CPU, in one dtype.
bool one_cpu_dtype(const std::vector<Optimizer::Slot>& slots) {
  return std::all_of(slots.begin(), slots.end(), [&](const Optimizer::Slot& s) {
    return s.p.device().is_cpu() && s.p.dtype() == slots[0].p.dtype();
  });
}

std::vector<Tensor> params_of(const std::vector<Optimizer::Slot>& slots) {
  std::vector<Tensor> out;
  for (const auto& s : slots) out.push_back(s.p);
  return out;
}

std::vector<Tensor> grads_of(const std::vector<Optimizer::Slot>& slots) {
  std::vector<Tensor> out;
  for (const auto& s : slots) out.push_back(s.g);
  return out;
}

std::vector<Tensor> state_of(const std::vector<Optimizer::Slot>& slots, const std::string& field) {
  std::vector<Tensor> out;
  for (const auto& s : slots) out.push_back(s.state->at(field));
  return out;
}

// How many slots hold state field `field`.
size_t count_with(const std::vector<Optimizer::Slot>& slots, const std::string& field) {
  return size_t(std::count_if(slots.begin(), slots.end(), [&](const auto& s) { return s.state->contains(field); }));
}

// Whether every slot's `field` is a contiguous CPU tensor of its parameter's dtype and shape (what the
// fused loops read; anything else goes to update(), which names the problem).
bool state_usable(const std::vector<Optimizer::Slot>& slots, const std::string& field) {
  return std::all_of(slots.begin(), slots.end(), [&](const auto& s) {
    const Tensor& t = s.state->at(field);
    return t.device().is_cpu() && t.dtype() == s.p.dtype() && t.is_contiguous() && t.shape() == s.p.shape();
  });
}

// Zero state `field` for every slot: views into one flat buffer, so a group's state is one block.
void add_flat_state(const std::vector<Optimizer::Slot>& slots, const std::vector<int64_t>& starts,
                    const std::string& field) {
  Tensor flat = zeros({starts.back()}, slots[0].p.dtype(), Device::cpu());
  for (size_t i = 0; i < slots.size(); ++i)
    slots[i].state->set(field, view(slice(flat, 0, starts[i], starts[i + 1]), slots[i].p.shape()));
}
}  // namespace

StateDict Optimizer::state_dict() const {
  StateDict sd;
  for (size_t i = 0; i < groups_.size(); ++i) {
    const ParamGroup& g = groups_[i];
    std::string prefix = "param_groups." + std::to_string(i) + ".";
    sd.set(prefix + "lr", scalar64(g.lr));
    sd.set(prefix + "weight_decay", scalar64(g.weight_decay));
    if (!is_unset(g.initial_lr)) sd.set(prefix + "initial_lr", scalar64(g.initial_lr));
    for (const auto& [opt, v] : options()) sd.set(prefix + opt, scalar64(v));
  }
  // parameters in group order, each with its fields in the optimiser's order
  for (const auto& g : groups_) {
    for (const auto& [name, p] : g.params) {
      auto it = state_.find(name);
      if (it == state_.end() || it->second.empty()) continue;
      // a snapshot on the CPU (to() of a CUDA tensor is already a copy)
      for (const auto& [field, t] : it->second)
        sd.set("state." + name + "." + field, t.device().is_cpu() ? t.clone() : t.to(Device::cpu()));
    }
  }
  return sd;
}

void Optimizer::load_state_dict(const StateDict& sd) {
  const std::string where = "optim: " + type_name() + ".load_state_dict: ";
  // 1. the groups: exactly as many as this optimiser has, each with every hyper-parameter
  std::vector<std::string> group_fields = {"lr", "weight_decay", "initial_lr"};
  for (const auto& [opt, v] : options()) group_fields.push_back(opt);
  std::vector<std::unordered_map<std::string, double>> group_values(groups_.size());
  for (const auto& [key, t] : sd) {
    size_t i;
    std::string field;
    if (!split_group_key(key, i, field)) continue;
    FK_CHECK(i < groups_.size(), where, "key '", key, "' names group ", i, " but the optimiser has ", groups_.size(),
             " group(s)");
    FK_CHECK(contains(group_fields, field), where, "unknown group hyper-parameter '", key, "'");
    FK_CHECK(t.numel() == 1, where, "'", key, "' has shape ", shape_str(t.shape()), "; expected a scalar");
    group_values[i][field] = t.item();
  }
  for (size_t i = 0; i < groups_.size(); ++i) {
    for (const auto& field : group_fields) {
      if (field == "initial_lr") continue;
      FK_CHECK(group_values[i].count(field), where, "missing key 'param_groups.", i, ".", field, "'");
      FK_CHECK(group_values[i][field] == group_values[0][field] || field == "lr" || field == "weight_decay", where,
               "option '", field, "' differs between groups 0 and ", i, " (facekit keeps one value per optimiser)");
    }
  }
  // 2. the per-parameter state: known names and fields, the parameter's shape, complete sets
  std::unordered_map<std::string, StateDict> new_state;
  std::vector<std::string> fields_now;  // the fields required under the loaded options
  {
    // which fields exist depends on the options (amsgrad adds max_exp_avg_sq): ask state_fields()
    // under the loaded options, then put the current ones back until everything is checked
    auto saved = options();
    for (const auto& [opt, v] : saved) set_option(opt, group_values[0][opt]);
    fields_now = state_fields();
    for (const auto& [opt, v] : saved) set_option(opt, v);
  }
  for (const auto& [key, t] : sd) {
    size_t i;
    std::string group_field;
    if (split_group_key(key, i, group_field)) continue;
    std::string name, field;
    FK_CHECK(split_state_key(key, name, field), where, "unexpected key '", key,
             "' (expected state.<param>.<field> or param_groups.<i>.<field>)");
    const Tensor* p = find_param(name);
    FK_CHECK(p != nullptr, where, "key '", key, "' names parameter '", name, "', which this optimiser does not hold");
    FK_CHECK(contains(fields_now, field), where, "unknown state field in '", key, "' for ", type_name());
    Shape want = field == "step" ? Shape{} : p->shape();
    FK_CHECK(t.shape() == want, where, "'", key, "' has shape ", shape_str(t.shape()), ", expected ",
             shape_str(want));
    // "step" stays a CPU scalar (as torch's default); the moments go to the parameter's device
    DType dtype = field == "step" ? DType::Float64 : p->dtype();
    Tensor v = t.to(Device::cpu()).to(dtype).clone();
    new_state[name].set(field, field == "step" ? v : v.to(p->device()));
  }
  for (const auto& [name, st] : new_state)
    for (const auto& field : fields_now)
      FK_CHECK(st.contains(field), where, "missing key 'state.", name, ".", field, "'");
  // 3. everything checked: apply
  for (const auto& [opt, v] : options()) set_option(opt, group_values[0][opt]);
  for (size_t i = 0; i < groups_.size(); ++i) {
    groups_[i].lr = group_values[i]["lr"];
    groups_[i].weight_decay = group_values[i]["weight_decay"];
    groups_[i].initial_lr = group_values[i].count("initial_lr") ? group_values[i]["initial_lr"] : kUnset;
  }
  // re-insert each parameter's fields in the optimiser's own order
  state_.clear();
  for (auto& [name, st] : new_state) {
    StateDict ordered;
    for (const auto& field : fields_now) ordered.set(field, st.at(field));
    state_[name] = ordered;
  }
}

// ---------------------------------------------------------------- SGD

SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& options)
    : Optimizer(std::move(groups), options.lr, options.weight_decay), opt_(options) {
  FK_CHECK(options.momentum >= 0, "optim: SGD: invalid momentum ", options.momentum);
  FK_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0),
           "optim: SGD: Nesterov momentum requires a momentum and zero dampening");
}

std::vector<std::pair<std::string, double>> SGD::options() const {
  return {{"momentum", opt_.momentum}, {"dampening", opt_.dampening}, {"nesterov", opt_.nesterov ? 1.0 : 0.0}};
}

void SGD::set_option(const std::string& name, double value) {
  if (name == "momentum") opt_.momentum = value;
  if (name == "dampening") opt_.dampening = value;
  if (name == "nesterov") opt_.nesterov = value != 0;
}

std::vector<std::string> SGD::state_fields() const {
  if (opt_.momentum == 0) return {};
  return {"momentum_buffer"};
}

namespace {

SgdCoefs<double> sgd_coefs(const ParamGroup& group, const SGDOptions& o) {
  return {group.lr, group.weight_decay, o.momentum, 1 - o.dampening, group.weight_decay != 0, o.momentum != 0,
          o.nesterov};
}

}  // namespace

void SGD::update(const ParamGroup& group, Tensor& p, const Tensor& g, StateDict& state) {
  const bool momentum = opt_.momentum != 0;
  Tensor buffer;
  bool first_step = false;
  if (momentum) {
    first_step = !state.contains("momentum_buffer");
    if (first_step) state.set("momentum_buffer", zeros(p.shape(), p.dtype(), p.device()));
    buffer = state.at("momentum_buffer");
    FK_CHECK(buffer.dtype() == p.dtype(), "optim: SGD: momentum buffer dtype ", dtype_name(buffer.dtype()),
             " differs from its parameter's ", dtype_name(p.dtype()));
    FK_CHECK(buffer.device() == p.device() && buffer.is_contiguous(), "optim: SGD: momentum buffer on ",
             buffer.device().str(), " must be contiguous on its parameter's ", p.device().str());
  }
  ops::sgd_update({p}, {g}, momentum ? std::vector<Tensor>{buffer} : std::vector<Tensor>{}, first_step,
                  sgd_coefs(group, opt_));
}

bool SGD::update_fused(const ParamGroup& group, const std::vector<Slot>& slots) {
  if (!one_cpu_dtype(slots)) return false;
  const bool momentum = opt_.momentum != 0;
  bool first_step = false;
  const std::vector<int64_t> starts = element_starts(params_of(slots));
  if (momentum) {
    size_t with = count_with(slots, "momentum_buffer");
    if (with != 0 && (with != slots.size() || !state_usable(slots, "momentum_buffer"))) return false;
    first_step = with == 0;
    if (first_step) add_flat_state(slots, starts, "momentum_buffer");
  }
  ops::sgd_update(params_of(slots), grads_of(slots), momentum ? state_of(slots, "momentum_buffer") : std::vector<Tensor>{},
                  first_step, sgd_coefs(group, opt_));
  return true;
}

// ---------------------------------------------------------------- Adam / AdamW

Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& options) : Adam(std::move(groups), options, false) {}

Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& options, bool decoupled)
    : Optimizer(std::move(groups), options.lr,
                is_unset(options.weight_decay) ? (decoupled ? 1e-2 : 0.0) : options.weight_decay),
      opt_(options),
      decoupled_(decoupled) {
  const char* name = decoupled ? "AdamW" : "Adam";
  FK_CHECK(options.eps >= 0, "optim: ", name, ": invalid epsilon value ", options.eps);
  FK_CHECK(options.beta1 >= 0 && options.beta1 < 1, "optim: ", name, ": invalid beta parameter at index 0: ",
           options.beta1);
  FK_CHECK(options.beta2 >= 0 && options.beta2 < 1, "optim: ", name, ": invalid beta parameter at index 1: ",
           options.beta2);
  if (is_unset(opt_.weight_decay)) opt_.weight_decay = decoupled ? 1e-2 : 0.0;
}

std::vector<std::pair<std::string, double>> Adam::options() const {
  return {{"beta1", opt_.beta1}, {"beta2", opt_.beta2}, {"eps", opt_.eps}, {"amsgrad", opt_.amsgrad ? 1.0 : 0.0}};
}

void Adam::set_option(const std::string& name, double value) {
  if (name == "beta1") opt_.beta1 = value;
  if (name == "beta2") opt_.beta2 = value;
  if (name == "eps") opt_.eps = value;
  if (name == "amsgrad") opt_.amsgrad = value != 0;
}

std::vector<std::string> Adam::state_fields() const {
  std::vector<std::string> f = {"step", "exp_avg", "exp_avg_sq"};
  if (opt_.amsgrad) f.push_back("max_exp_avg_sq");
  return f;
}

namespace {
AdamCoefs<double> adam_coefs(const ParamGroup& group, const AdamOptions& o, bool decoupled, double step) {
  // torch computes these in Python floats (double): beta ** step with step = step_t.item()
  double bias_correction1 = 1 - std::pow(o.beta1, step);
  double bias_correction2 = 1 - std::pow(o.beta2, step);
  double step_size = group.lr / bias_correction1;
  AdamCoefs<double> c;
  c.beta1 = o.beta1;
  c.one_minus_beta1 = 1 - o.beta1;
  c.beta2 = o.beta2;
  c.one_minus_beta2 = 1 - o.beta2;
  c.eps = o.eps;
  c.weight_decay = group.weight_decay;
  c.decoupled_decay = decoupled ? 1 - group.lr * group.weight_decay : 1.0;
  c.bias_correction2_sqrt = std::sqrt(bias_correction2);
  c.neg_step_size = -step_size;
  c.use_weight_decay = !decoupled && group.weight_decay != 0;
  c.amsgrad = o.amsgrad;
  return c;
}

}  // namespace

void Adam::update(const ParamGroup& group, Tensor& p, const Tensor& g, StateDict& state) {
  // lazy state initialisation, as torch: step 0, zero moments
  if (!state.contains("step")) {
    state.set("step", scalar64(0));
    state.set("exp_avg", zeros(p.shape(), p.dtype(), p.device()));
    state.set("exp_avg_sq", zeros(p.shape(), p.dtype(), p.device()));
  }
  if (opt_.amsgrad && !state.contains("max_exp_avg_sq"))
    state.set("max_exp_avg_sq", zeros(p.shape(), p.dtype(), p.device()));
  for (const auto& [field, t] : state) {
    if (field == "step") continue;
    FK_CHECK(t.dtype() == p.dtype(), "optim: ", type_name(), ": state '", field, "' has dtype ",
             dtype_name(t.dtype()), ", its parameter ", dtype_name(p.dtype()));
    FK_CHECK(t.device() == p.device() && t.is_contiguous(), "optim: ", type_name(), ": state '", field, "' on ",
             t.device().str(), " must be contiguous on its parameter's ", p.device().str());
  }
  double& step = state.at("step").data<double>()[0];  // a CPU scalar on every device
  step += 1;
  const AdamCoefs<double> c = adam_coefs(group, opt_, decoupled_, step);
  ops::adam_update({p}, {g}, {state.at("exp_avg")}, {state.at("exp_avg_sq")},
                   opt_.amsgrad ? std::vector<Tensor>{state.at("max_exp_avg_sq")} : std::vector<Tensor>{}, c);
}

bool Adam::update_fused(const ParamGroup& group, const std::vector<Slot>& slots) {
  if (!one_cpu_dtype(slots)) return false;
  // every slot at the same step (the bias corrections are per step), with every moment usable
  const size_t with = count_with(slots, "step");
  if (with != 0 && with != slots.size()) return false;
  std::vector<std::string> moments = {"exp_avg", "exp_avg_sq"};
  if (opt_.amsgrad) moments.push_back("max_exp_avg_sq");
  if (with != 0) {
    const double step0 = slots[0].state->at("step").item();
    for (const Slot& s : slots)
      if (s.state->at("step").item() != step0) return false;
    for (const auto& field : moments) {
      size_t n = count_with(slots, field);
      bool lazily_added = field == "max_exp_avg_sq" && n == 0;  // amsgrad switched on: update() adds it too
      if (!lazily_added && (n != slots.size() || !state_usable(slots, field))) return false;
    }
  }
  const std::vector<int64_t> starts = element_starts(params_of(slots));
  if (with == 0)
    for (const Slot& s : slots) s.state->set("step", scalar64(0));  // lazy initialisation, as update()
  for (const auto& field : moments)
    if (!slots[0].state->contains(field)) add_flat_state(slots, starts, field);
  double step = 0;
  for (const Slot& s : slots) step = ++s.state->at("step").data<double>()[0];
  ops::adam_update(params_of(slots), grads_of(slots), state_of(slots, "exp_avg"), state_of(slots, "exp_avg_sq"),
                   opt_.amsgrad ? state_of(slots, "max_exp_avg_sq") : std::vector<Tensor>{},
                   adam_coefs(group, opt_, decoupled_, step));
  return true;
}

// ---------------------------------------------------------------- helpers

std::vector<ParamGroup> sgd_bn_groups(Module& module, double weight_decay, bool also_prelu_and_bias,
                                      const std::string& prefix) {
  ParamGroup decay, no_decay;
  decay.weight_decay = weight_decay;
  no_decay.weight_decay = 0;
  std::unordered_set<const TensorImpl*> seen;  // a shared parameter is listed once, as named_parameters()
  for (const auto& [module_name, m] : module.named_modules()) {
    bool is_bn = dynamic_cast<const BatchNormBase*>(m.get()) != nullptr;
    bool is_prelu = dynamic_cast<const PReLU*>(m.get()) != nullptr;
    for (const auto& [local, p] : m->named_parameters(/*recurse=*/false)) {
      if (!seen.insert(p.impl()).second) continue;
      std::string name = prefix + (module_name.empty() ? local : module_name + "." + local);
      bool skip_decay = is_bn || (also_prelu_and_bias && (is_prelu || local == "bias"));
      (skip_decay ? no_decay : decay).params.emplace_back(name, p);
    }
  }
  return {decay, no_decay};
}

std::vector<Tensor> tensors_of(const NamedTensors& named) {
  std::vector<Tensor> out;
  for (const auto& [name, t] : named) out.push_back(t);
  return out;
}

namespace {
// Each gradient of `params` (those that have one), contiguous float32/float64 (CPU or CUDA).
std::vector<Tensor> grads_of(const std::vector<Tensor>& params, const char* fn) {
  std::vector<Tensor> out;
  for (const auto& p : params) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    FK_CHECK(g.is_contiguous() && is_compute_float(g.dtype()), "optim: ", fn,
             ": gradients must be contiguous float32/float64 tensors (got ", g.str(), ")");
    out.push_back(g);
  }
  return out;
}

}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type) {
  std::vector<Tensor> grads = grads_of(params, "clip_grad_norm_");
  if (grads.empty()) return 0.0;
  FK_CHECK(norm_type > 0, "optim: clip_grad_norm_: norm_type must be positive (got ", norm_type, ")");
  // total = (sum over all elements |g|^p)^(1/p), or max |g| for p = inf (accumulated in double)
  bool inf = std::isinf(norm_type);
  double acc = 0;
  for (const auto& g : grads) {
    for (double x : g.to_vector<double>()) {
      double a = std::abs(x);
      acc = inf ? std::max(acc, a) : acc + std::pow(a, norm_type);
    }
  }
  double total = inf ? acc : std::pow(acc, 1.0 / norm_type);
  // torch: clip_coef = max_norm / (total + 1e-6), clamped to at most 1, applied to every gradient
  double coef = std::min(max_norm / (total + 1e-6), 1.0);
  ops::clip_scale_(grads, coef);
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  ops::clip_value_(grads_of(params, "clip_grad_value_"), clip_value);
}

}  // namespace fk::optim
