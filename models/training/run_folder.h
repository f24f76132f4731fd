// The run folder of `facekit train` (--out) and everything written to it:
//   config.txt     the settings, one "key = value" per line (what --resume checks, config.h)
//   last.pth       checkpoint after every epoch: torch.load gives {"epoch", "arch", "head",
//                  "model_state_dict", "head_state_dict", "optim_state_dict", "scheduler_state_dict",
//                  "trainer"} (trainer: epoch counters, best metric, seed and the metric history as tensors)
//   best.pth       the checkpoint of the best validation epoch (or lowest training loss)
//   backbone.pth   the best epoch's backbone alone: a state dict `facekit run` and PyTorch load
//   metrics.jsonl, curves.png   the metric history (metrics.h)
//   skipped.txt    the training images that could not be read
// Every file is written atomically (temp + rename). last.pth is written first and is the run's record;
// best.pth (its copy) and backbone.pth follow when its epoch is the best, then metrics.jsonl; a crash
// between those writes leaves them behind last.pth, so a resumed run writes them again from it.
// Checkpoints are written from CPU copies (the same files whatever the training device), and only when
// every value in them is finite. Tests: tests/apps/test_train.cpp (resume, crashes between writes,
// NaN, skipped images), on a GPU tests/cuda/test_train_step.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "layers/heads.h"
#include "layers/optim.h"
#include "layers/schedule.h"
#include "models/training/config.h"
#include "models/training/metrics.h"
#include "models/zoo/zoo.h"

namespace fk::models {

// What a checkpoint holds: the pieces of a run whose state is saved and restored.
struct RunState {
  Model* model = nullptr;
  Module* head = nullptr;        // null for classifier architectures
  CenterLoss* center = nullptr;  // null without --center-loss
  optim::Optimizer* opt = nullptr;
  optim::LRScheduler* sched = nullptr;
  History* history = nullptr;
  int64_t epochs_done = 0;
  double best_metric = -INFINITY;  // validation accuracy, or minus the training loss
};

// Called with a file's name ("best.pth") and the epochs done just before that file is written after an
// epoch: the hook tests use to simulate a crash there.
using BeforeWrite = std::function<void(const std::string& file, int64_t epochs_done)>;
using Message = std::function<void(const std::string&)>;

class RunFolder {
 public:
  RunFolder(const TrainConfig& c, Message message, BeforeWrite before_write);
  // Creates the folder (removing temporaries a killed run left), then either checks that config.txt
  // is `cfg` when resuming from an existing last.pth (returns true) or writes config.txt for a new run
  // (returns false); throws fk::Error naming the file when neither is possible.
  bool open(const std::string& cfg);
  // Restores the state of last.pth into `s` (modules, optimiser, schedule, history, counters; the
  // SphereFace iteration when the head is one).
  void load(RunState& s) const;
  // Writes last.pth; returns the model's CPU state dict it holds (for backbone.pth).
  StateDict save(const RunState& s) const;
  // best.pth (a copy of last.pth) and backbone.pth (the given CPU state dict of the model).
  void write_best(const StateDict& model_cpu, int64_t epochs_done) const;
  // metrics.jsonl and curves.png
  void write_metrics(const History& h, int64_t epochs_done) const;
  // What the run can be resumed from, for the messages that stop it: last.pth and its epoch, or none.
  std::string last_good(int64_t epochs_done) const;

  // Unreadable training images: each reported once per run (a resumed run reads the list back) and
  // listed in skipped.txt; more than --max-bad of the `training_images` stops the run (fk::Error).
  void note_skipped(const std::vector<std::string>& files, size_t training_images);

  std::string path(const std::string& file) const;

 private:
  const TrainConfig& c_;
  Message message_;
  BeforeWrite before_write_;
  std::vector<std::string> bad_files_;
  std::set<std::string> bad_seen_;
};

// A state dict with every tensor copied to `device` (the same tensors when already there).
StateDict to_device(const StateDict& sd, Device device);
// An optimiser state dict whose per-parameter buffers (momentum, Adam moments) are moved to `device`;
// the hyper-parameters and Adam's step counter stay 0-d CPU scalars (as PyTorch keeps `step`).
StateDict optimizer_state_to(const StateDict& sd, Device device);

}  // namespace fk::models
