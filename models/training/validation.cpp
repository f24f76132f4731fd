// Validation of a training run (see validation.h).
#include "models/training/validation.h"

#include <filesystem>
#include <map>
#include <set>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "data/image/image.h"
#include "models/recognition/face_embedder.h"
#include "models/recognition/scores.h"
#include "tensor/error.h"
#include "tensor/reduce.h"

namespace fk::models {

namespace {

// Embeddings (or logits) of images through the model in eval mode, in batches. An image that cannot
// be read (or has no face with --face-crop) gets no row: ok[i] says which did. The rows come back on
// the CPU whatever `device` the model is on.
Tensor model_outputs(Model& model, const std::vector<std::string>& paths, const data::Pipeline& pipe, int64_t batch,
                     Device device, std::vector<bool>& ok, const std::function<void(const std::string&)>& message) {
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
      if (message) message(std::string("validation image skipped: ") + e.what());
    }
    if (int64_t(xs.size()) == batch) flush();
  }
  flush();
  return parts.empty() ? Tensor() : cat(parts, 0);
}

}  // namespace

Validation make_validation(const TrainConfig& c, const std::shared_ptr<data::Dataset>& all,
                           std::shared_ptr<const data::Dataset>& train_set, data::Pipeline pipeline,
                           data::Pipeline bin_pipeline) {
  Validation val;
  val.pipeline = std::move(pipeline);
  val.bin_pipeline = std::move(bin_pipeline);
  std::set<std::string> names;
  for (const std::string& path : c.val_bins) {
    BinValidation b;
    b.name = std::filesystem::path(path).stem().string(), b.path = path;
    FK_CHECK(names.insert(b.name).second, "train: two --val-bin sets are named '", b.name, "' (", path,
             "): give files with different names");
    b.set = std::make_shared<const data::VerificationBin>(data::read_verification_bin(path));
    FK_CHECK(b.set->pairs() >= 10, path, ": ", b.set->pairs(), " pairs, fewer than the 10 folds");
    val.bins.push_back(std::move(b));
  }
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
  return val;
}

double validate(const Validation& v, Model& model, Module* head, bool classifier, int64_t batch, Device device,
                const std::function<void(const std::string&)>& message) {
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
    Tensor out = model_outputs(model, paths, v.pipeline, batch, device, ok, message);
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
  // verification: the cosine of each pair's embeddings, the 10-fold protocol
  std::vector<bool> ok;
  Tensor out = model_outputs(model, v.pair_images, v.pipeline, batch, device, ok, message);
  if (!out.defined()) return -1;
  std::map<std::string, int64_t> row;  // the embedding row of each usable image
  for (size_t i = 0, r = 0; i < v.pair_images.size(); ++i)
    if (ok[i]) row[v.pair_images[i]] = int64_t(r++);
  std::vector<int64_t> rows1, rows2;
  std::vector<bool> same;
  for (const auto& p : v.pairs) {
    if (!row.count(p.image1) || !row.count(p.image2)) continue;  // an image was skipped: so is the pair
    rows1.push_back(row[p.image1]), rows2.push_back(row[p.image2]), same.push_back(p.same);
  }
  if (rows1.size() < 2) return -1;
  const std::vector<double> scores = pair_cosines(normalize(out, 1), rows1, rows2);  // L2-normalised rows
  VerificationOptions opts;
  opts.threshold_rule = "middle";  // as `facekit verify`
  return evaluate_verification(scores, same, opts).accuracy_mean;
}

std::vector<double> validate_bins(const Validation& v, Model& model, int64_t batch, Device device,
                                  const std::function<void(const std::string&)>& message) {
  model.eval();
  autograd::NoGrad no_grad;
  std::vector<double> out;
  data::Rng rng(0);
  for (const BinValidation& b : v.bins) {
    // embeddings of each image and its mirror image, summed (insightface's verification.py), in batches
    // of `batch` images; undecodable images get no row
    const data::VerificationBin& set = *b.set;
    std::vector<int64_t> row(set.images.size(), -1);
    std::vector<Tensor> parts, xs, mirrored;
    int64_t rows = 0;
    auto flush = [&]() {
      if (xs.empty()) return;
      Tensor e = ops::add(flatten(model.forward(stack(xs, 0).to(device)), 1),
                          flatten(model.forward(stack(mirrored, 0).to(device)), 1));
      parts.push_back(e.to(Device::cpu()));
      xs.clear(), mirrored.clear();
    };
    for (size_t i = 0; i < set.images.size(); ++i) {
      try {
        data::Image img = data::decode_image(set.images[i], b.path + " image " + std::to_string(i));
        xs.push_back(v.bin_pipeline(img, rng));
        mirrored.push_back(v.bin_pipeline(mirror(img), rng));
        row[i] = rows++;
      } catch (const std::exception& e) {
        if (message) message(std::string("validation image skipped: ") + e.what());
      }
      if (int64_t(xs.size()) == batch) flush();
    }
    flush();
    std::vector<int64_t> rows1, rows2;
    std::vector<bool> same;
    for (int64_t k = 0; k < set.pairs(); ++k) {
      const int64_t r1 = row[size_t(2 * k)], r2 = row[size_t(2 * k + 1)];
      if (r1 < 0 || r2 < 0) continue;
      rows1.push_back(r1), rows2.push_back(r2), same.push_back(set.same[size_t(k)]);
    }
    if (rows1.size() < 10) {
      out.push_back(-1);
      continue;
    }
    const std::vector<double> scores = pair_cosines(normalize(cat(parts, 0), 1), rows1, rows2);
    VerificationOptions opts;
    opts.folds_mode = "contiguous", opts.threshold_rule = "first";  // insightface's KFold and argmax
    out.push_back(evaluate_verification(scores, same, opts).accuracy_mean);
  }
  return out;
}

}  // namespace fk::models
