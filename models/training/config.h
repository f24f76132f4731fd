// The settings of a training run (`facekit train`'s options), their names, and what is recorded of
// them in the run folder's config.txt so that `--resume` can refuse a run started otherwise.
// Tests: tests/apps/test_train.cpp (bad settings, resume with other settings).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensor/device.h"

namespace fk::models {

// The loss head on the embedding: the margin heads (layers/heads.h, docs/reference/losses.md), or a
// Linear classifier with cross-entropy (softmax) or the focal loss.
enum class HeadKind { arcface, cosface, sphereface, softmax, focal };
enum class OptimizerKind { sgd, adam, adamw };
enum class ScheduleKind { step, cosine, none };  // step: at the milestones

// Names as the options take them ("arcface", "adamw", "cosine"); parse_* throws fk::Error naming the
// option and the accepted names.
const char* name_of(HeadKind h);
const char* name_of(OptimizerKind o);
const char* name_of(ScheduleKind s);
HeadKind parse_head(const std::string& name);
OptimizerKind parse_optimizer(const std::string& name);
ScheduleKind parse_schedule(const std::string& name);
// Whether the head puts a margin on the cosine of the embedding and class weights (needs an embedding model).
inline bool is_margin_head(HeadKind h) { return h == HeadKind::arcface || h == HeadKind::cosface || h == HeadKind::sphereface; }

struct TrainConfig {
  // data
  std::string data;        // folder per identity (ImageFolder) or a "<relative path> <label>" list
  std::string data_root;   // images folder of a list file (default: the list's folder)
  std::string val;         // validation folder with the same identities: top-1 accuracy
  std::string val_pairs;   // or a pairs file (LFW or CSV): 10-fold verification accuracy
  std::string val_images;  // images folder of val_pairs (default: the pairs file's folder)
  double val_split = 0;    // without val/val_pairs: hold out this fraction of each identity
  // insightface verification sets (lfw.bin, cfp_fp.bin, agedb_30.bin, ...): each one's 10-fold accuracy
  // per epoch (insightface's protocol), besides the validation above; named by the file's stem
  std::vector<std::string> val_bins;
  // output
  std::string tensorboard;  // folder for TensorBoard event files ("": none): per-step loss and lr, per-epoch metrics
  // model and loss
  std::string arch = "ir_50";
  std::string classifier;  // resnet50_torchvision's head layout: fc, linear or mlp (ArchOptions::head)
  HeadKind head = HeadKind::arcface;
  double margin_s = 0, margin_m = 0;  // 0: the head's default (ArcFace 64/0.5, CosFace 64/0.4, SphereFace m 4)
  double focal_gamma = 2;
  double center_loss = 0;   // weight of the center loss (0: none)
  double center_alpha = 0;  // > 0: centres follow Wen et al.'s own update at this rate instead of the optimiser
  std::string pretrained, pretrained_key;  // initial backbone weights (entries of other shapes are skipped)
  bool freeze_backbone = false;            // train the head (or the classifier layer) only
  // optimisation
  int64_t epochs = 10, batch = 64;
  OptimizerKind optimizer = OptimizerKind::sgd;  // sgd (momentum, nesterov), adam, adamw
  double lr = 0.1, momentum = 0.9, weight_decay = 5e-4;
  bool nesterov = false;
  bool bn_decay = false;  // false: BatchNorm and PReLU parameters and biases get no weight decay ("sgd_bn")
  ScheduleKind schedule = ScheduleKind::step;
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
  // KIT's face_crop before everything (docs/reference/pipelines.md §8): MTCNN's most confident face,
  // grown by 10 px on each side; images without a face are skipped (listed). For photos that are not
  // face crops yet.
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
};

// Throws fk::Error on settings that cannot run (no --data or --out, lr <= 0, a warm-up as long as the
// run, ...); fills in the defaults that depend on others (the step schedule's milestones).
void check_config(TrainConfig& c);

// The settings that must not change when a run is resumed, as "key = value" lines, the identities last.
std::string config_text(const TrainConfig& c, const std::vector<std::string>& classes);
// What differs between two config_text()s, e.g. "lr = 0.1 then, 0.01 now; batch = 64 then, 32 now";
// the class lists are summed up ("the identities differ: 10 then, 12 now").
std::string config_difference(const std::string& before, const std::string& now);

// --device: "cpu", "cuda" (device 0) or "cuda:N", checked against the devices present.
Device parse_device(const std::string& name);

}  // namespace fk::models
