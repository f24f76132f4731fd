// Learning-rate schedules (torch.optim.lr_scheduler, 1.13): StepLR, MultiStepLR, CosineAnnealingLR,
// LinearLR and SequentialLR (a linear warm-up followed by another schedule), plus warmup_then() to
// build that pair. Call step() once after each epoch (or iteration) like torch; the values are
// torch's to the last bit, including its recursive ("chainable") cosine formula.
//
// How torch's schedulers work, and so these:
//   - construction records group.initial_lr (if unset) as base_lrs, sets last_epoch = -1 and takes
//     one step, so right after construction last_epoch() == 0 and the groups hold the epoch-0 lr;
//   - step() increments last_epoch and sets each group's lr from its current lr (chainable form);
//   - step_to(epoch) jumps to `epoch` with the closed form (torch's deprecated step(epoch));
//     SequentialLR uses it (step_to(0)) to restart the next schedule at a milestone.
// The scheduler keeps a reference to its optimiser, which must outlive it.
//
// State dict: last_epoch, step_count (0-d float64), base_lrs and last_lr (1-d float64, one per
// group), and the hyper-parameters (0-d float64), which load_state_dict checks against this
// scheduler's; SequentialLR adds its children under "schedulers.<i>.". Optimiser lrs live in the
// optimiser's own state dict: load both.
//
// Tests: tests/layers/test_optim.cpp ("schedule: ...", fixtures from tests/fixtures/make_optim.py).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "layers/optim.h"

namespace fk::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  // last_epoch += 1; every group's lr from the chainable formula
  virtual void step();
  // last_epoch = epoch; every group's lr from the closed form (torch's scheduler.step(epoch))
  void step_to(int64_t epoch);

  int64_t last_epoch() const { return last_epoch_; }
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  Optimizer& optimizer() { return optimizer_; }

  virtual StateDict state_dict() const;
  virtual void load_state_dict(const StateDict& sd);

 protected:
  explicit LRScheduler(Optimizer& optimizer);
  // torch's _initial_step: the step every concrete constructor ends with
  void initial_step();
  // the lrs for the current last_epoch_, from the groups' current lrs (chainable form)
  virtual std::vector<double> get_lr() const = 0;
  // the lrs for the current last_epoch_, from base_lrs (closed form)
  virtual std::vector<double> closed_form_lr() const = 0;
  // hyper-parameters saved in the state dict and checked on load
  virtual std::vector<std::pair<std::string, double>> hyper_params() const = 0;
  std::vector<double> group_lrs() const;  // the optimiser's current lrs
  void set_lrs(const std::vector<double>& lrs);

  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  int64_t last_epoch_ = -1;
  int64_t step_count_ = 0;
  std::vector<double> last_lr_;

  friend class SequentialLR;
};

// lr *= gamma every step_size epochs: lr = base_lr * gamma^(epoch / step_size)
class StepLR final : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);

 protected:
  std::vector<double> get_lr() const override;
  std::vector<double> closed_form_lr() const override;
  std::vector<std::pair<std::string, double>> hyper_params() const override;

 private:
  int64_t step_size_;
  double gamma_;
};

// lr *= gamma at each milestone epoch (a milestone listed k times multiplies by gamma^k)
class MultiStepLR final : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1);

 protected:
  std::vector<double> get_lr() const override;
  std::vector<double> closed_form_lr() const override;
  std::vector<std::pair<std::string, double>> hyper_params() const override;

 private:
  std::vector<int64_t> milestones_;  // sorted
  double gamma_;
};

// lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2, computed recursively from
// the previous lr as torch does (past T_max it rises again: a period of 2*T_max)
class CosineAnnealingLR final : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0.0);

 protected:
  std::vector<double> get_lr() const override;
  std::vector<double> closed_form_lr() const override;
  std::vector<std::pair<std::string, double>> hyper_params() const override;

 private:
  int64_t T_max_;
  double eta_min_;
};

// lr = base_lr * factor, factor going linearly from start_factor to end_factor over total_iters
// steps, then constant
class LinearLR final : public LRScheduler {
 public:
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0, int64_t total_iters = 5);

 protected:
  std::vector<double> get_lr() const override;
  std::vector<double> closed_form_lr() const override;
  std::vector<std::pair<std::string, double>> hyper_params() const override;

 private:
  double start_factor_, end_factor_;
  int64_t total_iters_;
};

// schedulers[0] until milestones[0], then schedulers[1] restarted at epoch 0, ... (torch's
// SequentialLR: construct the children first, on the same optimiser, in order)
class SequentialLR final : public LRScheduler {
 public:
  SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
               std::vector<int64_t> milestones);
  void step() override;
  StateDict state_dict() const override;
  void load_state_dict(const StateDict& sd) override;

 protected:
  std::vector<double> get_lr() const override;         // throws: not a chainable schedule
  std::vector<double> closed_form_lr() const override;  // throws: torch has no closed form either
  std::vector<std::pair<std::string, double>> hyper_params() const override;

 private:
  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
  std::vector<int64_t> milestones_;
};

// A linear warm-up from start_factor*lr over warmup_steps steps, then the schedule `make_inner`
// builds (on the same optimiser), restarted at epoch 0: torch's
//   SequentialLR(opt, [LinearLR(opt, start_factor, 1.0, warmup_steps), inner], milestones=[warmup_steps])
std::shared_ptr<SequentialLR> warmup_then(
    Optimizer& optimizer, double start_factor, int64_t warmup_steps,
    const std::function<std::shared_ptr<LRScheduler>(Optimizer&)>& make_inner);

}  // namespace fk::optim
