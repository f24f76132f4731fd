// Training a face-recognition backbone (or a transfer-learning classifier) without any external
// framework: the run `facekit train` makes (docs/design.md "Training"):
//   Dataset -> DataLoader (workers, augmentation) -> backbone -> margin head -> loss -> backward ->
//   optimiser step -> metrics -> atomic checkpoints in PyTorch format.
// Heads (layers/heads.h, docs/reference/losses.md): arcface, cosface, sphereface (margin heads on the
// embedding), softmax and focal (a Linear classifier on the embedding, or the model's own logits for
// classifier architectures such as resnet50_torchvision); optional center loss next to any of them.
// The parts: settings (config.h), the pieces built from them (factories.h), validation
// (validation.h), the metric history (metrics.h), the run folder with its checkpoints and resume
// (run_folder.h); trainer.cpp holds the loop.
// Determinism: the data order and augmentation depend only on (seed, epoch, index)
// (data/loading/loader.h), dropout on (seed, epoch, step); so `--resume` after a crash anywhere in
// epoch e restarts epoch e from last.pth and ends with the same weights as an uninterrupted run.
// A loss that is NaN or infinite stops the run with an error naming the epoch and step; last.pth and
// best.pth stay as they were after the last good epoch. A step whose gradients are not finite is
// skipped (5 in a row stop the run).
// Device (--device cuda or cuda:N): the model, head, center loss and optimiser state live on the GPU;
// the loader collates batches into pinned memory (LoaderOptions::pin_memory) and each batch is copied
// in with .to(device). Checkpoints are CPU files either way; --resume loads them on the CPU, then moves
// the model, head and optimiser state to the device, so a run may be resumed on another device.
// Tests: tests/apps/test_train.cpp (runs, resume, faults), tests/models/training/test_train_step.cpp
// (one step against PyTorch); on a GPU tests/cuda/test_train_step.cpp.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "models/training/config.h"
#include "models/training/metrics.h"

namespace fk::models {

struct TrainCallbacks {
  std::function<void(const StepInfo&)> on_step;
  std::function<void(const EpochMetrics&)> on_epoch;
  std::function<void(const std::string&)> on_message;  // skipped images, resume notes
  // Called just before best.pth, backbone.pth and metrics.jsonl are written after an epoch, with the
  // file's name and the epochs done (`facekit train`'s hidden crash-simulation options use it).
  std::function<void(const std::string& file, int64_t epochs_done)> before_write;
};

// Runs (or, with config.resume, continues) the training described by `config`; returns the metrics
// of every epoch of the run, earlier ones included when resuming. Throws fk::Error on bad settings,
// unreadable data, and a non-finite loss.
std::vector<EpochMetrics> train(const TrainConfig& config, const TrainCallbacks& callbacks = {});

}  // namespace fk::models
