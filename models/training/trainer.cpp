// The training loop of `facekit train` (see trainer.h).
#include "models/training/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

#include "autograd/node.h"
#include "cuda/runtime.h"
#include "data/loading/dataset.h"
#include "data/image/image.h"
#include "data/loading/loader.h"
#include "data/formats/npy.h"
#include "data/viz/plot.h"
#include "data/loading/transforms.h"
#include "data/formats/weights.h"
#include "layers/heads.h"
#include "layers/optim.h"
#include "layers/schedule.h"
#include "models/recognition/face_embedder.h"
#include "models/zoo/resnet_torchvision.h"
#include "models/evaluation/verification.h"
#include "models/zoo/zoo.h"
#include "tensor/error.h"
#include "tensor/finite.h"
#include "tensor/reduce.h"
#include "tensor/random.h"

namespace fk::models {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// ---- settings

std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

// The shortest decimal that reads back as exactly `v` (as Python's repr writes floats).
std::string num(double v) {
  char buf[40];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

// The settings that must not change when a run is resumed, as "key = value" lines.
std::string config_text(const TrainConfig& c, const std::vector<std::string>& classes) {
  std::ostringstream s;
  s << "arch = " << c.arch << "\nclassifier = " << c.classifier << "\nhead = " << c.head << "\nmargin_s = "
    << num(c.margin_s) << "\nmargin_m = " << num(c.margin_m) << "\nfocal_gamma = " << num(c.focal_gamma)
    << "\ncenter_loss = " << num(c.center_loss) << "\ncenter_alpha = " << num(c.center_alpha)
    << "\nfreeze_backbone = " << c.freeze_backbone << "\nepochs = " << c.epochs << "\nbatch = " << c.batch
    << "\noptimizer = " << c.optimizer << "\nlr = " << num(c.lr) << "\nmomentum = " << num(c.momentum)
    << "\nweight_decay = " << num(c.weight_decay) << "\nnesterov = " << c.nesterov << "\nbn_decay = " << c.bn_decay
    << "\nschedule = " << c.schedule << "\nmilestones = " << join(c.milestones) << "\nlr_gamma = " << num(c.lr_gamma)
    << "\nwarmup_epochs = " << c.warmup_epochs << "\nclip_grad_norm = " << num(c.clip_grad_norm)
    << "\nflip = " << c.flip << "\nrotate = " << num(c.rotate) << "\ncolor_jitter = " << num(c.color_jitter)
    << "\nrandom_erasing = " << num(c.random_erasing) << "\nsample_pairing = " << c.sample_pairing
    << "\nface_crop = " << c.face_crop << "\nseed = " << c.seed << "\nval_split = " << num(c.val_split) << "\nclasses = " << classes.size() << "\n";
  for (const auto& name : classes) s << "class = " << name << "\n";
  return s.str();
}

// What differs between two config_text()s, e.g. "lr = 0.1 then, 0.01 now; batch = 64 then, 32 now";
// the class lists are summed up ("the identities differ: 10 then, 12 now").
std::string config_difference(const std::string& before, const std::string& now) {
  auto parse = [](const std::string& text, std::vector<std::string>& classes) {
    std::vector<std::pair<std::string, std::string>> kv;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      const size_t eq = line.find(" = ");
      if (eq == std::string::npos) continue;
      std::string key = line.substr(0, eq), value = line.substr(eq + 3);
      if (key == "class") classes.push_back(value);
      else kv.emplace_back(key, value);
    }
    return kv;
  };
  std::vector<std::string> classes_then, classes_now;
  const auto then = parse(before, classes_then), now_kv = parse(now, classes_now);
  std::string out;
  auto add = [&](const std::string& part) { out += (out.empty() ? "" : "; ") + part; };
  for (const auto& entry : now_kv) {
    const std::string& key = entry.first;  // a named reference, not a structured binding: clang 14's
    const std::string& value = entry.second;  // lambdas cannot capture those
    auto it = std::find_if(then.begin(), then.end(), [&](const auto& p) { return p.first == key; });
    if (it == then.end()) add(key + " = " + value + " now, not recorded then");
    else if (it->second != value && key != "classes") add(key + " = " + it->second + " then, " + value + " now");
  }
  if (classes_then != classes_now)
    add("the identities differ: " + std::to_string(classes_then.size()) + " then, " + std::to_string(classes_now.size()) + " now");
  return out.empty() ? "the file is not one this version writes" : out;
}

// Whether every gradient the optimiser would apply is finite: exactly on the CPU, through a sum per
// tensor on a GPU (a sum that overflows counts as non-finite: that run is diverging too).
constexpr int64_t kMaxNonfiniteSteps = 5;
bool gradients_finite(optim::Optimizer& opt) {
  for (const auto& g : opt.param_groups())
    for (const auto& [name, p] : g.params) {
      const Tensor grad = p.grad();
      if (!grad.defined()) continue;
      if (grad.device().is_cpu() ? count_nonfinite(grad).count != 0 : !std::isfinite(ops::sum(grad).item()))
        return false;
    }
  return true;
}

void check_config(TrainConfig& c) {
  FK_CHECK(!c.data.empty(), "train: --data is required");
  FK_CHECK(!c.out.empty(), "train: --out is required");
  FK_CHECK(c.epochs >= 1 && c.batch >= 1, "train: --epochs and --batch must be at least 1");
  FK_CHECK(c.head == "arcface" || c.head == "cosface" || c.head == "sphereface" || c.head == "softmax" ||
               c.head == "focal",
           "train: unknown --head '", c.head, "' (expected arcface, cosface, sphereface, softmax or focal)");
  FK_CHECK(c.optimizer == "sgd" || c.optimizer == "adam" || c.optimizer == "adamw", "train: unknown --optimizer '",
           c.optimizer, "' (expected sgd, adam or adamw)");
  FK_CHECK(c.schedule == "step" || c.schedule == "cosine" || c.schedule == "none", "train: unknown --schedule '",
           c.schedule, "' (expected step, cosine or none)");
  FK_CHECK(c.lr > 0 && std::isfinite(c.lr), "train: --lr must be a positive number");
  FK_CHECK(c.val_split >= 0 && c.val_split < 1, "train: --val-split must be in [0, 1)");
  FK_CHECK(c.warmup_epochs >= 0 && c.warmup_epochs < c.epochs, "train: --warmup must be shorter than the run");
  if (c.schedule == "step" && c.milestones.empty()) {
    c.milestones = {std::max<int64_t>(1, int64_t(0.6 * double(c.epochs))),
                    std::max<int64_t>(1, int64_t(0.85 * double(c.epochs)))};
    if (c.milestones[1] == c.milestones[0]) c.milestones.pop_back();
  }
}

// --device: "cpu", "cuda" (device 0) or "cuda:N", checked against the devices present.
Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::cpu();
  int index = 0;
  if (name.rfind("cuda:", 0) == 0) {
    const std::string digits = name.substr(5);
    FK_CHECK(!digits.empty() && digits.size() <= 4 && digits.find_first_not_of("0123456789") == std::string::npos,
             "train: unknown --device '", name, "' (expected cpu, cuda or cuda:N)");
    index = std::stoi(digits);
  } else {
    FK_CHECK(name == "cuda", "train: unknown --device '", name, "' (expected cpu, cuda or cuda:N)");
  }
  const int count = cuda::device_count();
  FK_CHECK(count > 0, "train: --device ", name, ": no CUDA device (", cuda::describe(), ")");
  FK_CHECK(index < count, "train: --device ", name, ": there is no CUDA device ", index, " (", cuda::describe(), ")");
  return Device::cuda(index);
}

// A state dict with every tensor copied to `device` (the same tensors when already there).
StateDict to_device(const StateDict& sd, Device device) {
  StateDict out;
  for (const auto& [k, t] : sd) out.set(k, t.to(device));
  return out;
}

// An optimiser state dict whose per-parameter buffers (momentum, Adam moments) are moved to `device`;
// the hyper-parameters and Adam's step counter stay 0-d CPU scalars (as PyTorch keeps `step`).
StateDict optimizer_state_to(const StateDict& sd, Device device) {
  StateDict out;
  for (const auto& [k, t] : sd) {
    const bool buffer = k.rfind("state.", 0) == 0 && !(k.size() >= 5 && k.compare(k.size() - 5, 5, ".step") == 0);
    out.set(k, buffer ? t.to(device) : t);
  }
  return out;
}

// ---- the pieces of a run

// A Linear classifier on the embedding, for the softmax and focal heads (torch.nn.Linear keys).
std::shared_ptr<Module> make_head(const TrainConfig& c, int64_t features, int64_t classes) {
  if (c.head == "arcface") {
    ArcFaceOptions o;
    if (c.margin_s > 0) o.s = c.margin_s;
    if (c.margin_m > 0) o.m = c.margin_m;
    return std::make_shared<ArcFace>(features, classes, o);
  }
  if (c.head == "cosface")
    return std::make_shared<CosFace>(features, classes, c.margin_s > 0 ? c.margin_s : 64.0,
                                     c.margin_m > 0 ? c.margin_m : 0.40);
  if (c.head == "sphereface") {
    SphereFaceOptions o;
    if (c.margin_m > 0) o.m = int64_t(std::lround(c.margin_m));
    return std::make_shared<SphereFace>(features, classes, o);
  }
  return std::make_shared<Linear>(features, classes);
}

// What the model gives for a batch: its logits (classifier architectures) or its embedding.
struct ModelKind {
  bool classifier = false;
  int64_t features = 0;  // embedding size, or number of logits
};

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

// Loads the entries of `path` whose names and shapes fit the model (transfer learning: a pretrained
// ImageNet classifier of another size is left out); reports what was skipped.
void load_pretrained(Module& model, const TrainConfig& c, const TrainCallbacks& cb) {
  StateDict file = select_weights(data::read_weights(c.pretrained), c.pretrained_key);
  StateDict mine = model.state_dict(), fit;
  std::vector<std::string> skipped;
  for (const auto& [name, t] : file) {
    if (mine.contains(name) && mine.at(name).shape() == t.shape()) fit.set(name, t);
    else skipped.push_back(name);
  }
  FK_CHECK(!fit.empty(), c.pretrained, ": no entry fits ", c.arch, " (wrong --arch or --pretrained-key?)");
  IncompatibleKeys missing = model.load_state_dict(fit, /*strict=*/false);
  if (cb.on_message)
    cb.on_message("pretrained " + c.pretrained + ": " + std::to_string(fit.size()) + " entries loaded, " +
                  std::to_string(skipped.size()) + " skipped (not in the model or of another shape), " +
                  std::to_string(missing.missing_keys.size()) + " left at their initial values");
}

void freeze_backbone(Model& model, const ModelKind& kind) {
  if (auto* tv = dynamic_cast<TorchvisionResNet50*>(&model)) return tv->freeze_backbone();
  // classifier architectures keep their last layer trainable ("fc", "logits"); embedding models
  // freeze everything: only the head learns
  for (auto& [name, p] : model.named_parameters()) {
    bool classifier_layer = kind.classifier && (name.rfind("fc.", 0) == 0 || name.rfind("logits.", 0) == 0);
    if (!classifier_layer) p.requires_grad_(false);
  }
}

// KIT's face_crop box finder: MTCNN with the TropComplique settings the project used (thresholds
// 0.6/0.7/0.8, factor 0.707), the most confident face. One detector shared by the loader's workers,
// behind a mutex.
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

// The normalisation of an architecture without a face preprocessing of its own (torchvision's
// ResNet-50 expects ImageNet statistics on 224x224 crops).
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

// ---- checkpoints

Tensor scalar(double v) { return full({}, v, DType::Float64); }

// The metric history, one value per finished epoch.
struct History {
  std::vector<double> lr, train_loss, train_accuracy, val_accuracy, images_per_second, seconds, skipped, best,
      loader_wait;
  std::vector<std::vector<double>*> all() {
    return {&lr, &train_loss, &train_accuracy, &val_accuracy, &images_per_second, &seconds, &skipped, &best,
            &loader_wait};
  }
  static std::vector<std::string> names() {
    return {"lr",      "train_loss", "train_accuracy", "val_accuracy", "images_per_second",
            "seconds", "skipped",    "best",           "loader_wait"};
  }
};

Tensor vec(const std::vector<double>& v) {
  Tensor t = empty({int64_t(v.size())}, DType::Float64);
  for (size_t i = 0; i < v.size(); ++i) t.data<double>()[i] = v[i];
  return t;
}

std::vector<double> unvec(const Tensor& t) {
  Tensor c = t.to(DType::Float64).contiguous();
  return {c.data<double>(), c.data<double>() + c.numel()};
}

std::string json_number(double v) { return std::isfinite(v) ? num(v) : "null"; }

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\', out += ch;
    else if (uint8_t(ch) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      out += buf;
    } else out += ch;
  }
  return out + "\"";
}

EpochMetrics metrics_at(History& h, size_t e, const std::string& val_kind) {
  EpochMetrics m;
  m.epoch = int64_t(e), m.lr = h.lr[e], m.train_loss = h.train_loss[e], m.train_accuracy = h.train_accuracy[e];
  m.val_accuracy = h.val_accuracy[e], m.val_kind = h.val_accuracy[e] >= 0 ? val_kind : "";
  m.images_per_second = h.images_per_second[e], m.seconds = h.seconds[e], m.loader_wait_seconds = h.loader_wait[e];
  m.skipped_images = int64_t(h.skipped[e]), m.best = h.best[e] != 0;
  return m;
}

void write_metrics(const fs::path& dir, History& h, const std::string& val_kind) {
  std::string lines;
  for (size_t e = 0; e < h.lr.size(); ++e) {
    EpochMetrics m = metrics_at(h, e, val_kind);
    lines += "{\"epoch\": " + std::to_string(m.epoch + 1) + ", \"lr\": " + json_number(m.lr);
    lines += ", \"train_loss\": " + json_number(m.train_loss) + ", \"train_accuracy\": " + json_number(m.train_accuracy);
    lines += ", \"val_accuracy\": " + (m.val_accuracy >= 0 ? json_number(m.val_accuracy) : "null");
    lines += ", \"val_kind\": " + (m.val_kind.empty() ? "null" : json_string(m.val_kind));
    lines += ", \"images_per_second\": " + json_number(m.images_per_second);
    lines += ", \"seconds\": " + json_number(m.seconds);
    lines += ", \"loader_wait_seconds\": " + json_number(m.loader_wait_seconds);
    lines += ", \"skipped_images\": " + std::to_string(m.skipped_images);
    lines += std::string(", \"best\": ") + (m.best ? "true" : "false") + "}\n";
  }
  data::write_file_atomic((dir / "metrics.jsonl").string(), lines);

  std::vector<double> epochs;
  for (size_t e = 0; e < h.lr.size(); ++e) epochs.push_back(double(e + 1));
  std::vector<data::Series> series = {{"train loss", epochs, h.train_loss, {31, 119, 180}}};
  data::PlotOptions loss_opts;
  loss_opts.title = "training loss", loss_opts.x_label = "epoch", loss_opts.y_label = "loss";
  loss_opts.width = 640, loss_opts.height = 360;
  data::Image loss = data::line_plot(series, loss_opts);
  std::vector<data::Series> acc = {{"train accuracy", epochs, h.train_accuracy, {44, 160, 44}}};
  std::vector<double> val = h.val_accuracy;
  for (double& v : val) v = v >= 0 ? v : NAN;
  acc.push_back({"val accuracy (" + val_kind + ")", epochs, val, {214, 39, 40}});
  data::PlotOptions acc_opts = loss_opts;
  acc_opts.title = "accuracy", acc_opts.y_label = "accuracy", acc_opts.y_range = std::make_pair(0.0, 1.0);
  data::Image accuracy = data::line_plot(acc, acc_opts);
  data::Image both(loss.width, loss.height + accuracy.height);
  for (int64_t y = 0; y < both.height; ++y)
    for (int64_t x = 0; x < both.width; ++x) {
      const uint8_t* src = y < loss.height ? loss.at(x, y) : accuracy.at(x, y - loss.height);
      std::copy(src, src + 3, both.at(x, y));
    }
  data::write_png((dir / "curves.png").string(), both);
}

// ---- validation

struct Validator {
  std::string kind;  // "", "classification", "verification"
  std::shared_ptr<const data::Dataset> images;  // classification: the labelled images
  std::vector<VerificationPair> pairs;          // verification
  std::vector<std::string> pair_images;         // the distinct images of the pairs
  data::Pipeline pipeline;
};

// Embeddings (or logits) of images through the model in eval mode, in batches. An image that cannot
// be read (or has no face with --face-crop) gets no row: ok[i] says which did.
// The rows come back on the CPU whatever `device` the model is on.
Tensor model_outputs(Model& model, const std::vector<std::string>& paths, const data::Pipeline& pipe, int64_t batch,
                     Device device, std::vector<bool>& ok, const TrainCallbacks& cb) {
  autograd::NoGrad no_grad;
  std::vector<Tensor> parts, xs;
  data::Rng rng(0);
  ok.assign(paths.size(), false);
  auto flush = [&]() {
    if (!xs.empty()) parts.push_back(flatten(model.forward(stack(xs, 0).to(device)), 1).to(Device::cpu()));
    xs.clear();
  };
  for (size_t i = 0; i < paths.size(); ++i) {
    try {
      xs.push_back(pipe(data::read_image(paths[i]), rng));
      ok[i] = true;
    } catch (const std::exception& e) {
      if (cb.on_message) cb.on_message(std::string("validation image skipped: ") + e.what());
    }
    if (int64_t(xs.size()) == batch) flush();
  }
  flush();
  return parts.empty() ? Tensor() : cat(parts, 0);
}

// -1 when no validation image could be used.
double validate(const Validator& v, Model& model, Module* head, bool classifier, int64_t batch, Device device,
                const TrainCallbacks& cb) {
  model.eval();
  if (head) head->eval();
  if (v.kind == "classification") {
    std::vector<std::string> paths;
    std::vector<int64_t> labels;
    for (size_t i = 0; i < v.images->size(); ++i) {
      data::Sample s = v.images->sample(i);
      paths.push_back(s.path), labels.push_back(s.label);
    }
    std::vector<bool> ok;
    Tensor out = model_outputs(model, paths, v.pipeline, batch, device, ok, cb);
    if (!out.defined()) return -1;
    Tensor logits;
    {
      autograd::NoGrad no_grad;
      logits = classifier || !head ? out : (*head)(out.to(device));  // margin heads without labels: s * cos
    }
    Tensor pred = argmax(logits, 1).to(Device::cpu()).contiguous();
    int64_t right = 0, row = 0;
    for (size_t i = 0; i < labels.size(); ++i)
      if (ok[i]) right += pred.data<int64_t>()[row++] == labels[i];
    return double(right) / double(row);
  }
  // verification: cosine of the L2-normalised embeddings of each pair, the 10-fold protocol
  std::vector<bool> ok;
  Tensor out = model_outputs(model, v.pair_images, v.pipeline, batch, device, ok, cb);
  if (!out.defined()) return -1;
  Tensor e = normalize(out, 1).contiguous();
  std::map<std::string, int64_t> row;  // the embedding row of each usable image
  for (size_t i = 0, r = 0; i < v.pair_images.size(); ++i)
    if (ok[i]) row[v.pair_images[i]] = int64_t(r++);
  std::vector<double> scores;
  std::vector<bool> same;
  const int64_t D = e.size(1);
  for (const auto& p : v.pairs) {
    if (!row.count(p.image1) || !row.count(p.image2)) continue;  // an image was skipped: so is the pair
    const float* a = e.data<float>() + row[p.image1] * D;
    const float* b = e.data<float>() + row[p.image2] * D;
    double dot = 0;
    for (int64_t k = 0; k < D; ++k) dot += double(a[k]) * double(b[k]);
    scores.push_back(dot), same.push_back(p.same);
  }
  if (scores.size() < 2) return -1;
  VerificationOptions opts;
  opts.threshold_rule = "middle";  // as `facekit verify`
  return evaluate_verification(scores, same, opts).accuracy_mean;
}

}  // namespace

std::vector<EpochMetrics> train(const TrainConfig& config_in, const TrainCallbacks& cb) {
  TrainConfig c = config_in;
  check_config(c);
  const Device device = parse_device(c.device);
  auto message = [&](const std::string& m) {
    if (cb.on_message) cb.on_message(m);
  };
  const ArchInfo& arch = find_architecture(c.arch);
  FK_CHECK(arch.height > 0 && arch.width > 0, "train: ", c.arch, " takes inputs of any size; pick a recognition model");

  // ---- data
  std::shared_ptr<data::Dataset> all = data::open_dataset(c.data, c.data_root);
  std::shared_ptr<const data::Dataset> train_set = all;
  Validator val;
  FacePreprocess prep = training_preprocess(arch);
  data::BoxFinder finder;
  if (c.face_crop) {
    FK_CHECK(!c.mtcnn_weights.empty(), "train: --face-crop needs the MTCNN weights folder");
    finder = mtcnn_box_finder(c.mtcnn_weights);
  }
  val.pipeline = make_pipeline(c, prep, false, finder);
  if (!c.val.empty()) {
    auto v = data::open_dataset(c.val);
    FK_CHECK(v->classes() == all->classes(), c.val, ": its identities differ from those of ", c.data,
             " (classification validation needs the same class folders)");
    val.kind = "classification", val.images = v;
  } else if (!c.val_pairs.empty()) {
    val.kind = "verification";
    val.pairs = read_pairs(c.val_pairs, c.val_images);
    std::set<std::string> distinct;
    for (const auto& p : val.pairs) distinct.insert(p.image1), distinct.insert(p.image2);
    val.pair_images.assign(distinct.begin(), distinct.end());
  } else if (c.val_split > 0) {
    auto [train_idx, val_idx] = data::split_per_class(*all, c.val_split, c.seed);
    train_set = std::make_shared<data::Subset>(all, train_idx);
    val.kind = "classification", val.images = std::make_shared<data::Subset>(all, val_idx);
  }
  const int64_t num_classes = int64_t(all->classes().size());
  FK_CHECK(num_classes >= 2, c.data, ": found ", num_classes, " identity; training needs at least two");

  // ---- model and head
  manual_seed(c.seed);
  ArchOptions opts;
  opts.num_classes = num_classes;  // used by classifier architectures only
  if (!c.classifier.empty()) opts.head = c.classifier;
  std::shared_ptr<Model> model = arch.make(opts);
  ModelKind kind = probe(*model, arch);
  FK_CHECK(!kind.classifier || c.head == "softmax" || c.head == "focal", "train: ", c.arch,
           " ends in a classifier; use --head softmax or focal with it (margin heads need an embedding model)");
  if (!c.pretrained.empty()) load_pretrained(*model, c, cb);
  if (c.freeze_backbone) freeze_backbone(*model, kind);
  std::shared_ptr<Module> head;
  if (!kind.classifier) head = make_head(c, kind.features, num_classes);
  std::shared_ptr<CenterLoss> center;
  if (c.center_loss > 0) center = std::make_shared<CenterLoss>(num_classes, kind.features, c.center_alpha);
  auto* margin_head = dynamic_cast<MarginHead*>(head.get());
  auto* sphereface = dynamic_cast<SphereFace*>(head.get());

  // ---- optimiser: BatchNorm/PReLU/bias parameters without weight decay unless --bn-decay
  std::vector<optim::ParamGroup> groups = optim::sgd_bn_groups(*model, c.weight_decay, true, "model.");
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
  std::unique_ptr<optim::Optimizer> opt;
  if (c.optimizer == "sgd") {
    optim::SGDOptions o;
    o.lr = c.lr, o.momentum = c.momentum, o.nesterov = c.nesterov;
    opt = std::make_unique<optim::SGD>(groups, o);
  } else {
    optim::AdamOptions o;
    o.lr = c.lr;
    if (c.optimizer == "adam") opt = std::make_unique<optim::Adam>(groups, o);
    else opt = std::make_unique<optim::AdamW>(groups, o);
  }
  auto make_main = [&](optim::Optimizer& o) -> std::shared_ptr<optim::LRScheduler> {
    const int64_t after_warmup = c.epochs - c.warmup_epochs;
    if (c.schedule == "cosine") return std::make_shared<optim::CosineAnnealingLR>(o, after_warmup);
    std::vector<int64_t> ms;  // milestones counted from the end of the warm-up
    for (int64_t m : c.milestones) ms.push_back(m - c.warmup_epochs);
    if (c.schedule == "none") ms.clear();
    return std::make_shared<optim::MultiStepLR>(o, ms, c.lr_gamma);
  };
  std::shared_ptr<optim::LRScheduler> sched =
      c.warmup_epochs > 0 ? optim::warmup_then(*opt, 0.1, c.warmup_epochs, make_main) : make_main(*opt);

  // ---- run folder, resume
  fs::path dir(c.out);
  fs::create_directories(dir);
  for (const auto& stale : data::remove_stale_temporaries(dir.string()))
    message("removed " + stale + " (left by a run that died while writing)");
  const std::string cfg = config_text(c, all->classes());
  const fs::path last = dir / "last.pth", best = dir / "best.pth";
  History h;
  int64_t start_epoch = 0;
  double best_metric = -INFINITY;
  if (c.resume && fs::exists(last)) {
    std::string before = fs::exists(dir / "config.txt") ? data::read_file((dir / "config.txt").string()) : "";
    FK_CHECK(before == cfg, (dir / "config.txt").string(), ": the run was started with other settings or data (",
             config_difference(before, cfg), "); resume with the same options (or start a new --out)");
    StateDict file = data::read_torch(last.string());
    model->load_state_dict(file.under("model_state_dict."));
    StateDict hs = file.under("head_state_dict.");
    if (head) head->load_state_dict(hs.under("head."));
    if (center) center->load_state_dict(hs.under("center."));
    opt->load_state_dict(file.under("optim_state_dict."));
    sched->load_state_dict(file.under("scheduler_state_dict."));
    StateDict t = file.under("trainer.");
    start_epoch = int64_t(t.at("epoch").item());
    best_metric = t.at("best_metric").item();
    if (sphereface) sphereface->iteration = int64_t(t.at("sphereface_iteration").item());
    auto names = History::names();
    auto fields = h.all();
    for (size_t i = 0; i < names.size(); ++i) {
      // checkpoints of runs older than loader_wait lack it: zeros
      if (names[i] == "loader_wait" && !t.contains("history.loader_wait")) *fields[i] = std::vector<double>(h.lr.size());
      else *fields[i] = unvec(t.at("history." + names[i]));
    }
    message("resuming " + last.string() + " after epoch " + std::to_string(start_epoch));
  } else {
    FK_CHECK(!c.resume || !fs::exists(dir / "config.txt"), dir.string(),
             ": --resume but no last.pth (the run ended before its first epoch): start it again without --resume");
    FK_CHECK(!fs::exists(last), last.string(), " exists: pass --resume to continue that run, or choose another --out");
    data::write_file_atomic((dir / "config.txt").string(), cfg);
  }
  // Everything above was built (and resumed) on the CPU; now it moves to the training device. The
  // optimiser's parameter handles follow (Module::to converts in place), its state is moved here.
  if (device.is_cuda()) {
    model->to(device);
    if (head) head->to(device);
    if (center) center->to(device);
    opt->load_state_dict(optimizer_state_to(opt->state_dict(), device));
    message("training on " + device.str() + " (" + cuda::describe() + ")");
  }

  // ---- the loop
  data::LoaderOptions lo;
  lo.batch_size = c.batch, lo.shuffle = true, lo.drop_last = true, lo.num_workers = c.workers, lo.seed = c.seed;
  lo.pin_memory = device.is_cuda();
  if (int64_t(train_set->size()) < c.batch) lo.drop_last = false;
  data::DataLoader loader(train_set, make_pipeline(c, prep, true, finder), lo);
  const int64_t steps = loader.batches_per_epoch();
  int64_t total_steps_done = 0, nonfinite_in_a_row = 0;
  const std::string val_kind = val.kind;

  // What the run folder can be resumed from, for the messages that stop a run.
  auto last_good = [&](int64_t epoch) {
    return fs::exists(last) ? last.string() + " (after epoch " + std::to_string(epoch) + ")"
                            : std::string("none (no epoch finished)");
  };
  // A checkpoint is only written when every value in it is finite (a diverged run once saved a
  // backbone.pth whose BatchNorm running_var was infinite, and named such a last.pth as good).
  auto check_finite = [&](const StateDict& sd, const std::string& what, int64_t epochs_done) {
    const NonFiniteEntries bad = count_nonfinite(sd);
    if (bad.count == 0) return;
    throw Error("train: after epoch " + std::to_string(epochs_done) + " the " + what + " holds " +
                nonfinite_text(bad.count) + ", the first in '" + bad.first_key +
                "'; stopped without writing a checkpoint. Last good checkpoint: " + last_good(epochs_done - 1));
  };

  auto save = [&](int64_t epochs_done) {
    StateDict hs;
    // every tensor from a CPU copy: the files are those of a CPU run whatever the device
    const Device cpu = Device::cpu();
    if (head)
      for (const auto& [k, t] : head->state_dict()) hs.set("head." + k, t.to(cpu));
    if (center)
      for (const auto& [k, t] : center->state_dict()) hs.set("center." + k, t.to(cpu));
    StateDict t;
    t.set("epoch", scalar(double(epochs_done)));
    t.set("best_metric", scalar(best_metric));
    t.set("sphereface_iteration", scalar(sphereface ? double(sphereface->iteration) : 0.0));
    // the random state: every draw is seeded from (seed, epoch, sample or step), so the seed is all of it
    t.set("seed", full({}, double(int64_t(c.seed)), DType::Int64));
    auto names = History::names();
    auto fields = h.all();
    for (size_t i = 0; i < names.size(); ++i) t.set("history." + names[i], vec(*fields[i]));
    const StateDict model_sd = to_device(model->state_dict(), cpu), optim_sd = to_device(opt->state_dict(), cpu);
    check_finite(model_sd, "model (weights and BatchNorm statistics)", epochs_done);
    check_finite(hs, "head", epochs_done);
    check_finite(optim_sd, "optimiser state", epochs_done);
    data::TorchCheckpoint ck = {{"epoch", epochs_done},
                                {"arch", c.arch},
                                {"head", c.head},
                                {"model_state_dict", model_sd},
                                {"head_state_dict", hs},
                                {"optim_state_dict", optim_sd},
                                {"scheduler_state_dict", sched->state_dict()},
                                {"trainer", t}};
    data::write_torch_checkpoint(last.string(), ck);
    return ck;
  };

  // last.pth is written first and is the run's record; best.pth (its copy) and backbone.pth (its model
  // state dict) follow when its epoch is the best, then metrics.jsonl. A crash between those writes
  // leaves them behind last.pth, so a resumed run writes them again from it before going on.
  auto abort_before = [&](const std::string& file, int64_t epochs_done) {
    if (c.abort_before_write == file + "@" + std::to_string(epochs_done)) std::_Exit(137);  // a simulated crash
  };
  auto write_best = [&](int64_t epochs_done) {
    abort_before("best.pth", epochs_done);
    data::write_file_atomic(best.string(), data::read_file(last.string()));
    abort_before("backbone.pth", epochs_done);
    data::write_torch((dir / "backbone.pth").string(), to_device(model->state_dict(), Device::cpu()));
  };
  if (c.resume && start_epoch > 0) {
    if (!h.best.empty() && h.best.back() != 0) write_best(start_epoch);
    write_metrics(dir, h, val_kind);
  }

  // Unreadable training images: each reported once per run (a resumed run reads the list back) and
  // listed in skipped.txt; more than --max-bad of the training set stops the run.
  const fs::path skipped_txt = dir / "skipped.txt";
  std::vector<std::string> bad_files;
  std::set<std::string> bad_seen;
  if (c.resume && fs::exists(skipped_txt)) {
    std::istringstream in(data::read_file(skipped_txt.string()));
    for (std::string line; std::getline(in, line);)
      if (!line.empty() && bad_seen.insert(line).second) bad_files.push_back(line);
  }
  auto note_skipped = [&](int64_t& count_this_epoch) {
    bool grew = false;
    for (const auto& s : loader.take_skipped()) {
      ++count_this_epoch;
      if (!bad_seen.insert(s).second) continue;
      bad_files.push_back(s);
      message("skipped " + s);
      grew = true;
    }
    if (!grew) return;
    std::string text;
    for (const auto& s : bad_files) text += s + "\n";
    data::write_file_atomic(skipped_txt.string(), text);
    const double limit = c.max_bad * double(train_set->size());
    FK_CHECK(double(bad_files.size()) <= limit, "train: ", bad_files.size(), " of ", train_set->size(),
             " training images could not be read, more than --max-bad ", num(c.max_bad * 100), " %; they are listed in ",
             skipped_txt.string());
  };

  for (int64_t epoch = start_epoch; epoch < c.epochs; ++epoch) {
    model->train();
    if (head) head->train();
    const double lr = sched->get_last_lr()[0];
    loader.start_epoch(epoch);
    data::Batch batch;
    double loss_sum = 0;
    int64_t right = 0, seen = 0, step = 0, skipped_this_epoch = 0;
    double loader_wait = 0;  // seconds this thread waited for batches
    const auto t0 = Clock::now();
    for (;;) {
      const auto w0 = Clock::now();
      const bool more = loader.next(batch);
      loader_wait += std::chrono::duration<double>(Clock::now() - w0).count();
      note_skipped(skipped_this_epoch);
      if (!more) break;
      // dropout draws depend on (seed, epoch, step) only, so a resumed run draws the same masks
      manual_seed(data::hash_seed({c.seed, uint64_t(epoch), uint64_t(step), 0x64726f70ULL}));
      Tensor x = batch.images;
      if (c.sample_pairing && data::sample_pairing_active(epoch, c.epochs)) {
        data::Rng rng(data::batch_seed(c.seed, epoch, step));
        x = data::sample_pairing(x, 0.5, rng);
      }
      // to the training device (no copy on the CPU; from pinned memory on a GPU)
      x = x.to(device);
      const Tensor labels = batch.labels.to(device);
      Tensor out = flatten(model->forward(x), 1);
      Tensor logits = !head ? out : margin_head ? margin_head->forward(out, labels) : (*head)(out);
      Tensor loss = c.head == "focal" ? focal_loss(logits, labels, c.focal_gamma) : cross_entropy(logits, labels);
      if (center) loss = add(loss, mul(center->forward(out, labels), c.center_loss));
      const double value = loss.item();
      if (!std::isfinite(value)) {
        throw Error("train: the loss is " + std::string(std::isnan(value) ? "NaN" : "infinite") + " at epoch " +
                    std::to_string(epoch + 1) + ", step " + std::to_string(step + 1) + " of " + std::to_string(steps) +
                    " (lr " + num(lr) + "); stopped. Last good checkpoint: " + last_good(epoch));
      }
      // gradients dropped, not zeroed (torch 2's default): backward then writes each .grad instead of
      // adding into zeros, and a parameter the loss does not reach is left alone by the step
      opt->zero_grad(/*set_to_none=*/true);
      if (center) center->zero_grad();
      loss.backward();
      if (c.clip_grad_norm > 0) {
        std::vector<Tensor> ps;
        for (const auto& g : opt->param_groups())
          for (const auto& [n, p] : g.params) ps.push_back(p);
        optim::clip_grad_norm_(ps, c.clip_grad_norm);
      }
      if (total_steps_done < c.nan_gradient_steps) {  // testing aid: what an overflow would leave
        Tensor g = opt->param_groups()[0].params[0].second.grad();
        ops::fill_(g, NAN);
      }
      // a step whose gradients hold NaN or Inf is skipped (as mixed-precision trainers do) and counted;
      // kMaxNonfiniteSteps of them in a row stop the run
      if (!gradients_finite(*opt)) {
        ++nonfinite_in_a_row;
        message("epoch " + std::to_string(epoch + 1) + ", step " + std::to_string(step + 1) +
                ": non-finite gradients, the step is skipped (" + std::to_string(nonfinite_in_a_row) + " in a row)");
        if (nonfinite_in_a_row >= kMaxNonfiniteSteps)
          throw Error("train: " + std::to_string(nonfinite_in_a_row) + " steps in a row had non-finite gradients, the last at epoch " +
                      std::to_string(epoch + 1) + ", step " + std::to_string(step + 1) + " (lr " + num(lr) +
                      "); stopped. Last good checkpoint: " + last_good(epoch));
      } else {
        nonfinite_in_a_row = 0;
        opt->step();
      }
      if (center && c.center_alpha > 0) center->update_centers(out.detach(), labels);

      Tensor pred = argmax(logits.detach(), 1).to(Device::cpu()).contiguous();
      const int64_t n = batch.labels.size(0);
      for (int64_t i = 0; i < n; ++i) right += pred.data<int64_t>()[i] == batch.labels.data<int64_t>()[i];
      loss_sum += value * double(n), seen += n, ++step, ++total_steps_done;
      if (cb.on_step) {
        double secs = std::chrono::duration<double>(Clock::now() - t0).count();
        StepInfo s;
        s.epoch = epoch, s.epochs = c.epochs, s.step = step, s.steps = steps;
        s.loss = loss_sum / double(seen), s.accuracy = double(right) / double(seen);
        s.images_per_second = secs > 0 ? double(seen) / secs : 0;
        s.eta_seconds = step > 0 ? secs / double(step) * double(steps - step) : 0;
        cb.on_step(s);
      }
      if (c.abort_after_steps >= 0 && total_steps_done >= c.abort_after_steps) std::_Exit(137);  // a simulated crash
    }
    note_skipped(skipped_this_epoch);
    FK_CHECK(seen > 0, c.data, ": no image of epoch ", epoch + 1, " could be used");
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();

    double val_acc = -1;
    if (!val.kind.empty()) val_acc = validate(val, *model, head.get(), kind.classifier, c.batch, device, cb);
    const double train_loss = loss_sum / double(seen);
    const double metric = val_acc < 0 ? -train_loss : val_acc;
    const bool is_best = metric > best_metric;
    if (is_best) best_metric = metric;
    h.lr.push_back(lr), h.train_loss.push_back(train_loss), h.train_accuracy.push_back(double(right) / double(seen));
    h.val_accuracy.push_back(val_acc), h.images_per_second.push_back(double(seen) / secs), h.seconds.push_back(secs);
    h.skipped.push_back(double(skipped_this_epoch)), h.best.push_back(is_best ? 1 : 0), h.loader_wait.push_back(loader_wait);
    sched->step();

    save(epoch + 1);
    if (is_best) write_best(epoch + 1);
    abort_before("metrics.jsonl", epoch + 1);
    write_metrics(dir, h, val_kind);
    if (cb.on_epoch) cb.on_epoch(metrics_at(h, h.lr.size() - 1, val_kind));
  }
  std::vector<EpochMetrics> out;
  for (size_t e = 0; e < h.lr.size(); ++e) out.push_back(metrics_at(h, e, val_kind));
  return out;
}

}  // namespace fk::models
