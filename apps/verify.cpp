// `facekit verify (--pairs FILE [--aligned] | --bin FILE.bin) --arch A --weights W [--images DIR]
// [--flip none|concat|sum] [--crop T] [--folds 10] [--folds-mode stratified|contiguous] [--no-face skip|wrong]
// [--json OUT] [--roc OUT.png]`: LFW-style face verification (models/evaluation/verification.h,
// docs/reference/pipelines.md section 5).
//  - --pairs (LFW pairs.txt, CSV, CALFW / CPLFW pairs, CFP's Split/FF|FP folder: verification.h's
//    read_pairs): every distinct image of the pairs file is read, its subject's MTCNN face (--face:
//    facenet's centred-largest rule by default, or the largest) cropped the way the architecture wants
//    it and embedded, once; with --aligned the images are already aligned face crops (what `facekit
//    align` writes) and are embedded as they are, without detection.
//  - --bin: insightface's verification sets (lfw.bin, cfp_fp.bin, agedb_30.bin, calfw.bin, cplfw.bin,
//    data/formats/verification_bin.h): crops already aligned, pair k = images 2k and 2k+1, and
//    insightface's protocol unless a flag says otherwise: flip sum, contiguous folds, the first of
//    the best thresholds.
// Each pair's score is the cosine of its two embeddings. Pairs with an image without a face (or
// unreadable) are left out (--no-face skip) or counted as misclassified at every threshold (--no-face
// wrong). Then the 10-fold protocol (folds stratified by kind by default, or facenet's contiguous blocks
// of the file order; see models/evaluation/verification.h for why): accuracy mean +- std, the best threshold, the exact AUC and the
// protocol's fold-averaged one, TAR at FAR 1e-3. A short summary goes to stdout; --json writes all of
// it with every pair's score; --roc draws the exact ROC (true accepts against false accepts, log x).
// Unreadable images make the exit code 1 once everything is written.
// Tests: tests/apps/test_verify.cpp (real LFW and deepface pairs with MobileFaceNet; a .bin of lfw_dev's crops).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <functional>
#include <map>
#include <optional>

#include "apps/commands.h"
#include "apps/face_inputs.h"
#include "apps/progress.h"
#include "data/image/image.h"
#include "data/formats/files.h"
#include "data/formats/verification_bin.h"
#include "data/viz/plot.h"
#include "models/recognition/face_embedder.h"
#include "models/evaluation/verification.h"
#include "models/recognition/scores.h"

namespace fk::apps {

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

struct VerifyArgs {
  std::string pairs, bin, images, json, roc;
  bool aligned = false;  // --pairs images are aligned crops: no detection
  models::EmbedderOptions embedder;
  int64_t folds = 10;
  std::string folds_mode = "stratified";
  std::string threshold_rule = "middle";
  std::string no_face = "skip";
  std::string face = "center";
  DetectorFlags detector;
};

// Which detected face is the subject of the photo. "largest": the largest box. "center": facenet's
// align_dataset_mtcnn rule for LFW, argmax(box area - 2 |box centre - image centre|^2): LFW photos are
// centred on their subject but often show a larger face of someone else at the border.
size_t subject_face(const std::vector<models::mtcnn::Face>& faces, const data::Image& img, const std::string& rule) {
  if (rule == "largest") return 0;  // the detector sorts faces by box area, largest first
  size_t best = 0;
  double best_score = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < faces.size(); ++i) {
    const auto& b = faces[i].box;
    double area = double(b[2] - b[0]) * double(b[3] - b[1]);
    double dx = (b[0] + b[2]) / 2.0 - img.width / 2.0, dy = (b[1] + b[3]) / 2.0 - img.height / 2.0;
    double score = area - 2.0 * (dx * dx + dy * dy);
    if (score > best_score) best_score = score, best = i;
  }
  return best;
}

// The embeddings of the distinct images of the pairs, and the images that gave none.
struct ImageEmbeddings {
  std::vector<std::string> paths;      // distinct images, in order of first appearance
  std::vector<int64_t> row;            // per image: its row in `rows`, -1 without an embedding
  std::vector<float> rows;             // (embedded images, dim), each row L2-normalised
  int64_t dim = 0;
  std::vector<std::string> no_face;    // read, but no face detected
  std::vector<std::pair<std::string, std::string>> unreadable;  // path, error

  const float* of(int64_t image) const { return rows.data() + row[size_t(image)] * dim; }
};

// The crop the network sees for image i; std::nullopt when it shows no face; throws when unreadable.
using CropOf = std::function<std::optional<data::Image>(size_t i)>;

// Crops (crop_of) and embeds every image once, in batches; `names` label them in progress and messages.
ImageEmbeddings embed_images(const std::vector<std::string>& names, const CropOf& crop_of, models::Embedder& embedder,
                             int64_t batch_size) {
  ImageEmbeddings out;
  out.paths = names;
  out.row.assign(names.size(), -1);
  std::vector<data::Image> batch;
  std::vector<size_t> batch_images;
  int64_t next_row = 0;
  auto flush = [&]() {
    if (batch.empty()) return;
    Tensor e = embedder.embed(batch).contiguous();  // (B, D)
    out.dim = e.size(1);
    out.rows.insert(out.rows.end(), e.data<float>(), e.data<float>() + e.numel());
    for (size_t i : batch_images) out.row[i] = next_row++;
    batch.clear();
    batch_images.clear();
  };
  Progress progress("verify", int64_t(names.size()));
  for (size_t i = 0; i < names.size(); ++i) {
    progress.update(int64_t(i), fs::path(names[i]).filename().string());
    try {
      std::optional<data::Image> crop = crop_of(i);
      if (!crop) {
        out.no_face.push_back(names[i]);
        continue;
      }
      batch.push_back(std::move(*crop));
      batch_images.push_back(i);
      if (int64_t(batch.size()) == batch_size) flush();
    } catch (const std::exception& e) {
      out.unreadable.emplace_back(names[i], e.what());
    }
  }
  flush();
  progress.update(int64_t(names.size()));
  progress.done();
  return out;
}

// The pairs to score: from a pairs file (each distinct image once) or a .bin (pair k = images 2k, 2k+1),
// with how each image's crop is made.
struct PairsInput {
  std::string source;                           // the pairs file or the .bin
  std::vector<models::VerificationPair> pairs;  // image1/image2: paths, or "<bin>[i]"
  std::vector<std::string> images;              // distinct images (names)
  std::vector<int64_t> image1, image2;          // per pair: its images' indices in `images`
  CropOf crop_of;                               // set by pairs_from_bin, or crops_of_files
};

PairsInput pairs_from_file(const VerifyArgs& args) {
  PairsInput in;
  in.source = args.pairs;
  in.pairs = models::read_pairs(args.pairs, args.images);
  std::map<std::string, int64_t> index;
  auto image_index = [&](const std::string& p) {
    auto [it, added] = index.emplace(p, int64_t(in.images.size()));
    if (added) in.images.push_back(p);
    return it->second;
  };
  for (const auto& p : in.pairs) {
    in.image1.push_back(image_index(p.image1));
    in.image2.push_back(image_index(p.image2));
  }
  return in;
}

// The crops of image files: the files themselves when they are aligned crops already (resized to the
// input size if they are not that size), else the subject's MTCNN face cropped as `prep` says.
CropOf crops_of_files(const VerifyArgs& args, const std::vector<std::string>& paths, const models::FacePreprocess& prep) {
  if (args.aligned)
    return [paths](size_t i) { return std::optional<data::Image>(data::read_image(paths[i])); };
  std::shared_ptr<models::mtcnn::Detector> detector = make_detector(args.detector);
  return [paths, detector, prep, rule = args.face](size_t i) -> std::optional<data::Image> {
    data::Image img = data::read_image(paths[i]);
    auto faces = detector->detect(data::image_to_tensor(img));  // largest first
    if (faces.empty()) return std::nullopt;
    return models::crop_face(img, faces[subject_face(faces, img, rule)], prep);
  };
}

PairsInput pairs_from_bin(const VerifyArgs& args) {
  PairsInput in;
  in.source = args.bin;
  auto bin = std::make_shared<data::VerificationBin>(data::read_verification_bin(args.bin));
  for (size_t i = 0; i < bin->images.size(); ++i) in.images.push_back(args.bin + "[" + std::to_string(i) + "]");
  for (int64_t k = 0; k < bin->pairs(); ++k) {
    models::VerificationPair p;
    p.image1 = in.images[size_t(2 * k)], p.image2 = in.images[size_t(2 * k + 1)];
    p.same = bin->same[size_t(k)], p.line = k + 1;
    in.pairs.push_back(p);
    in.image1.push_back(2 * k), in.image2.push_back(2 * k + 1);
  }
  in.crop_of = [bin, names = in.images](size_t i) {
    return std::optional<data::Image>(data::decode_image(bin->images[i], names[i]));
  };
  return in;
}

// What happened to one pair of the file.
enum class PairStatus { used, skipped, forced_wrong };
const char* status_name(PairStatus s) {
  return s == PairStatus::used ? "used" : s == PairStatus::skipped ? "skipped" : "forced_wrong";
}

struct PairScores {
  std::vector<PairStatus> status;  // per pair of the file
  std::vector<double> score;       // per pair: its cosine (NaN without one)
  // the evaluated pairs, in file order: their index in the file, score and ground truth
  std::vector<size_t> evaluated;
  std::vector<double> eval_scores;
  std::vector<bool> eval_same;
};

PairScores score_pairs(const std::vector<models::VerificationPair>& pairs, const std::vector<int64_t>& image1,
                       const std::vector<int64_t>& image2, const ImageEmbeddings& emb, bool wrong) {
  PairScores s;
  for (size_t k = 0; k < pairs.size(); ++k) {
    bool ok = emb.row[size_t(image1[k])] >= 0 && emb.row[size_t(image2[k])] >= 0;
    double score = ok ? models::cosine(emb.of(image1[k]), emb.of(image2[k]), emb.dim) : std::nan("");
    PairStatus st = ok ? PairStatus::used : wrong ? PairStatus::forced_wrong : PairStatus::skipped;
    s.status.push_back(st);
    s.score.push_back(score);
    if (st == PairStatus::skipped) continue;
    s.evaluated.push_back(k);
    s.eval_scores.push_back(ok ? score : models::always_wrong_score(pairs[k].same));
    s.eval_same.push_back(pairs[k].same);
  }
  return s;
}

// A double for JSON: NaN and infinities become null.
ordered_json number(double v) { return std::isfinite(v) ? ordered_json(v) : ordered_json(nullptr); }

int64_t count(const std::vector<PairStatus>& v, PairStatus s) { return int64_t(std::count(v.begin(), v.end(), s)); }

// The exact ROC as a log-x chart, with the chance line TPR = FAR.
data::Image roc_chart(const std::vector<double>& scores, const std::vector<bool>& same, double auc,
                      const std::string& title) {
  models::RocCurve roc = models::exact_roc(scores, same);
  int64_t n_diff = int64_t(std::count(same.begin(), same.end(), false));
  // the left edge: a power of ten at or below the smallest non-zero FAR (1 / n_diff)
  double lo = std::pow(10.0, std::floor(std::log10(1.0 / double(std::max<int64_t>(n_diff, 1)))));
  lo = std::min(lo, 1e-3);
  char name[32];
  std::snprintf(name, sizeof name, "ROC (AUC %.4f)", auc);
  data::Series curve{name, {}, {}, {31, 119, 180}};
  // below the first false accept the best TPR is the one at FAR 0: start the curve there at the edge
  double tpr0 = 0;
  for (size_t i = 0; i < roc.fpr.size(); ++i)
    if (roc.fpr[i] == 0) tpr0 = std::max(tpr0, roc.tpr[i]);
  curve.x.push_back(lo);
  curve.y.push_back(tpr0);
  for (size_t i = 0; i < roc.fpr.size(); ++i)
    if (roc.fpr[i] > 0) curve.x.push_back(roc.fpr[i]), curve.y.push_back(roc.tpr[i]);
  data::Series chance{"chance", {}, {}, {160, 160, 160}};
  for (int i = 0; i <= 60; ++i) {
    double x = lo * std::pow(1.0 / lo, i / 60.0);
    chance.x.push_back(x);
    chance.y.push_back(x);
  }
  data::PlotOptions o;
  o.title = title;
  o.x_label = "false accept rate";
  o.y_label = "true accept rate";
  o.x_range = std::make_pair(lo, 1.0);
  o.y_range = std::make_pair(0.0, 1.02);  // a little headroom, so a perfect curve is not hidden by the frame
  o.log_x = true;
  return data::line_plot({chance, curve}, o);
}

void write_text(const std::string& path, const std::string& text) {
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  data::write_file_atomic(path, text);
}

std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100.0 * v);
  return buf;
}

void print_summary(const VerifyArgs& args, const std::string& source, const models::VerificationResult& r,
                   const PairScores& ps, const ImageEmbeddings& emb, size_t n_pairs) {
  int64_t skipped = count(ps.status, PairStatus::skipped), wrong = count(ps.status, PairStatus::forced_wrong);
  std::printf("verify: %zu pairs in %s; %s, flip %s, %s\n", n_pairs, source.c_str(), args.embedder.arch.c_str(),
              args.embedder.flip.c_str(),
              !args.bin.empty() ? "aligned crops of the .bin"
                                : args.aligned ? "aligned crops (no detection)" : ("face " + args.face).c_str());
  std::printf("images: %zu distinct, %zu without a face, %zu unreadable", emb.paths.size(), emb.no_face.size(),
              emb.unreadable.size());
  if (args.no_face == "skip")
    std::printf("; --no-face skip: %lld pairs with such an image left out\n", (long long)skipped);
  else
    std::printf("; --no-face wrong: %lld pairs with such an image counted as misclassified\n", (long long)wrong);
  std::printf("evaluated: %lld pairs (%lld same, %lld different), %zu %s folds\n", (long long)r.pairs,
              (long long)r.same, (long long)r.different, r.folds.size(), r.folds_mode.c_str());
  std::printf("accuracy: %s +- %s (mean +- std of the %zu test folds)\n", percent(r.accuracy_mean).c_str(),
              percent(r.accuracy_std).c_str(), r.folds.size());
  std::printf("threshold: cosine %.4f (squared L2 distance %.2f), the best on all pairs: %s there\n",
              r.best_threshold_cosine, r.best_threshold, percent(r.best_accuracy).c_str());
  std::printf("AUC: %.4f exact (Mann-Whitney on the scores); %.4f protocol (trapezoid on the fold-averaged ROC)\n",
              r.auc_exact, r.auc);
  if (r.folds_one_kind > 0)
    std::printf("  note: %lld of %zu test folds hold only one kind of pair (the file lists its pairs by kind): the "
                "fold-averaged ROC and its AUC are not meaningful, use the exact AUC%s\n",
                (long long)r.folds_one_kind, r.folds.size(),
                r.folds_mode == "contiguous" ? " (or --folds-mode stratified)" : "");
  std::printf("TAR@FAR=1e-3: %.4f +- %.4f (measured FAR %.5f)\n", r.val_mean, r.val_std, r.far_mean);
  int64_t unreached = int64_t(r.folds.size()) - r.far_reachable_folds;
  if (unreached > 0)
    std::printf("  note: %lld folds never reach FAR 1e-3 on their training pairs: threshold 0 (TAR 0) used there\n",
                (long long)unreached);
  int64_t train_diff = r.different - r.different / int64_t(r.folds.size());
  if (train_diff < 1000)
    std::printf("  note: about %lld different pairs per training set: one false accept is FAR %.4f > 1e-3, so the "
                "threshold is interpolated below the first false accept\n",
                (long long)train_diff, 1.0 / double(std::max<int64_t>(train_diff, 1)));
}

ordered_json result_json(const VerifyArgs& args, const models::Embedder& embedder,
                         const std::vector<models::VerificationPair>& pairs, const ImageEmbeddings& emb,
                         const PairScores& ps, const models::VerificationResult& r) {
  ordered_json j;
  j["pairs_file"] = args.pairs.empty() ? ordered_json(nullptr) : ordered_json(args.pairs);
  j["bin"] = args.bin.empty() ? ordered_json(nullptr) : ordered_json(args.bin);
  j["images"] = args.bin.empty() ? ordered_json(args.images) : ordered_json(nullptr);
  j["detection"] = args.bin.empty() && !args.aligned;
  j["arch"] = args.embedder.arch;
  j["weights"] = args.embedder.weights;
  j["weights_sha256"] = embedder.meta().weights_sha256;
  j["flip"] = args.embedder.flip;
  j["preprocessing"] = embedder.preprocess().describe();
  j["folds"] = args.folds;
  j["folds_mode"] = r.folds_mode;
  j["threshold_rule"] = args.threshold_rule;
  j["no_face"] = args.no_face;
  j["face"] = args.face;
  j["counts"] = {{"pairs", pairs.size()},
                 {"evaluated", r.pairs},
                 {"same", r.same},
                 {"different", r.different},
                 {"skipped", count(ps.status, PairStatus::skipped)},
                 {"forced_wrong", count(ps.status, PairStatus::forced_wrong)},
                 {"images", emb.paths.size()}};
  j["images_without_face"] = emb.no_face;
  j["images_unreadable"] = ordered_json::array();
  for (const auto& [path, error] : emb.unreadable) j["images_unreadable"].push_back({{"path", path}, {"error", error}});
  j["accuracy"] = {{"mean", r.accuracy_mean}, {"std", r.accuracy_std}};
  j["threshold"] = {{"cosine", r.best_threshold_cosine},
                    {"distance", r.best_threshold},
                    {"accuracy_all_pairs", r.best_accuracy},
                    {"rule", "same iff cosine > threshold.cosine (squared L2 distance 2 - 2 cos < threshold.distance)"}};
  j["auc"] = {{"exact", r.auc_exact},
              {"protocol", r.auc},
              {"note", "exact: Mann-Whitney on the raw scores; protocol: trapezoid on the ROC of test-fold TPR/FPR "
                       "averaged over folds at distance thresholds 0.00..3.99 (sklearn.metrics.auc as facenet)"},
              {"folds_with_one_kind", r.folds_one_kind}};
  j["tar_at_far"] = {{"far_target", 1e-3},
                     {"tar_mean", r.val_mean},
                     {"tar_std", r.val_std},
                     {"far_mean", r.far_mean},
                     {"folds_reaching_far", r.far_reachable_folds}};
  j["per_fold"] = ordered_json::array();
  for (const auto& f : r.folds)
    j["per_fold"].push_back({{"pairs", f.test.size()},
                             {"same", f.same},
                             {"different", f.different},
                             {"threshold_distance", f.threshold},
                             {"threshold_cosine", f.threshold_cosine},
                             {"accuracy", f.accuracy},
                             {"far_reachable", f.far_reachable},
                             {"tar_threshold_distance", f.val_threshold},
                             {"tar", f.val},
                             {"far", f.far}});
  j["roc"] = {{"threshold_distance", r.thresholds}, {"tpr", r.tpr}, {"fpr", r.fpr}};
  // every pair: its score, and for evaluated ones the fold that tests it and that fold's decision
  std::vector<int64_t> fold_of(pairs.size(), -1);
  for (size_t e = 0; e < ps.evaluated.size(); ++e) fold_of[ps.evaluated[e]] = r.fold_of[e];
  j["pairs"] = ordered_json::array();
  for (size_t k = 0; k < pairs.size(); ++k) {
    ordered_json p = {{"line", pairs[k].line},
                      {"image1", pairs[k].image1},
                      {"image2", pairs[k].image2},
                      {"same", pairs[k].same},
                      {"score", number(ps.score[k])},
                      {"status", status_name(ps.status[k])}};
    if (fold_of[k] >= 0) {
      const auto& f = r.folds[size_t(fold_of[k])];
      bool predicted = ps.status[k] == PairStatus::used ? models::distance_of_cosine(ps.score[k]) < f.threshold
                                                        : !pairs[k].same;  // forced wrong
      p["fold"] = fold_of[k];
      p["predicted_same"] = predicted;
      p["correct"] = predicted == pairs[k].same;
    }
    j["pairs"].push_back(p);
  }
  return j;
}

int run_verify(VerifyArgs args) {
  if (args.images.empty() && !args.pairs.empty()) args.images = fs::path(args.pairs).parent_path().string();
  PairsInput in = args.bin.empty() ? pairs_from_file(args) : pairs_from_bin(args);
  models::Embedder embedder(args.embedder);
  if (args.bin.empty()) in.crop_of = crops_of_files(args, in.images, embedder.preprocess());
  const std::vector<models::VerificationPair>& pairs = in.pairs;
  ImageEmbeddings emb = embed_images(in.images, in.crop_of, embedder, args.embedder.batch_size);
  for (const auto& p : emb.no_face) std::cerr << "no face: " << p << "\n";
  for (const auto& [path, error] : emb.unreadable) std::cerr << "facekit: " << error << "\n";

  PairScores ps = score_pairs(pairs, in.image1, in.image2, emb, args.no_face == "wrong");
  FK_CHECK(int64_t(ps.evaluated.size()) >= args.folds, in.source, ": only ", ps.evaluated.size(), " of ",
           pairs.size(), " pairs can be evaluated (", count(ps.status, PairStatus::skipped),
           " have an image without a face), fewer than the ", args.folds, " folds");
  models::VerificationOptions opts;
  opts.folds = args.folds;
  opts.folds_mode = args.folds_mode;
  opts.threshold_rule = args.threshold_rule;
  models::VerificationResult r = models::evaluate_verification(ps.eval_scores, ps.eval_same, opts);

  print_summary(args, in.source, r, ps, emb, pairs.size());
  if (!args.json.empty()) write_text(args.json, result_json(args, embedder, pairs, emb, ps, r).dump(1) + "\n");
  if (!args.roc.empty()) {
    fs::path parent = fs::path(args.roc).parent_path();
    if (!parent.empty()) fs::create_directories(parent);
    std::string title = "ROC: " + fs::path(in.source).filename().string() + ", " + args.embedder.arch;
    data::write_png(args.roc, roc_chart(ps.eval_scores, ps.eval_same, r.auc_exact, title));
  }
  return emb.unreadable.empty() ? 0 : 1;
}

}  // namespace

void add_verify_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "verify", "Face verification on a pairs file (LFW pairs.txt or CSV): 10-fold accuracy, AUC, TAR@FAR=1e-3");
  auto args = std::make_shared<VerifyArgs>();
  auto* pairs_opt = cmd->add_option("--pairs", args->pairs,
                                    "Pairs file: LFW pairs.txt ('name i j' same, 'name1 i name2 j' different), CSV "
                                    "image1,image2,label (label yes/no, 1/0, true/false, same/different), CALFW / "
                                    "CPLFW's pairs file ('<path> <label>', two lines per pair), or CFP's "
                                    "Protocol/Split/FF or FP folder");
  auto* bin_opt = cmd->add_option(
      "--bin", args->bin,
      "Or an insightface verification set (lfw.bin, cfp_fp.bin, agedb_30.bin, calfw.bin, cplfw.bin: aligned "
      "112x112 crops, pair k = images 2k and 2k+1), with insightface's protocol unless set otherwise: --flip sum "
      "--folds-mode contiguous --threshold-rule first");
  pairs_opt->excludes(bin_opt);
  cmd->add_flag("--aligned", args->aligned,
                "With --pairs: the images are already aligned face crops (as `facekit align` writes them), embedded "
                "without detection")
      ->needs(pairs_opt);
  cmd->add_option("--images", args->images,
                  "Folder of the images: <name>/<name>_0001.jpg for pairs.txt, relative CSV paths (default: the "
                  "pairs file's folder)");
  cmd->add_option("--arch", args->embedder.arch, "Recognition architecture (see `facekit run --help`)")->required();
  cmd->add_option("--weights", args->embedder.weights, "Its weights file (.pt/.pth/.ckpt/.pkl/.npz)")->required();
  cmd->add_option("--weights-key", args->embedder.weights_key,
                  "State dict nested in a training checkpoint, e.g. net_state_dict");
  add_allow_nonfinite_flag(cmd, args->embedder.allow_nonfinite);
  auto* flip_opt = cmd->add_option("--flip", args->embedder.flip,
                  "Also embed the mirror image: concat (f(x) ++ f(mirror x), MobileFaceNet's feature) or sum "
                  "(insightface's)")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "concat", "sum"}));
  cmd->add_option("--crop,--template", args->embedder.crop,
                  "Face crop: arcface, sphereface, facenet or vggface2 (default: the architecture's own)")
      ->check(CLI::IsMember({"arcface", "sphereface", "facenet", "vggface2"}));
  cmd->add_option("--batch", args->embedder.batch_size, "Faces per forward pass")->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--folds", args->folds, "Folds of the protocol")->capture_default_str()->check(CLI::Range(2, 100000));
  auto* rule_opt = cmd->add_option("--threshold-rule", args->threshold_rule,
                  "Which threshold of equally accurate ones each fold takes from its nine training folds: middle "
                  "(of the run of best thresholds) or first (facenet's argmax, for parity with published numbers)")
      ->capture_default_str()
      ->check(CLI::IsMember({"first", "middle"}));
  auto* folds_mode_opt = cmd->add_option("--folds-mode", args->folds_mode,
                  "How pairs are split into folds. stratified: fold k = the k-th of --folds contiguous blocks of the "
                  "same pairs plus the k-th block of the different pairs (file order), so every fold is balanced "
                  "even when the file lists all same pairs first (lfw_dev, deepface master.csv); on the official "
                  "LFW pairs.txt both modes give its 10 sets. contiguous: facenet's KFold(shuffle=False), "
                  "contiguous blocks of all pairs in file order")
      ->capture_default_str()
      ->check(CLI::IsMember({"stratified", "contiguous"}));
  cmd->add_option("--no-face", args->no_face,
                  "Pairs with an image without a face (or unreadable): skip = leave them out, wrong = count them "
                  "as misclassified")
      ->capture_default_str()
      ->check(CLI::IsMember({"skip", "wrong"}));
  cmd->add_option("--face", args->face,
                  "Which face of a photo with several: center = facenet's LFW rule (largest box, penalised by its "
                  "distance from the image centre), largest = the largest box")
      ->capture_default_str()
      ->check(CLI::IsMember({"center", "largest"}));
  cmd->add_option("--json", args->json,
                  "Write the results here: accuracy, thresholds, AUC, TAR@FAR, per fold, ROC, every pair's score");
  cmd->add_option("--roc", args->roc, "Draw the ROC curve (true vs false accept rate, log x) to this PNG");
  add_detector_flags(cmd, args->detector, "--mtcnn-weights");
  on_run(cmd, [=]() {
    FK_CHECK(!args->pairs.empty() || !args->bin.empty(), "verify: give --pairs FILE or --bin FILE.bin");
    if (!args->bin.empty()) {  // insightface's protocol where no flag says otherwise
      if (flip_opt->count() == 0) args->embedder.flip = "sum";
      if (folds_mode_opt->count() == 0) args->folds_mode = "contiguous";
      if (rule_opt->count() == 0) args->threshold_rule = "first";
    }
    return run_verify(*args);
  });
}

}  // namespace fk::apps
