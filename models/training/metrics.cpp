// The metric history of a training run and its files (see metrics.h).
#include "models/training/metrics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/formats/files.h"
#include "data/image/image.h"
#include "data/viz/plot.h"
#include "tensor/creation.h"

namespace fk::models {

namespace {

const std::vector<std::string>& field_names() {
  static const std::vector<std::string> names = {"lr",      "train_loss", "train_accuracy", "val_accuracy", "images_per_second",
                                                 "seconds", "skipped",    "best",           "loader_wait"};
  return names;
}

// JSON null for a value that is not a number (nlohmann writes NaN as null too; said here, not assumed)
nlohmann::ordered_json number(double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nullptr; }

}  // namespace

std::vector<const std::vector<double>*> History::fields() const {
  return {&lr_, &train_loss_, &train_accuracy_, &val_accuracy_, &images_per_second_, &seconds_, &skipped_, &best_,
          &loader_wait_};
}

std::vector<std::vector<double>*> History::fields() {
  return {&lr_, &train_loss_, &train_accuracy_, &val_accuracy_, &images_per_second_, &seconds_, &skipped_, &best_,
          &loader_wait_};
}

void History::add(const EpochMetrics& m) {
  lr_.push_back(m.lr), train_loss_.push_back(m.train_loss), train_accuracy_.push_back(m.train_accuracy);
  val_accuracy_.push_back(m.val_accuracy), images_per_second_.push_back(m.images_per_second);
  seconds_.push_back(m.seconds), skipped_.push_back(double(m.skipped_images)), best_.push_back(m.best ? 1 : 0);
  loader_wait_.push_back(m.loader_wait_seconds);
  for (size_t b = 0; b < bin_names_.size(); ++b) {
    double acc = -1;
    for (const auto& [name, value] : m.val_bins)
      if (name == bin_names_[b]) acc = value;
    bin_accuracy_[b].push_back(acc);
  }
}

EpochMetrics History::at(size_t e) const {
  EpochMetrics m;
  m.epoch = int64_t(e), m.lr = lr_[e], m.train_loss = train_loss_[e], m.train_accuracy = train_accuracy_[e];
  m.val_accuracy = val_accuracy_[e], m.val_kind = val_accuracy_[e] >= 0 ? val_kind_ : "";
  m.images_per_second = images_per_second_[e], m.seconds = seconds_[e], m.loader_wait_seconds = loader_wait_[e];
  m.skipped_images = int64_t(skipped_[e]), m.best = best_[e] != 0;
  for (size_t b = 0; b < bin_names_.size(); ++b) m.val_bins.emplace_back(bin_names_[b], bin_accuracy_[b][e]);
  return m;
}

std::vector<EpochMetrics> History::all() const {
  std::vector<EpochMetrics> out;
  for (size_t e = 0; e < epochs(); ++e) out.push_back(at(e));
  return out;
}

void History::save(StateDict& out, const std::string& prefix) const {
  const auto f = fields();
  for (size_t i = 0; i < f.size(); ++i) {
    Tensor t = empty({int64_t(f[i]->size())}, DType::Float64);
    std::copy(f[i]->begin(), f[i]->end(), t.data<double>());
    out.set(prefix + field_names()[i], t);
  }
  for (size_t b = 0; b < bin_names_.size(); ++b) {
    Tensor t = empty({int64_t(bin_accuracy_[b].size())}, DType::Float64);
    std::copy(bin_accuracy_[b].begin(), bin_accuracy_[b].end(), t.data<double>());
    out.set(prefix + "val_bin." + bin_names_[b], t);
  }
}

void History::load(const StateDict& in, const std::string& prefix) {
  const auto f = fields();
  for (size_t i = 0; i < f.size(); ++i) {
    std::vector<double>& v = *f[i];
    const std::string key = prefix + field_names()[i];
    if (field_names()[i] == "loader_wait" && !in.contains(key)) {
      v.assign(lr_.size(), 0.0);
      continue;
    }
    Tensor c = in.at(key).to(DType::Float64).contiguous();
    v.assign(c.data<double>(), c.data<double>() + c.numel());
  }
  for (size_t b = 0; b < bin_names_.size(); ++b) {
    const std::string key = prefix + "val_bin." + bin_names_[b];
    std::vector<double>& v = bin_accuracy_[b];
    v.assign(lr_.size(), -1.0);  // a set added on resume: not measured in the earlier epochs
    if (!in.contains(key)) continue;
    Tensor c = in.at(key).to(DType::Float64).contiguous();
    std::copy(c.data<double>(), c.data<double>() + std::min<int64_t>(c.numel(), int64_t(v.size())), v.begin());
  }
}

void History::write_files(const std::string& dir_name) const {
  const std::filesystem::path dir(dir_name);
  std::string lines;
  for (const EpochMetrics& m : all()) {
    nlohmann::ordered_json j;
    j["epoch"] = m.epoch + 1;
    j["lr"] = number(m.lr);
    j["train_loss"] = number(m.train_loss);
    j["train_accuracy"] = number(m.train_accuracy);
    j["val_accuracy"] = m.val_accuracy >= 0 ? number(m.val_accuracy) : nullptr;
    j["val_kind"] = m.val_kind.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(m.val_kind);
    if (!m.val_bins.empty()) {  // --val-bin sets: {"lfw": 0.9917, ...}
      nlohmann::ordered_json bins = nlohmann::ordered_json::object();
      for (const auto& [name, acc] : m.val_bins) bins[name] = acc >= 0 ? number(acc) : nullptr;
      j["val_bins"] = bins;
    }
    j["images_per_second"] = number(m.images_per_second);
    j["seconds"] = number(m.seconds);
    j["loader_wait_seconds"] = number(m.loader_wait_seconds);
    j["skipped_images"] = m.skipped_images;
    j["best"] = m.best;
    lines += j.dump() + "\n";
  }
  data::write_file_atomic((dir / "metrics.jsonl").string(), lines);

  std::vector<double> epochs;
  for (size_t e = 0; e < lr_.size(); ++e) epochs.push_back(double(e + 1));
  std::vector<data::Series> series = {{"train loss", epochs, train_loss_, {31, 119, 180}}};
  data::PlotOptions loss_opts;
  loss_opts.title = "training loss", loss_opts.x_label = "epoch", loss_opts.y_label = "loss";
  loss_opts.width = 640, loss_opts.height = 360;
  data::Image loss = data::line_plot(series, loss_opts);
  std::vector<data::Series> acc = {{"train accuracy", epochs, train_accuracy_, {44, 160, 44}}};
  std::vector<double> val = val_accuracy_;
  for (double& v : val) v = v >= 0 ? v : NAN;
  acc.push_back({"val accuracy (" + val_kind_ + ")", epochs, val, {214, 39, 40}});
  const std::vector<data::Rgb> bin_colours = {{148, 103, 189}, {140, 86, 75}, {227, 119, 194},
                                                           {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
  for (size_t b = 0; b < bin_names_.size(); ++b) {
    std::vector<double> v = bin_accuracy_[b];
    for (double& x : v) x = x >= 0 ? x : NAN;
    acc.push_back({bin_names_[b] + " (--val-bin)", epochs, v, bin_colours[b % bin_colours.size()]});
  }
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

}  // namespace fk::models
