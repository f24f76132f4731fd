// What a training run records per step and per epoch: the metric history kept in checkpoints, and
// the run folder's metrics.jsonl (one JSON object per finished epoch) and curves.png (loss and
// accuracy curves). Tests: tests/apps/test_train.cpp (metrics.jsonl and curves.png of real runs).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tensor/state_dict.h"

namespace fk::models {

struct StepInfo {
  int64_t epoch = 0, epochs = 0, step = 0, steps = 0;
  int64_t steps_this_process = 0;  // steps run since train() was called (a resumed run counts from 0)
  double loss = 0, accuracy = 0;   // running means over the epoch so far
  double images_per_second = 0, eta_seconds = 0;
};

struct EpochMetrics {
  int64_t epoch = 0;  // 0-based
  double lr = 0;
  double train_loss = 0, train_accuracy = 0;
  double val_accuracy = -1;  // -1: no validation
  std::string val_kind;      // "classification" or "verification"
  std::vector<std::pair<std::string, double>> val_bins;  // --val-bin sets: name, accuracy (-1: not measured)
  double images_per_second = 0, seconds = 0;
  double loader_wait_seconds = 0;  // of `seconds`, the time spent waiting for the data loader's batches
  int64_t skipped_images = 0;
  bool best = false;
};

// The metric history, one value per finished epoch of the run (earlier processes' epochs included
// when resumed).
class History {
 public:
  explicit History(std::string val_kind = "", std::vector<std::string> bin_names = {})
      : val_kind_(std::move(val_kind)), bin_names_(std::move(bin_names)), bin_accuracy_(bin_names_.size()) {}
  void add(const EpochMetrics& m);
  size_t epochs() const { return lr_.size(); }
  EpochMetrics at(size_t epoch) const;
  std::vector<EpochMetrics> all() const;
  bool last_was_best() const { return !best_.empty() && best_.back() != 0; }

  // As the checkpoint's "trainer.history.<field>" float64 vectors ("val_bin.<name>" per --val-bin set),
  // and back (checkpoints of runs older than loader_wait lack it: zeros; a set the checkpoint has no
  // history of: -1 for its earlier epochs).
  void save(StateDict& out, const std::string& prefix) const;
  void load(const StateDict& in, const std::string& prefix);

  // metrics.jsonl and curves.png in `dir`, both rewritten whole (atomically) from the history.
  void write_files(const std::string& dir) const;

 private:
  std::vector<const std::vector<double>*> fields() const;
  std::vector<std::vector<double>*> fields();
  std::string val_kind_;
  std::vector<std::string> bin_names_;
  std::vector<std::vector<double>> bin_accuracy_;  // per set, per epoch
  std::vector<double> lr_, train_loss_, train_accuracy_, val_accuracy_, images_per_second_, seconds_, skipped_, best_,
      loader_wait_;
};

}  // namespace fk::models
