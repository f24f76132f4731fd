// `facekit identify PHOTO... --gallery G.npz --weights W [--weights-key K] [--threshold T]
// [--match nearest|centroid] [--draw OUT_DIR] [--json OUT]`: who is in these photos?
// Every face MTCNN finds is cropped and embedded exactly as the gallery was made (the architecture,
// crop and flip come from the gallery's metadata; the weights file must be the one whose SHA-256 the
// gallery records: models/recognition/gallery.h check_compatible refuses anything else, naming what differs), then
// scored against every identity of the gallery (pipelines.md §3, egcode's recognition app):
//   nearest:  score = max over the identity's images of cos(face, image)
//   centroid: score = cos(face, c), c = the mean of the identity's embeddings re-normalised to length 1
// The best identity is the answer when its score >= threshold, else the face is unknown (identity
// null in the JSON); the raw score and the runner-up are always reported. JSON: {gallery, match,
// threshold, photos: [{path, width, height, faces: [{box, prob, landmarks, identity, score, best,
// best_image, runner_up: {identity, score}}]}]}; an unreadable photo gets {path, error}, the others
// are processed and the exit code is 1. --draw writes each photo with boxes (green: known, red:
// unknown) and "name 0.63" labels as OUT_DIR/<name>.png.
// Tests: tests/apps/test_identify.cpp.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>

#include "apps/commands.h"
#include "apps/face_inputs.h"
#include "apps/progress.h"
#include "data/viz/draw.h"
#include "data/image/image.h"
#include "data/formats/files.h"
#include "models/recognition/face_embedder.h"
#include "models/recognition/gallery.h"

namespace fk::apps {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

// MobileFaceNet (CASIA, flip concat), nearest match, on face_recognition's photos against its
// knn_examples/train gallery: faces of gallery people scored 0.54-0.98, all others (Jackie Chan, Lin-Manuel
// Miranda, a child and a false detection in obama_and_biden.jpg) 0.04-0.28 (test_identify.cpp's header
// lists them). 0.4 is the middle of that gap.
constexpr double kDefaultThreshold = 0.4;

struct IdentifyArgs {
  std::vector<std::string> photos;
  GalleryFlags in;  // --gallery, --weights, --weights-key, --allow-nonfinite
  std::string flip, crop;
  std::string match = "nearest";
  double threshold = kDefaultThreshold;
  std::string draw, json_out;
  DetectorFlags detector;
};

json detected_face_json(const models::mtcnn::Face& f) {
  json j;
  j["box"] = {f.box[0], f.box[1], f.box[2], f.box[3]};
  j["prob"] = f.prob;
  j["landmarks"] = json::array();
  for (const auto& p : f.landmarks) j["landmarks"].push_back({p[0], p[1]});
  return j;
}

// Rounded to 4 decimals for the JSON (the raw float's digits are noise beyond that).
double round4(double v) { return std::round(v * 1e4) / 1e4; }

void draw_labelled(data::Image& img, const models::mtcnn::Face& f, const std::string& label, bool known) {
  const data::Rgb color = known ? data::Rgb{0, 200, 0} : data::Rgb{220, 0, 0};
  int thick = int(std::max<int64_t>(2, std::min(img.width, img.height) / 300));
  int scale = int(std::clamp<int64_t>(std::min(img.width, img.height) / 250, 1, 4));
  data::draw_box(img, f.box[0], f.box[1], f.box[2], f.box[3], color, thick);
  int64_t x = int64_t(std::lround(f.box[0]));
  int64_t y = int64_t(std::lround(f.box[1])) - data::text_height(scale) - thick;
  if (y < 0) y = int64_t(std::lround(f.box[3])) + thick;  // no room above the box: below it
  data::draw_text(img, x, y, label, {255, 255, 255}, scale, color);
}

std::string score_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", s);
  return buf;
}

int run_identify(const IdentifyArgs& args) {
  OpenedGallery opened = open_gallery(args.in, args.crop, args.flip);
  const models::Gallery& g = opened.gallery;
  models::Embedder& embedder = *opened.embedder;
  auto detector = make_detector(args.detector);

  std::vector<ImageFile> files = collect_images(args.photos);
  json photos = json::array();
  int failures = 0;
  Progress progress("identify", int64_t(files.size()));
  for (size_t i = 0; i < files.size(); ++i) {
    const ImageFile& file = files[i];
    progress.update(int64_t(i), file.relative);
    json entry;
    entry["path"] = file.path;
    try {
      data::Image img = read_input(file);
      auto faces = detector->detect(data::image_to_tensor(img));
      entry["width"] = img.width;
      entry["height"] = img.height;
      entry["faces"] = json::array();
      std::vector<data::Image> crops;
      for (const auto& f : faces) crops.push_back(models::crop_face(img, f, embedder.preprocess()));
      if (!crops.empty()) {
        auto ranked = models::rank_identities(g, embedder.embed(crops), args.match);  // per face
        for (size_t fi = 0; fi < faces.size(); ++fi) {
          const std::vector<models::IdentityScore>& r = ranked[fi];
          const std::string& best = r[0].identity;
          const bool known = r[0].score >= args.threshold;
          json j = detected_face_json(faces[fi]);
          j["identity"] = known ? json(best) : json(nullptr);
          j["score"] = round4(r[0].score);
          j["best"] = best;
          j["best_image"] = r[0].row >= 0 ? json(g.paths[size_t(r[0].row)]) : json(nullptr);
          j["runner_up"] = r.size() > 1 ? json{{"identity", r[1].identity}, {"score", round4(r[1].score)}} : json(nullptr);
          entry["faces"].push_back(j);
          if (!args.draw.empty())
            draw_labelled(img, faces[fi], (known ? best : std::string("unknown")) + " " + score_text(r[0].score), known);
        }
      }
      if (!args.draw.empty()) write_drawn(args.draw, file, img);
    } catch (const std::exception& e) {
      const std::string message = progress.fail(e);
      entry["error"] = message;
      ++failures;
    }
    photos.push_back(entry);
  }
  progress.update(int64_t(files.size()));
  progress.done();

  json out;
  out["gallery"] = args.in.gallery;
  out["match"] = args.match;
  out["threshold"] = args.threshold;
  out["photos"] = photos;
  std::string text = out.dump(2) + "\n";
  if (args.json_out.empty() || args.json_out == "-") {
    std::cout << text;
  } else {
    fs::path parent = fs::path(args.json_out).parent_path();
    if (!parent.empty()) fs::create_directories(parent);
    data::write_file_atomic(args.json_out, text);
  }
  if (failures) std::cerr << "facekit: " << failures << " of " << files.size() << " photos could not be read\n";
  return failures ? 1 : 0;
}

}  // namespace

void add_identify_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("identify", "Name every face in photos by comparing it with a gallery (facekit embed)");
  auto args = std::make_shared<IdentifyArgs>();
  cmd->add_option("photos", args->photos, "Photos (JPEG, PNG, BMP) or folders (walked recursively)")->required();
  add_gallery_flags(cmd, args->in);
  cmd->add_option("--threshold", args->threshold,
                  "Cosine score from which a face is named; below it the face is unknown. The default suits "
                  "MobileFaceNet (CASIA) with flip concat: same person 0.54-0.98, other people 0.04-0.28 in our tests")
      ->capture_default_str();
  cmd->add_option("--match", args->match,
                  "nearest: best cosine over an identity's images; centroid: cosine to the identity's mean embedding")
      ->capture_default_str()
      ->check(CLI::IsMember({"nearest", "centroid"}));
  cmd->add_option("--flip", args->flip, "Override the gallery's flip mode (a different one is refused)")
      ->check(CLI::IsMember({"none", "concat", "sum"}));
  cmd->add_option("--crop", args->crop, "Override the gallery's face crop (a different one is refused)")
      ->check(CLI::IsMember({"arcface", "sphereface", "facenet", "vggface2"}));
  cmd->add_option("--draw", args->draw, "Write each photo with named boxes to this folder (PNG)");
  cmd->add_option("--json", args->json_out, "Write the JSON here (default: stdout)");
  add_detector_flags(cmd, args->detector, "--mtcnn-weights");
  on_run(cmd, [args]() { return run_identify(*args); });
}

}  // namespace fk::apps
