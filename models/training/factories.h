// The pieces of a training run built from its settings: the loss head, the optimiser with its
// parameter groups, the learning-rate schedule, the data pipelines, and what the model gives
// (an embedding or logits). Tests: tests/apps/test_train.cpp (heads, optimisers, schedules end to end),
// tests/models/training/test_train_step.cpp (one step against PyTorch).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "data/loading/transforms.h"
#include "layers/heads.h"
#include "layers/optim.h"
#include "layers/schedule.h"
#include "models/recognition/face_embedder.h"
#include "models/training/config.h"
#include "models/zoo/zoo.h"

namespace fk::models {

// What the model gives for a batch: its logits (classifier architectures) or its embedding.
struct ModelKind {
  bool classifier = false;
  int64_t features = 0;  // embedding size, or number of logits
};
// Runs the model once in eval mode on zeros to find out.
ModelKind probe(Model& model, const ArchInfo& arch);

// The margin head (ArcFace, CosFace, SphereFace with the settings' s and m, or their defaults), or a
// Linear classifier (torch.nn.Linear keys) for softmax and focal.
std::shared_ptr<Module> make_head(const TrainConfig& c, int64_t features, int64_t classes);

// The optimiser over the model (BatchNorm / PReLU / bias parameters without weight decay unless
// --bn-decay: egcode's "sgd_bn"), then the head's and the centre loss's parameters (those only when
// the optimiser moves the centres), named "model.*", "head.*", "center.*".
std::unique_ptr<optim::Optimizer> make_optimizer(const TrainConfig& c, Module& model, Module* head, Module* center);

// The step (milestones) / cosine / constant schedule, after a linear warm-up from lr/10 when asked.
std::shared_ptr<optim::LRScheduler> make_scheduler(const TrainConfig& c, optim::Optimizer& opt);

// Loads the entries of c.pretrained whose names and shapes fit the model (transfer learning: a
// pretrained ImageNet classifier of another size is left out); `message` reports what was skipped.
void load_pretrained(Module& model, const TrainConfig& c, const std::function<void(const std::string&)>& message);

// Only the head learns: embedding models freeze every parameter, classifier architectures all but
// their last layer ("fc", "logits"; resnet50_torchvision its own freeze_backbone).
void freeze_backbone(Model& model, const ModelKind& kind);

// The normalisation the architecture was trained with; torchvision's ResNet-50 (no face preprocessing
// of its own) gets ImageNet's statistics at its input size.
FacePreprocess training_preprocess(const ArchInfo& arch);

// KIT's face_crop box finder: MTCNN with the settings that project used (thresholds 0.6/0.7/0.8,
// factor 0.707), the most confident face; one detector shared by the loader's workers behind a mutex.
data::BoxFinder mtcnn_box_finder(const std::string& weights_dir);

// Face crop (when `finder`), resize to the input, then for training the random augmentations the
// settings ask for, and the architecture's normalisation.
data::Pipeline make_pipeline(const TrainConfig& c, const FacePreprocess& prep, bool train, const data::BoxFinder& finder);

}  // namespace fk::models
