// Face crops and embeddings for the recognition commands (see face_embedder.h).
#include "models/recognition/face_embedder.h"

#include <cmath>
#include <cstdio>

#include "autograd/node.h"
#include "data/image/align.h"
#include "data/formats/sha256.h"
#include "data/formats/weights.h"
#include "tensor/finite.h"
#include "tensor/cpu_allocator.h"
#include "tensor/error.h"

namespace fk::models {

namespace {

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

}  // namespace

std::string FacePreprocess::describe() const {
  std::string s = crop + " " + std::to_string(width) + "x" + std::to_string(height);
  if (crop == "facenet") s += " margin " + std::to_string(margin);
  s += bgr ? ", BGR" : ", RGB";
  bool same = mean[0] == mean[1] && mean[1] == mean[2] && std[0] == std[1] && std[1] == std[2];
  if (same) return s + ", (x - " + num(mean[0]) + ") / " + num(std[0]);
  return s + ", (x - (" + num(mean[0]) + ", " + num(mean[1]) + ", " + num(mean[2]) + ")) / (" + num(std[0]) + ", " +
         num(std[1]) + ", " + num(std[2]) + ")";
}

FacePreprocess default_preprocess(const std::string& arch) {
  find_architecture(arch);  // unknown names: the zoo's error listing every architecture
  FacePreprocess p;
  if (arch == "mobilefacenet") {  // weights/mobilefacenet_casia/README.md
    p.crop = "sphereface", p.width = 96, p.height = 112;
  } else if (arch.rfind("ir_", 0) == 0) {  // egcode/face.evoLVe: (x - 127.5) / 128 on ArcFace crops
    p.crop = "arcface";
  } else if (arch.rfind("iresnet", 0) == 0) {  // insightface: ((x / 255) - 0.5) / 0.5
    p.crop = "arcface", p.std = {127.5, 127.5, 127.5};
  } else if (arch == "inception_resnet_v1") {  // facenet-pytorch: MTCNN crop 160, fixed_image_standardization
    p.crop = "facenet", p.width = p.height = 160;
  } else if (arch == "resnet50_vggface2" || arch == "senet50_vggface2") {  // models.md §1: BGR minus the mean
    p.crop = "vggface2", p.width = p.height = 224, p.bgr = true;
    p.mean = {91.4953, 103.8827, 131.0912}, p.std = {1, 1, 1};
  } else {
    throw Error("architecture '" + arch + "' does not produce a face embedding (use a recognition model: " +
                "mobilefacenet, ir_50, ir_se_50, ir_101, iresnet18/34/50/100, inception_resnet_v1, " +
                "resnet50_vggface2, senet50_vggface2)");
  }
  return p;
}

FacePreprocess with_crop(FacePreprocess base, const std::string& crop_name) {
  FK_CHECK(crop_name == "arcface" || crop_name == "sphereface" || crop_name == "facenet" || crop_name == "vggface2",
           "unknown face crop '", crop_name, "' (expected arcface, sphereface, facenet or vggface2)");
  FK_CHECK(crop_name != "facenet" || base.width == base.height, "the facenet crop is square; this network takes ",
           base.width, "x", base.height);
  base.crop = crop_name;
  return base;
}

data::Image crop_face(const data::Image& img, const mtcnn::Face& face, const FacePreprocess& p) {
  if (p.crop == "arcface" || p.crop == "sphereface") {
    data::Landmarks5 marks;
    for (size_t k = 0; k < 5; ++k) marks[k] = {face.landmarks[k][0], face.landmarks[k][1]};
    return data::align(img, marks, p.crop == "arcface" ? data::arcface_112 : data::sphereface_96x112, p.width,
                       p.height);
  }
  if (p.crop == "facenet") return data::extract_face(img, face.box, p.width, p.margin);
  FK_CHECK(p.crop == "vggface2", "unknown face crop '", p.crop, "'");
  // VGGFace2-GradCAM (pipelines.md §7): 15 % margin on each side, floor/ceil; outside pixels are
  // black here (numpy's negative-index wrap-around there is a quirk, not a feature).
  double w = face.box[2] - face.box[0], h = face.box[3] - face.box[1];
  auto x0 = int64_t(std::floor(face.box[0] - 0.15 * w)), x1 = int64_t(std::ceil(face.box[2] + 0.15 * w));
  auto y0 = int64_t(std::floor(face.box[1] - 0.15 * h)), y1 = int64_t(std::ceil(face.box[3] + 0.15 * h));
  data::Image c = data::crop(img, x0, y0, std::max(x1, x0 + 1), std::max(y1, y0 + 1));
  // shorter side to the input size (the other rounded up), then the centre
  double s = double(std::max(p.width, p.height)) / double(std::min(c.width, c.height));
  int64_t rw = std::max<int64_t>(p.width, int64_t(std::ceil(c.width * s))),
          rh = std::max<int64_t>(p.height, int64_t(std::ceil(c.height * s)));
  data::Image r = data::resize_bilinear(c, rw, rh);
  int64_t ox = (rw - p.width) / 2, oy = (rh - p.height) / 2;
  return data::crop(r, ox, oy, ox + p.width, oy + p.height);
}

Tensor face_tensor(const data::Image& crop, const FacePreprocess& p) {
  const data::Image& img =
      crop.width == p.width && crop.height == p.height ? crop : data::resize_bilinear(crop, p.width, p.height);
  Tensor out = empty({3, p.height, p.width}, DType::Float32);
  float* o = out.data<float>();  // out: (3, H, W)
  for (int64_t c = 0; c < 3; ++c) {
    int64_t src = p.bgr ? 2 - c : c;
    auto mean = float(p.mean[size_t(c)]), std = float(p.std[size_t(c)]);
    for (int64_t y = 0; y < p.height; ++y)
      for (int64_t x = 0; x < p.width; ++x)
        o[(c * p.height + y) * p.width + x] = (float(img.at(x, y)[src]) - mean) / std;  // float32, as torch
  }
  return out;
}

data::Image mirror(const data::Image& img) {
  data::Image out(img.width, img.height);
  for (int64_t y = 0; y < img.height; ++y)
    for (int64_t x = 0; x < img.width; ++x)
      for (int c = 0; c < 3; ++c) out.at(img.width - 1 - x, y)[c] = img.at(x, y)[c];
  return out;
}

std::shared_ptr<Model> load_model(const std::string& arch_name, const std::string& weights_path,
                                  const std::string& key, ArchOptions opts, bool allow_nonfinite) {
  const ArchInfo& arch = find_architecture(arch_name);
  std::shared_ptr<Model> model;
  {
    StateDict weights = select_weights(data::read_weights(weights_path), key);
    if (!allow_nonfinite) {
      const NonFiniteEntries bad = count_nonfinite(weights);
      FK_CHECK(bad.count == 0, weights_path, ": ", nonfinite_text(bad.count), ", the first in '", bad.first_key,
               "'; --allow-nonfinite loads them anyway");
    }
    if (arch.infer_options) {
      // what the file implies, for the options left at their defaults
      ArchOptions inferred = opts;
      arch.infer_options(weights, inferred);
      if (opts.num_classes == 0) opts.num_classes = inferred.num_classes;
      if (opts.head.empty()) opts.head = inferred.head;
    }
    model = arch.make(opts);
    try {
      model->load_state_dict(weights, /*strict=*/true);
    } catch (const std::exception& e) {
      throw Error(weights_path + ": weights do not fit " + arch.name + ": " + e.what());
    }
  }
  model->eval();
  // the file's tensors and the initial weights they replaced go back to the OS, not to the CPU
  // allocator's cache, where they would stay in the process's memory (ir_50: ~350 MB)
  cpu_empty_cache();
  return model;
}

Embedder::Embedder(const EmbedderOptions& opts) : opts_(opts) {
  FK_CHECK(opts.flip == "none" || opts.flip == "concat" || opts.flip == "sum", "unknown flip mode '", opts.flip,
           "' (expected none, concat or sum)");
  FK_CHECK(opts.batch_size >= 1, "batch size must be at least 1");
  prep_ = default_preprocess(opts.arch);
  if (!opts.crop.empty()) prep_ = with_crop(prep_, opts.crop);
  ArchOptions arch_opts;
  arch_opts.features = true;  // the VGGFace2 nets: the 2048-d pooled feature, not the logits
  model_ = load_model(opts.arch, opts.weights, opts.weights_key, arch_opts, opts.allow_nonfinite);
  meta_ = {opts.arch, data::sha256_file(opts.weights), prep_.crop, prep_.describe(), opts.flip};
}

Tensor Embedder::raw_embeddings(const std::vector<data::Image>& crops, bool mirrored) {
  autograd::NoGrad no_grad;
  std::vector<Tensor> inputs;
  for (const auto& c : crops) inputs.push_back(face_tensor(mirrored ? mirror(c) : c, prep_));
  return flatten(model_->forward(stack(inputs, 0)), 1);
}

Tensor Embedder::embed(const std::vector<data::Image>& crops) {
  FK_CHECK(!crops.empty(), "embed: no face crops given");
  std::vector<Tensor> parts;
  for (size_t start = 0; start < crops.size(); start += size_t(opts_.batch_size)) {
    size_t end = std::min(crops.size(), start + size_t(opts_.batch_size));
    std::vector<data::Image> batch(crops.begin() + std::ptrdiff_t(start), crops.begin() + std::ptrdiff_t(end));
    Tensor e = raw_embeddings(batch, false);
    if (opts_.flip == "concat") e = cat({e, raw_embeddings(batch, true)}, 1);
    if (opts_.flip == "sum") e = add(e, raw_embeddings(batch, true));
    parts.push_back(normalize(e, 1));
  }
  return parts.size() == 1 ? parts[0] : cat(parts, 0);
}

Tensor Embedder::embed(const data::Image& crop) { return embed(std::vector<data::Image>{crop}); }

std::unique_ptr<Embedder> gallery_embedder(const Gallery& g, EmbedderOptions opts, const std::string& gallery_path) {
  opts.arch = g.meta.arch;
  std::unique_ptr<Embedder> embedder;
  try {
    embedder = std::make_unique<Embedder>(opts);
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.find(": weights do not fit ") == std::string::npos) throw;
    throw Error(gallery_path + " was made with " + g.meta.arch + "; " + what);
  }
  check_compatible(g, embedder->meta(), gallery_path);
  return embedder;
}

}  // namespace fk::models
