// `facekit cluster DIR_OR_GALLERY --clean OUT [--rejected OUT2] [--threshold 0.7] [--linkage average]
// [--metric cosine] [--report R.json]`: dataset clean-up by clustering (egcode's dataset_cleanup,
// pipelines.md §4). Per identity, its images' embeddings are clustered (models/evaluation/cluster.h, scikit-learn's
// AgglomerativeClustering with a distance threshold) and the largest cluster is kept (ties: the cluster
// holding the identity's first image): kept images are copied to OUT/<identity>/<file>, the others to
// the --rejected folder when given. An identity with one image is copied unchanged.
// Input: a gallery (.npz or .h5 from `facekit embed`: labels and image paths come from it), or a
// folder-per-identity tree, embedded here like `facekit embed` does (--arch, --weights required; the
// largest face of each image); there, images without a face are rejected ("no face"), and unreadable
// ones too ("unreadable", exit code 1). Copies go to a temporary name first and are renamed into place;
// the originals are never moved or deleted. --report: {input, threshold, linkage, metric, identities:
// {name: {images, kept: [path], rejected: [{path, reason}], cluster_sizes}}, kept, rejected}; a summary
// is printed on stdout.
// Tests: tests/apps/test_cluster.cpp.
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "apps/commands.h"
#include "apps/face_inputs.h"
#include "apps/progress.h"
#include "data/image/image.h"
#include "data/formats/files.h"
#include "models/evaluation/cluster.h"
#include "models/recognition/face_embedder.h"
#include "models/recognition/gallery.h"

namespace fk::apps {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

struct ClusterArgs {
  std::string input, clean, rejected, report;
  double threshold = 0.7;  // egcode's cluster_clean_dataset.py default
  std::string linkage = "average", metric = "cosine";
  models::EmbedderOptions embedder;
  DetectorFlags detector;
};

// One image of an identity: where it is, the name it gets in the output folders, its embedding row
// (-1 when it has none) and, for images rejected before clustering, why.
struct Item {
  std::string path, name;
  int64_t row = -1;
  std::string reason;
};

struct Dataset {
  std::map<std::string, std::vector<Item>> identities;  // sorted by name, items in path order
  Tensor embeddings;                                     // (rows, D)
  int unreadable = 0;
};

// The identity of a file below DIR: its first folder (a file directly in DIR: its name without extension).
std::pair<std::string, std::string> identity_and_name(const ImageFile& f) {
  fs::path rel(f.relative);
  if (!rel.has_parent_path()) return {rel.stem().string(), rel.filename().string()};
  fs::path rest;
  for (auto it = std::next(rel.begin()); it != rel.end(); ++it) rest /= *it;
  return {rel.begin()->string(), rest.string()};
}

Dataset from_gallery(const std::string& path, bool allow_nonfinite) {
  models::Gallery g = models::load_gallery(path, allow_nonfinite);
  Dataset ds;
  ds.embeddings = g.embeddings;
  for (int64_t r = 0; r < g.size(); ++r) {
    auto& items = ds.identities[g.labels[size_t(r)]];
    // Output name: the file name, numbered when two images of the identity share it.
    std::string name = fs::path(g.paths[size_t(r)]).filename().string();
    std::set<std::string> taken;
    for (const auto& it : items) taken.insert(it.name);
    for (int k = 2; taken.count(name); ++k)
      name = fs::path(g.paths[size_t(r)]).stem().string() + "_" + std::to_string(k) +
             fs::path(g.paths[size_t(r)]).extension().string();
    items.push_back({g.paths[size_t(r)], name, r, ""});
  }
  return ds;
}

Dataset from_folder(const ClusterArgs& args) {
  FK_CHECK(!args.embedder.arch.empty() && !args.embedder.weights.empty(), args.input,
           ": a folder is embedded first: give --arch and --weights (or pass a gallery made by `facekit embed`)");
  models::Embedder embedder(args.embedder);
  auto detector = make_detector(args.detector);
  std::vector<ImageFile> files = collect_images({args.input});
  Dataset ds;
  // Crops are embedded a batch at a time, so memory holds one batch of images, not the dataset's.
  std::vector<data::Image> crops;
  std::vector<float> rows;  // the embeddings so far, row after row
  int64_t n_rows = 0, dim = 0;
  auto flush = [&]() {
    if (crops.empty()) return;
    Tensor e = embedder.embed(crops).contiguous();
    dim = e.size(1);
    rows.insert(rows.end(), e.data<float>(), e.data<float>() + e.numel());
    crops.clear();
  };
  Progress progress("embed", int64_t(files.size()));
  for (size_t i = 0; i < files.size(); ++i) {
    progress.update(int64_t(i), files[i].relative);
    auto [identity, name] = identity_and_name(files[i]);
    Item item{files[i].path, name, -1, ""};
    try {
      data::Image img = read_input(files[i]);
      auto faces = detector->detect(data::image_to_tensor(img));  // largest first
      if (faces.empty()) {
        item.reason = "no face";
      } else {
        item.row = n_rows++;
        crops.push_back(models::crop_face(img, faces[0], embedder.preprocess()));
        if (int64_t(crops.size()) == args.embedder.batch_size) flush();
      }
    } catch (const std::exception& e) {
      progress.fail(e);
      item.reason = "unreadable";
      ++ds.unreadable;
    }
    ds.identities[identity].push_back(item);
  }
  progress.update(int64_t(files.size()));
  progress.done();
  flush();
  if (n_rows) ds.embeddings = from_buffer(rows.data(), {n_rows, dim}, DType::Float32);
  return ds;
}

// Copies src to dir/name through a temporary file in dir and a rename, so a reader never sees half a
// file; an existing file of that name is replaced. The source is only read.
void copy_atomic(const std::string& src, const fs::path& dir, const std::string& name) {
  fs::path target = dir / name;
  fs::create_directories(target.parent_path());
  fs::path tmp = target;
  tmp += ".tmp-" + std::to_string(::getpid());
  std::error_code ec;
  fs::copy_file(src, tmp, fs::copy_options::overwrite_existing, ec);
  if (!ec) fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp);
    throw Error("cluster: cannot copy " + src + " to " + target.string() + ": " + ec.message());
  }
}

// The output folders must not lie inside the input folder: the copies would land among the originals
// (and a second run would take "clean" for an identity).
void check_outside(const std::string& input, const std::vector<std::string>& outputs) {
  const fs::path in = fs::weakly_canonical(input);
  for (const auto& o : outputs) {
    if (o.empty()) continue;
    const fs::path out = fs::weakly_canonical(o);
    auto rel = out.lexically_relative(in);
    FK_CHECK(rel.empty() || *rel.begin() == "..", o, ": the output folder is inside the input folder ", input,
             "; choose a folder outside it (the originals are never modified)");
  }
}

int run_cluster(const ClusterArgs& args) {
  const models::Linkage linkage = models::parse_linkage(args.linkage);
  const models::Metric metric = models::parse_metric(args.metric);
  FK_CHECK(fs::exists(args.input), args.input, ": no such file or folder");
  const bool is_gallery = !fs::is_directory(args.input);
  if (!is_gallery) check_outside(args.input, {args.clean, args.rejected});
  Dataset ds = is_gallery ? from_gallery(args.input, args.embedder.allow_nonfinite) : from_folder(args);

  const std::vector<float> all = ds.embeddings.defined() ? ds.embeddings.to_vector<float>() : std::vector<float>{};
  const int64_t D = ds.embeddings.defined() ? ds.embeddings.size(1) : 0;
  json identities = json::object();
  int64_t total_kept = 0, total_rejected = 0;
  for (const auto& [identity, items] : ds.identities) {
    // The images with an embedding are clustered; the others are rejected already.
    std::vector<int64_t> idx;
    for (size_t i = 0; i < items.size(); ++i)
      if (items[i].row >= 0) idx.push_back(int64_t(i));
    std::vector<bool> keep(items.size(), false);
    std::vector<int64_t> sizes;
    if (idx.size() == 1) {
      keep[size_t(idx[0])] = true;
      sizes = {1};
    } else if (idx.size() > 1) {
      std::vector<float> rows;  // this identity's embeddings
      for (int64_t i : idx)
        rows.insert(rows.end(), all.begin() + items[size_t(i)].row * D, all.begin() + (items[size_t(i)].row + 1) * D);
      models::Cleanup c = models::cleanup_identity(from_buffer(rows.data(), {int64_t(idx.size()), D}, DType::Float32),
                                                   args.threshold, linkage, metric);
      for (int64_t k : c.kept) keep[size_t(idx[size_t(k)])] = true;
      sizes = c.cluster_sizes;
    }
    json entry;
    entry["images"] = items.size();
    entry["kept"] = json::array();
    entry["rejected"] = json::array();
    entry["cluster_sizes"] = sizes;
    for (size_t i = 0; i < items.size(); ++i) {
      const Item& it = items[i];
      if (keep[i]) {
        copy_atomic(it.path, fs::path(args.clean) / identity, it.name);
        entry["kept"].push_back(it.path);
        ++total_kept;
      } else {
        if (!args.rejected.empty()) copy_atomic(it.path, fs::path(args.rejected) / identity, it.name);
        entry["rejected"].push_back({{"path", it.path}, {"reason", it.reason.empty() ? "cluster" : it.reason}});
        ++total_rejected;
      }
    }
    std::printf("%-30s kept %3zu of %3zu", identity.c_str(), entry["kept"].size(), items.size());
    if (sizes.size() > 1) {
      std::printf("  clusters");
      for (int64_t s : sizes) std::printf(" %lld", (long long)s);
    }
    size_t faceless = items.size() - idx.size();
    if (faceless) std::printf("  (%zu without a usable face)", faceless);
    std::printf("\n");
    identities[identity] = entry;
  }
  std::printf("%lld kept, %lld rejected in %zu identities (threshold %g, %s linkage, %s distance) -> %s\n",
              (long long)total_kept, (long long)total_rejected, ds.identities.size(), args.threshold,
              args.linkage.c_str(), args.metric.c_str(), args.clean.c_str());

  if (!args.report.empty()) {
    json report;
    report["input"] = args.input;
    report["threshold"] = args.threshold;
    report["linkage"] = args.linkage;
    report["metric"] = args.metric;
    report["identities"] = identities;
    report["kept"] = total_kept;
    report["rejected"] = total_rejected;
    fs::path parent = fs::path(args.report).parent_path();
    if (!parent.empty()) fs::create_directories(parent);
    data::write_file_atomic(args.report, report.dump(2) + "\n");
  }
  if (ds.unreadable) std::cerr << "facekit: " << ds.unreadable << " images could not be read\n";
  return ds.unreadable ? 1 : 0;
}

}  // namespace

void add_cluster_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "cluster", "Clean a folder-per-identity dataset: per identity keep the largest cluster of face embeddings");
  auto args = std::make_shared<ClusterArgs>();
  cmd->add_option("input", args->input,
                  "A gallery from `facekit embed` (.npz or .h5), or a folder with one sub-folder of images per identity")
      ->required();
  cmd->add_option("--clean", args->clean, "Folder receiving the kept images as <identity>/<file>")->required();
  cmd->add_option("--rejected", args->rejected, "Folder receiving the rejected images as <identity>/<file>");
  cmd->add_option("--report", args->report, "Write a JSON report: per identity kept and rejected images, cluster sizes");
  cmd->add_option("--threshold", args->threshold,
                  "Merge clusters while their linkage distance is below this (cosine distance = 1 - cos)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--linkage", args->linkage, "Cluster distance: mean, max or min of the image distances")
      ->capture_default_str()
      ->check(CLI::IsMember({"average", "complete", "single"}));
  cmd->add_option("--metric", args->metric, "Image distance: cosine (ArcFace-like models) or euclidean (center loss)")
      ->capture_default_str()
      ->check(CLI::IsMember({"cosine", "euclidean"}));
  cmd->add_option("--arch", args->embedder.arch, "Folder input: recognition architecture (see `facekit run --help`)");
  cmd->add_option("--weights", args->embedder.weights, "Folder input: its weights file");
  cmd->add_option("--weights-key", args->embedder.weights_key,
                  "Folder input: state dict nested in a training checkpoint, e.g. net_state_dict");
  add_allow_nonfinite_flag(cmd, args->embedder.allow_nonfinite);
  cmd->add_option("--flip", args->embedder.flip, "Folder input: none, concat or sum (see `facekit embed --help`)")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "concat", "sum"}));
  cmd->add_option("--crop", args->embedder.crop, "Folder input: face crop (default: the architecture's own)")
      ->check(CLI::IsMember({"arcface", "sphereface", "facenet", "vggface2"}));
  add_detector_flags(cmd, args->detector, "--mtcnn-weights");
  on_run(cmd, [args]() { return run_cluster(*args); });
}

}  // namespace fk::apps
