// Training settings: names, checks, config.txt (see config.h).
#include "models/training/config.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <sstream>
#include <utility>

#include "cuda/runtime.h"
#include "tensor/error.h"
#include "tensor/format.h"

namespace fk::models {

const char* name_of(HeadKind h) {
  switch (h) {
    case HeadKind::arcface: return "arcface";
    case HeadKind::cosface: return "cosface";
    case HeadKind::sphereface: return "sphereface";
    case HeadKind::softmax: return "softmax";
    case HeadKind::focal: return "focal";
  }
  return "?";
}
const char* name_of(OptimizerKind o) {
  switch (o) {
    case OptimizerKind::sgd: return "sgd";
    case OptimizerKind::adam: return "adam";
    case OptimizerKind::adamw: return "adamw";
  }
  return "?";
}
const char* name_of(ScheduleKind s) {
  switch (s) {
    case ScheduleKind::step: return "step";
    case ScheduleKind::cosine: return "cosine";
    case ScheduleKind::none: return "none";
  }
  return "?";
}

namespace {

// The value of Kind whose name_of is `name`, else an error naming the option and every accepted name.
template <typename Kind>
Kind parse_kind(const std::string& name, const char* option, std::initializer_list<Kind> kinds) {
  std::string expected;  // appended piece by piece: GCC 12 warns (-Wrestrict, a false alarm) on "a" + string
  size_t i = 0;
  for (Kind k : kinds) {
    if (name == name_of(k)) return k;
    if (i > 0) expected.append(i + 1 == kinds.size() ? " or " : ", ");
    expected.append(name_of(k));
    ++i;
  }
  std::string text = "train: unknown ";
  text.append(option).append(" '").append(name).append("' (expected ").append(expected).append(")");
  throw Error(text);
}

std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(v[i]);  // not `"," + to_string`: GCC 12 warns there (-Wrestrict, a false alarm)
  }
  return s;
}

}  // namespace

HeadKind parse_head(const std::string& name) {
  using H = HeadKind;
  return parse_kind(name, "--head", {H::arcface, H::cosface, H::sphereface, H::softmax, H::focal});
}
OptimizerKind parse_optimizer(const std::string& name) {
  using O = OptimizerKind;
  return parse_kind(name, "--optimizer", {O::sgd, O::adam, O::adamw});
}
ScheduleKind parse_schedule(const std::string& name) {
  using S = ScheduleKind;
  return parse_kind(name, "--schedule", {S::step, S::cosine, S::none});
}

void check_config(TrainConfig& c) {
  FK_CHECK(!c.data.empty(), "train: --data is required");
  FK_CHECK(!c.out.empty(), "train: --out is required");
  FK_CHECK(c.epochs >= 1 && c.batch >= 1, "train: --epochs and --batch must be at least 1");
  FK_CHECK(c.lr > 0 && std::isfinite(c.lr), "train: --lr must be a positive number");
  FK_CHECK(c.val_split >= 0 && c.val_split < 1, "train: --val-split must be in [0, 1)");
  FK_CHECK(c.warmup_epochs >= 0 && c.warmup_epochs < c.epochs, "train: --warmup must be shorter than the run");
  if (c.schedule == ScheduleKind::step && c.milestones.empty()) {
    c.milestones = {std::max<int64_t>(1, int64_t(0.6 * double(c.epochs))),
                    std::max<int64_t>(1, int64_t(0.85 * double(c.epochs)))};
    if (c.milestones[1] == c.milestones[0]) c.milestones.pop_back();
  }
}

std::string config_text(const TrainConfig& c, const std::vector<std::string>& classes) {
  const auto num = shortest_g;
  std::ostringstream s;
  s << "arch = " << c.arch << "\nclassifier = " << c.classifier << "\nhead = " << name_of(c.head) << "\nmargin_s = "
    << num(c.margin_s) << "\nmargin_m = " << num(c.margin_m) << "\nfocal_gamma = " << num(c.focal_gamma)
    << "\ncenter_loss = " << num(c.center_loss) << "\ncenter_alpha = " << num(c.center_alpha)
    << "\nfreeze_backbone = " << c.freeze_backbone << "\nepochs = " << c.epochs << "\nbatch = " << c.batch
    << "\noptimizer = " << name_of(c.optimizer) << "\nlr = " << num(c.lr) << "\nmomentum = " << num(c.momentum)
    << "\nweight_decay = " << num(c.weight_decay) << "\nnesterov = " << c.nesterov << "\nbn_decay = " << c.bn_decay
    << "\nschedule = " << name_of(c.schedule) << "\nmilestones = " << join(c.milestones)
    << "\nlr_gamma = " << num(c.lr_gamma) << "\nwarmup_epochs = " << c.warmup_epochs
    << "\nclip_grad_norm = " << num(c.clip_grad_norm) << "\nflip = " << c.flip << "\nrotate = " << num(c.rotate)
    << "\ncolor_jitter = " << num(c.color_jitter) << "\nrandom_erasing = " << num(c.random_erasing)
    << "\nsample_pairing = " << c.sample_pairing << "\nface_crop = " << c.face_crop << "\nseed = " << c.seed
    << "\nval_split = " << num(c.val_split) << "\nclasses = " << classes.size() << "\n";
  for (const auto& name : classes) s << "class = " << name << "\n";
  return s.str();
}

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

}  // namespace fk::models
