// Training a face-recognition backbone (or a transfer-learning classifier) without any external
// framework: the loop `facekit train` runs (DESIGN.md "Training"):
//   Dataset -> DataLoader (workers, augmentation) -> backbone -> margin head -> loss -> backward ->
//   optimiser step -> metrics -> atomic checkpoints in PyTorch format.
// Heads (layers/heads.h, losses.md): arcface, cosface, sphereface (margin heads on the embedding),
// softmax and focal (a Linear classifier on the embedding, or the model's own logits for classifier
// architectures such as resnet50_torchvision); optional center loss next to any of them.
// Run folder (--out):
//   config.txt        the settings, one "key = value" per line (what --resume checks)
//   last.pth          checkpoint after every epoch: torch.load gives {"epoch", "arch", "head",
//                     "model_state_dict", "head_state_dict", "optim_state_dict", "scheduler_state_dict",
//                     "trainer"} (trainer: epoch counters and the metric history as tensors)
//   best.pth          the checkpoint of the best validation epoch (or lowest training loss)
//   backbone.pth      the best epoch's backbone alone: a state dict `facekit run` and PyTorch load
//   metrics.jsonl     one JSON object per finished epoch
//   curves.png        loss and accuracy curves
// Determinism: the data order and augmentation depend only on (seed, epoch, index) (data/loading/loader.h),
// dropout on (seed, epoch, step); so `--resume` after a crash anywhere in epoch e restarts epoch e
// from last.pth and ends with the same weights as an uninterrupted run.
// A loss that is NaN or infinite stops the run with an error naming the epoch and step; last.pth and
// best.pth stay as they were after the last good epoch.
// Device (--device cuda or cuda:N): the model, head, center loss and optimiser state live on the GPU;
// the loader collates batches into pinned memory (LoaderOptions::pin_memory) and each batch is copied
// in with .to(device). Checkpoints and backbone.pth are written from CPU copies, so they are the same
// files as a CPU run's (torch.load, `facekit run`); --resume loads them on the CPU, then moves the
// model, head and optimiser state to the device, so a run may be resumed on another device.
// Tests: tests/apps/test_train.cpp (runs, resume, faults), tests/models/training/test_train_step.cpp (one step
// against PyTorch); on a GPU tests/cuda/test_train_step.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace fk::models {

struct TrainConfig {
  // data
  std::string data;        // folder per identity (ImageFolder) or a "<relative path> <label>" list
  std::string data_root;   // images folder of a list file (default: the list's folder)
  std::string val;         // validation folder with the same identities: top-1 accuracy
  std::string val_pairs;   // or a pairs file (LFW or CSV): 10-fold verification accuracy
  std::string val_images;  // images folder of val_pairs (default: the pairs file's folder)
  double val_split = 0;    // without val/val_pairs: hold out this fraction of each identity
  // model and loss
  std::string arch = "ir_50";
  std::string classifier;  // resnet50_torchvision's head layout: fc, linear or mlp (ArchOptions::head)
  std::string head = "arcface";  // arcface, cosface, sphereface, softmax, focal
  double margin_s = 0, margin_m = 0;  // 0: the head's default (ArcFace 64/0.5, CosFace 64/0.4, SphereFace m 4)
  double focal_gamma = 2;
  double center_loss = 0;   // weight of the center loss (0: none)
  double center_alpha = 0;  // > 0: centres follow Wen et al.'s own update at this rate instead of the optimiser
  std::string pretrained, pretrained_key;  // initial backbone weights (entries of other shapes are skipped)
  bool freeze_backbone = false;            // train the head (or the classifier layer) only
  // optimisation
  int64_t epochs = 10, batch = 64;
  std::string optimizer = "sgd";  // sgd (momentum, nesterov), adam, adamw
  double lr = 0.1, momentum = 0.9, weight_decay = 5e-4;
  bool nesterov = false;
  bool bn_decay = false;           // false: BatchNorm and PReLU parameters and biases get no weight decay ("sgd_bn")
  std::string schedule = "step";   // step (milestones), cosine, none
  std::vector<int64_t> milestones;  // epochs at which lr *= lr_gamma (default: 60 % and 85 % of the run)
  double lr_gamma = 0.1;
  int64_t warmup_epochs = 0;
  double clip_grad_norm = 0;  // 0: no clipping
  // augmentation (on top of the resize to the architecture's input)
  bool flip = true;
  double rotate = 0;          // random rotation of +-degrees
  double color_jitter = 0;    // brightness/contrast/saturation jitter strength
  double random_erasing = 0;  // probability
  bool sample_pairing = false;
  // KIT's face_crop before everything (pipelines.md §8): MTCNN's most confident face, grown by 10 px
  // on each side; images without a face are skipped (listed). For photos that are not face crops yet.
  bool face_crop = false;
  std::string mtcnn_weights;  // folder of pnet.pt, rnet.pt, onet.pt (needed with face_crop)
  // run
  std::string out;
  std::string device = "cpu";  // "cpu", "cuda" (device 0) or "cuda:N"; not part of config.txt
  bool resume = false;
  uint64_t seed = 0;
  int64_t workers = 2;
  // the largest fraction of the training images that may be unreadable; more stops the run (each is
  // reported once and listed in <out>/skipped.txt)
  double max_bad = 0.01;
  int64_t nan_gradient_steps = 0;  // testing aid: these many steps from the start get a NaN gradient
  int64_t abort_after_steps = -1;  // testing aid: exit the process abruptly after this many steps
  std::string abort_before_write;  // testing aid: "best.pth@2": exit abruptly just before writing that file after epoch 2
};

struct StepInfo {
  int64_t epoch = 0, epochs = 0, step = 0, steps = 0;
  double loss = 0, accuracy = 0;  // running means over the epoch so far
  double images_per_second = 0, eta_seconds = 0;
};

struct EpochMetrics {
  int64_t epoch = 0;  // 0-based
  double lr = 0;
  double train_loss = 0, train_accuracy = 0;
  double val_accuracy = -1;  // -1: no validation
  std::string val_kind;      // "classification" or "verification"
  double images_per_second = 0, seconds = 0;
  double loader_wait_seconds = 0;  // of `seconds`, the time spent waiting for the data loader's batches
  int64_t skipped_images = 0;
  bool best = false;
};

struct TrainCallbacks {
  std::function<void(const StepInfo&)> on_step;
  std::function<void(const EpochMetrics&)> on_epoch;
  std::function<void(const std::string&)> on_message;  // skipped images, resume notes
};

// Runs (or, with config.resume, continues) the training described by `config`; returns the metrics
// of every epoch of the run, earlier ones included when resuming. Throws fk::Error on bad settings,
// unreadable data, and a non-finite loss.
std::vector<EpochMetrics> train(const TrainConfig& config, const TrainCallbacks& callbacks = {});

}  // namespace fk::models
