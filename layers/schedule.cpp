// Learning-rate schedules: see schedule.h. Every formula is written in the same operation order as
// torch/optim/lr_scheduler.py (1.13), so that the doubles agree to the last bit.
#include "layers/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "tensor/creation.h"

namespace fk::optim {

namespace {

Tensor scalar64(double v) { return scalar_tensor(v, DType::Float64); }
Tensor vector64(const std::vector<double>& v) { return tensor(v, {int64_t(v.size())}, DType::Float64); }

// Python's a % b for b > 0 (never negative, unlike C++'s %)
int64_t py_mod(int64_t a, int64_t b) { return ((a % b) + b) % b; }

// Python's bisect_right: how many of the sorted `v` are <= x
int64_t bisect_right(const std::vector<int64_t>& v, int64_t x) {
  return int64_t(std::upper_bound(v.begin(), v.end(), x) - v.begin());
}

std::vector<double> read_vector(const StateDict& sd, const std::string& key, size_t n, const std::string& where) {
  FK_CHECK(sd.contains(key), where, "missing key '", key, "'");
  const Tensor& t = sd.at(key);
  FK_CHECK(t.dim() == 1 && size_t(t.numel()) == n, where, "'", key, "' has shape ", shape_str(t.shape()),
           ", expected [", n, "] (one value per parameter group)");
  return t.to_vector<double>();
}

double read_scalar(const StateDict& sd, const std::string& key, const std::string& where) {
  FK_CHECK(sd.contains(key), where, "missing key '", key, "'");
  const Tensor& t = sd.at(key);
  FK_CHECK(t.numel() == 1, where, "'", key, "' has shape ", shape_str(t.shape()), ", expected a scalar");
  return t.item();
}

// The entries of `sd` not under "schedulers." (a SequentialLR's own keys).
StateDict sub_dict_without_children(const StateDict& sd) {
  StateDict out;
  for (const auto& [key, t] : sd)
    if (key.rfind("schedulers.", 0) != 0) out.set(key, t);
  return out;
}

}  // namespace

// ---------------------------------------------------------------- LRScheduler

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
  // group.setdefault('initial_lr', group['lr']): the first scheduler on an optimiser fixes base_lrs
  for (auto& g : optimizer_.param_groups()) {
    if (is_unset(g.initial_lr)) g.initial_lr = g.lr;
    base_lrs_.push_back(g.initial_lr);
  }
}

void LRScheduler::initial_step() {
  step_count_ = 0;
  step();
}

std::vector<double> LRScheduler::group_lrs() const {
  std::vector<double> out;
  for (const auto& g : optimizer_.param_groups()) out.push_back(g.lr);
  return out;
}

void LRScheduler::set_lrs(const std::vector<double>& lrs) {
  auto& groups = optimizer_.param_groups();
  FK_CHECK(lrs.size() == groups.size(), "schedule: ", lrs.size(), " learning rates for ", groups.size(),
           " parameter groups (a group was added after the scheduler was built)");
  for (size_t i = 0; i < groups.size(); ++i) groups[i].lr = lrs[i];
  last_lr_ = lrs;
}

void LRScheduler::step() {
  ++step_count_;  // before get_lr, as torch (CosineAnnealingLR reads it)
  ++last_epoch_;
  set_lrs(get_lr());
}

void LRScheduler::step_to(int64_t epoch) {
  ++step_count_;
  last_epoch_ = epoch;
  set_lrs(closed_form_lr());
}

StateDict LRScheduler::state_dict() const {
  StateDict sd;
  sd.set("last_epoch", scalar64(double(last_epoch_)));
  sd.set("step_count", scalar64(double(step_count_)));
  sd.set("base_lrs", vector64(base_lrs_));
  sd.set("last_lr", vector64(last_lr_));
  for (const auto& [name, v] : hyper_params()) sd.set(name, scalar64(v));
  return sd;
}

void LRScheduler::load_state_dict(const StateDict& sd) {
  const std::string where = "schedule: load_state_dict: ";
  size_t n = optimizer_.param_groups().size();
  std::vector<std::string> known = {"last_epoch", "step_count", "base_lrs", "last_lr"};
  for (const auto& [name, v] : hyper_params()) {
    known.push_back(name);
    double saved = read_scalar(sd, name, where);
    FK_CHECK(saved == v, where, "hyper-parameter '", name, "' is ", saved, " in the state dict but ", v,
             " in this scheduler");
  }
  for (const auto& [key, t] : sd)
    FK_CHECK(std::find(known.begin(), known.end(), key) != known.end(), where, "unexpected key '", key, "'");
  int64_t last_epoch = int64_t(read_scalar(sd, "last_epoch", where));
  int64_t step_count = int64_t(read_scalar(sd, "step_count", where));
  std::vector<double> base_lrs = read_vector(sd, "base_lrs", n, where);
  std::vector<double> last_lr = read_vector(sd, "last_lr", n, where);
  last_epoch_ = last_epoch;
  step_count_ = step_count;
  base_lrs_ = base_lrs;
  last_lr_ = last_lr;
}

// ---------------------------------------------------------------- StepLR

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  FK_CHECK(step_size > 0, "schedule: StepLR: step_size must be positive (got ", step_size, ")");
  initial_step();
}

std::vector<double> StepLR::get_lr() const {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0 || last_epoch_ % step_size_ != 0) return lrs;
  for (double& lr : lrs) lr = lr * gamma_;
  return lrs;
}

std::vector<double> StepLR::closed_form_lr() const {
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(base * std::pow(gamma_, double(last_epoch_ / step_size_)));
  return lrs;
}

std::vector<std::pair<std::string, double>> StepLR::hyper_params() const {
  return {{"step_size", double(step_size_)}, {"gamma", gamma_}};
}

// ---------------------------------------------------------------- MultiStepLR

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
  initial_step();
}

std::vector<double> MultiStepLR::get_lr() const {
  std::vector<double> lrs = group_lrs();
  auto count = std::count(milestones_.begin(), milestones_.end(), last_epoch_);  // torch's Counter
  if (count == 0) return lrs;
  for (double& lr : lrs) lr = lr * std::pow(gamma_, double(count));
  return lrs;
}

std::vector<double> MultiStepLR::closed_form_lr() const {
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(base * std::pow(gamma_, double(bisect_right(milestones_, last_epoch_))));
  return lrs;
}

std::vector<std::pair<std::string, double>> MultiStepLR::hyper_params() const {
  std::vector<std::pair<std::string, double>> out = {{"gamma", gamma_}};
  for (size_t i = 0; i < milestones_.size(); ++i) out.emplace_back("milestones." + std::to_string(i), double(milestones_[i]));
  return out;
}

// ---------------------------------------------------------------- CosineAnnealingLR

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min)
    : LRScheduler(optimizer), T_max_(T_max), eta_min_(eta_min) {
  FK_CHECK(T_max > 0, "schedule: CosineAnnealingLR: T_max must be positive (got ", T_max, ")");
  initial_step();
}

std::vector<double> CosineAnnealingLR::get_lr() const {
  const double pi = std::numbers::pi;
  const double T = double(T_max_), e = double(last_epoch_);
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0) return lrs;
  if (step_count_ == 1 && last_epoch_ > 0) return closed_form_lr();  // first step of a resumed schedule
  for (size_t i = 0; i < lrs.size(); ++i) {
    double base = base_lrs_[i];
    if (py_mod(last_epoch_ - 1 - T_max_, 2 * T_max_) == 0) {
      // the bottom of a period: step up from eta_min by the first decrement's size
      lrs[i] = lrs[i] + (base - eta_min_) * (1 - std::cos(pi / T)) / 2;
    } else {
      // ratio of consecutive (1 + cos) terms applied to the distance above eta_min
      lrs[i] = (1 + std::cos(pi * e / T)) / (1 + std::cos(pi * (e - 1) / T)) * (lrs[i] - eta_min_) + eta_min_;
    }
  }
  return lrs;
}

std::vector<double> CosineAnnealingLR::closed_form_lr() const {
  const double pi = std::numbers::pi;
  std::vector<double> lrs;
  for (double base : base_lrs_)
    lrs.push_back(eta_min_ + (base - eta_min_) * (1 + std::cos(pi * double(last_epoch_) / double(T_max_))) / 2);
  return lrs;
}

std::vector<std::pair<std::string, double>> CosineAnnealingLR::hyper_params() const {
  return {{"T_max", double(T_max_)}, {"eta_min", eta_min_}};
}

// ---------------------------------------------------------------- LinearLR

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor, int64_t total_iters)
    : LRScheduler(optimizer), start_factor_(start_factor), end_factor_(end_factor), total_iters_(total_iters) {
  FK_CHECK(start_factor > 0 && start_factor <= 1, "schedule: LinearLR: start_factor must be in (0, 1] (got ",
           start_factor, ")");
  FK_CHECK(end_factor >= 0 && end_factor <= 1, "schedule: LinearLR: end_factor must be in [0, 1] (got ", end_factor,
           ")");
  FK_CHECK(total_iters > 0, "schedule: LinearLR: total_iters must be positive (got ", total_iters, ")");
  initial_step();
}

std::vector<double> LinearLR::get_lr() const {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0) {
    for (double& lr : lrs) lr = lr * start_factor_;
    return lrs;
  }
  if (last_epoch_ > total_iters_) return lrs;
  // ratio of factor(e) to factor(e-1), factor(e) = start + (end - start) * e / total
  double delta = end_factor_ - start_factor_;
  double ratio = 1. + delta / (double(total_iters_) * start_factor_ + double(last_epoch_ - 1) * delta);
  for (double& lr : lrs) lr = lr * ratio;
  return lrs;
}

std::vector<double> LinearLR::closed_form_lr() const {
  std::vector<double> lrs;
  double done = double(std::min(total_iters_, last_epoch_));
  for (double base : base_lrs_)
    lrs.push_back(base * (start_factor_ + (end_factor_ - start_factor_) * done / double(total_iters_)));
  return lrs;
}

std::vector<std::pair<std::string, double>> LinearLR::hyper_params() const {
  return {{"start_factor", start_factor_}, {"end_factor", end_factor_}, {"total_iters", double(total_iters_)}};
}

// ---------------------------------------------------------------- SequentialLR

SequentialLR::SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
                           std::vector<int64_t> milestones)
    : LRScheduler(optimizer), schedulers_(std::move(schedulers)), milestones_(std::move(milestones)) {
  FK_CHECK(!schedulers_.empty(), "schedule: SequentialLR needs at least one scheduler");
  for (size_t i = 0; i < schedulers_.size(); ++i)
    FK_CHECK(schedulers_[i] && &schedulers_[i]->optimizer_ == &optimizer, "schedule: SequentialLR: scheduler ", i,
             " belongs to a different optimiser");
  FK_CHECK(milestones_.size() == schedulers_.size() - 1, "schedule: SequentialLR: ", schedulers_.size(),
           " schedulers need ", schedulers_.size() - 1, " milestones, got ", milestones_.size());
  // torch: reset the lrs to initial_lr, "undo" the children's construction steps, then redo the
  // first child's initial step only
  last_epoch_ = 0;
  for (auto& g : optimizer_.param_groups()) g.lr = g.initial_lr;
  for (auto& s : schedulers_) s->last_epoch_ -= 1;
  schedulers_[0]->initial_step();
  last_lr_ = schedulers_[0]->get_last_lr();
}

void SequentialLR::step() {
  ++last_epoch_;
  int64_t idx = bisect_right(milestones_, last_epoch_);
  LRScheduler& s = *schedulers_[size_t(idx)];
  if (idx > 0 && milestones_[size_t(idx - 1)] == last_epoch_)
    s.step_to(0);  // the next schedule starts over from its base lrs
  else
    s.step();
  last_lr_ = s.get_last_lr();
}

std::vector<double> SequentialLR::get_lr() const {
  throw Error("schedule: SequentialLR has no get_lr of its own (its children compute the lrs)");
}

std::vector<double> SequentialLR::closed_form_lr() const {
  throw Error("schedule: SequentialLR cannot jump to an epoch (step_to); call step()");
}

std::vector<std::pair<std::string, double>> SequentialLR::hyper_params() const {
  std::vector<std::pair<std::string, double>> out;
  for (size_t i = 0; i < milestones_.size(); ++i) out.emplace_back("milestones." + std::to_string(i), double(milestones_[i]));
  return out;
}

StateDict SequentialLR::state_dict() const {
  StateDict sd = LRScheduler::state_dict();
  for (size_t i = 0; i < schedulers_.size(); ++i)
    for (const auto& [key, t] : schedulers_[i]->state_dict()) sd.set("schedulers." + std::to_string(i) + "." + key, t);
  return sd;
}

void SequentialLR::load_state_dict(const StateDict& sd) {
  for (const auto& [key, t] : sd) {
    if (key.rfind("schedulers.", 0) != 0) continue;
    std::string rest = key.substr(std::string("schedulers.").size());
    std::string digits = rest.substr(0, rest.find('.'));
    FK_CHECK(!digits.empty() && std::all_of(digits.begin(), digits.end(), ::isdigit) &&
                 std::stoul(digits) < schedulers_.size(),
             "schedule: load_state_dict: key '", key, "' names no child of this SequentialLR (", schedulers_.size(),
             " children)");
  }
  StateDict own = sub_dict_without_children(sd);
  // each load checks before it assigns, but a later child may still refuse: then restore the
  // earlier ones, so that a failed load changes nothing
  StateDict before = state_dict();
  try {
    LRScheduler::load_state_dict(own);
    for (size_t i = 0; i < schedulers_.size(); ++i)
      schedulers_[i]->load_state_dict(sd.under("schedulers." + std::to_string(i) + "."));
  } catch (...) {
    LRScheduler::load_state_dict(sub_dict_without_children(before));
    for (size_t i = 0; i < schedulers_.size(); ++i)
      schedulers_[i]->load_state_dict(before.under("schedulers." + std::to_string(i) + "."));
    throw;
  }
}

std::shared_ptr<SequentialLR> warmup_then(
    Optimizer& optimizer, double start_factor, int64_t warmup_steps,
    const std::function<std::shared_ptr<LRScheduler>(Optimizer&)>& make_inner) {
  auto warmup = std::make_shared<LinearLR>(optimizer, start_factor, 1.0, warmup_steps);
  std::shared_ptr<LRScheduler> inner = make_inner(optimizer);
  return std::make_shared<SequentialLR>(optimizer, std::vector<std::shared_ptr<LRScheduler>>{warmup, inner},
                                        std::vector<int64_t>{warmup_steps});
}

}  // namespace fk::optim
