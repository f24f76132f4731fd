// Building a training run's pieces from its settings (see factories.h).
#include "models/training/factories.h"

#include <cmath>
#include <mutex>
#include <optional>
#include <vector>

#include "autograd/node.h"
#include "data/formats/weights.h"
#include "data/image/image.h"
#include "models/mtcnn/detector.h"
#include "models/zoo/resnet_torchvision.h"
#include "tensor/error.h"

namespace fk::models {

ModelKind probe(Model& model, const ArchInfo& arch) {
  autograd::NoGrad no_grad;
  model.eval();
  Tensor x = zeros({2, arch.channels, arch.height, arch.width});
  ModelKind k;
  for (const auto& [name, y] : model.forward_outputs(x)) {
    if (name == "logits") k.classifier = true, k.features = y.size(1);
    if (name == "embedding" && !k.classifier) k.features = flatten(y, 1).size(1);
  }
  FK_CHECK(k.features > 0, "train: ", arch.name, " gives neither an embedding nor logits");
  return k;
}

std::shared_ptr<Module> make_head(const TrainConfig& c, int64_t features, int64_t classes) {
  switch (c.head) {
    case HeadKind::arcface: {
      ArcFaceOptions o;
      if (c.margin_s > 0) o.s = c.margin_s;
      if (c.margin_m > 0) o.m = c.margin_m;
      return std::make_shared<ArcFace>(features, classes, o);
    }
    case HeadKind::cosface:
      return std::make_shared<CosFace>(features, classes, c.margin_s > 0 ? c.margin_s : 64.0,
                                       c.margin_m > 0 ? c.margin_m : 0.40);
    case HeadKind::sphereface: {
      SphereFaceOptions o;
      if (c.margin_m > 0) o.m = int64_t(std::lround(c.margin_m));
      return std::make_shared<SphereFace>(features, classes, o);
    }
    case HeadKind::softmax:
    case HeadKind::focal: break;
  }
  return std::make_shared<Linear>(features, classes);
}

std::unique_ptr<optim::Optimizer> make_optimizer(const TrainConfig& c, Module& model, Module* head, Module* center) {
  std::vector<optim::ParamGroup> groups = optim::sgd_bn_groups(model, c.weight_decay, true, "model.");
  if (c.bn_decay) {
    for (size_t g = 1; g < groups.size(); ++g)
      groups[0].params.insert(groups[0].params.end(), groups[g].params.begin(), groups[g].params.end());
    groups.resize(1);
  }
  auto add_params = [&](Module& m, const std::string& prefix) {
    for (auto& [name, p] : m.named_parameters()) groups[0].params.emplace_back(prefix + name, p);
  };
  if (head) add_params(*head, "head.");
  if (center && c.center_alpha <= 0) add_params(*center, "center.");
  if (c.optimizer == OptimizerKind::sgd) {
    optim::SGDOptions o;
    o.lr = c.lr, o.momentum = c.momentum, o.nesterov = c.nesterov;
    return std::make_unique<optim::SGD>(groups, o);
  }
  optim::AdamOptions o;
  o.lr = c.lr;
  if (c.optimizer == OptimizerKind::adam) return std::make_unique<optim::Adam>(groups, o);
  return std::make_unique<optim::AdamW>(groups, o);
}

std::shared_ptr<optim::LRScheduler> make_scheduler(const TrainConfig& c, optim::Optimizer& opt) {
  auto make_main = [&c](optim::Optimizer& o) -> std::shared_ptr<optim::LRScheduler> {
    const int64_t after_warmup = c.epochs - c.warmup_epochs;
    if (c.schedule == ScheduleKind::cosine) return std::make_shared<optim::CosineAnnealingLR>(o, after_warmup);
    std::vector<int64_t> ms;  // milestones counted from the end of the warm-up
    if (c.schedule == ScheduleKind::step)
      for (int64_t m : c.milestones) ms.push_back(m - c.warmup_epochs);
    return std::make_shared<optim::MultiStepLR>(o, ms, c.lr_gamma);
  };
  if (c.warmup_epochs > 0) return optim::warmup_then(opt, 0.1, c.warmup_epochs, make_main);
  return make_main(opt);
}

void load_pretrained(Module& model, const TrainConfig& c, const std::function<void(const std::string&)>& message) {
  StateDict file = select_weights(data::read_weights(c.pretrained), c.pretrained_key);
  StateDict mine = model.state_dict(), fit;
  std::vector<std::string> skipped;
  for (const auto& [name, t] : file) {
    if (mine.contains(name) && mine.at(name).shape() == t.shape()) fit.set(name, t);
    else skipped.push_back(name);
  }
  FK_CHECK(!fit.empty(), c.pretrained, ": no entry fits ", c.arch, " (wrong --arch or --pretrained-key?)");
  IncompatibleKeys missing = model.load_state_dict(fit, /*strict=*/false);
  if (message)
    message("pretrained " + c.pretrained + ": " + std::to_string(fit.size()) + " entries loaded, " +
            std::to_string(skipped.size()) + " skipped (not in the model or of another shape), " +
            std::to_string(missing.missing_keys.size()) + " left at their initial values");
}

void freeze_backbone(Model& model, const ModelKind& kind) {
  if (auto* tv = dynamic_cast<TorchvisionResNet50*>(&model)) return tv->freeze_backbone();
  for (auto& [name, p] : model.named_parameters()) {
    bool classifier_layer = kind.classifier && (name.rfind("fc.", 0) == 0 || name.rfind("logits.", 0) == 0);
    if (!classifier_layer) p.requires_grad_(false);
  }
}

FacePreprocess training_preprocess(const ArchInfo& arch) {
  try {
    return default_preprocess(arch.name);
  } catch (const Error&) {
    FacePreprocess p;
    p.crop = "none", p.width = arch.width, p.height = arch.height;
    p.mean = {0.485 * 255, 0.456 * 255, 0.406 * 255};
    p.std = {0.229 * 255, 0.224 * 255, 0.225 * 255};
    return p;
  }
}

data::BoxFinder mtcnn_box_finder(const std::string& weights_dir) {
  mtcnn::DetectorOptions o;
  o.thresholds = {0.6, 0.7, 0.8};
  o.factor = 0.707;
  o.select_largest = false;
  auto detector = std::make_shared<mtcnn::Detector>(weights_dir, o);
  auto lock = std::make_shared<std::mutex>();
  return [detector, lock](const data::Image& img) -> std::optional<std::array<float, 4>> {
    std::lock_guard<std::mutex> guard(*lock);
    auto faces = detector->detect(data::image_to_tensor(img));
    if (faces.empty()) return std::nullopt;
    return faces[0].box;
  };
}

data::Pipeline make_pipeline(const TrainConfig& c, const FacePreprocess& prep, bool train, const data::BoxFinder& finder) {
  data::Pipeline p;
  if (finder) p.image_ops.push_back(data::face_crop(finder, 10));
  p.image_ops.push_back(data::resize(prep.width, prep.height));
  if (train) {
    if (c.rotate > 0) p.image_ops.push_back(data::random_rotation(c.rotate));
    if (c.color_jitter > 0) p.image_ops.push_back(data::color_jitter(c.color_jitter, c.color_jitter, c.color_jitter));
    if (c.flip) p.image_ops.push_back(data::random_horizontal_flip(0.5));
    if (c.random_erasing > 0) p.tensor_ops.push_back(data::random_erasing(c.random_erasing));
  }
  p.normalize.mean = prep.mean;
  p.normalize.std = prep.std;
  p.normalize.bgr = prep.bgr;
  p.normalize.scale_to_unit = false;  // FacePreprocess works on 0..255 values
  return p;
}

}  // namespace fk::models
