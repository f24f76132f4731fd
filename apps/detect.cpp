// `facekit detect IMAGE_OR_DIR... [--json OUT.json] [--draw OUT_DIR]`: MTCNN face detection
// (models/mtcnn/detector.h) on photos. JSON, per image: {path, width, height, faces: [{box: [x1,y1,x2,y2],
// score, landmarks: [[x,y] x5]}]} with the largest face first; an unreadable file gets {path, error}
// instead, the other files are still processed and the exit code is 1 at the end. --draw writes each
// image with its boxes (green) and landmarks (red) as OUT_DIR/<relative path>.png. The next images are
// decoded while one is detected (data/loading/prefetch.h); the throughput (images/s) is printed on stderr.
// Tests: tests/apps/test_detect_align.cpp.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <stdexcept>

#include "apps/commands.h"
#include "apps/face_inputs.h"
#include "apps/progress.h"
#include "data/viz/draw.h"
#include "data/image/image.h"
#include "data/formats/files.h"
#include "data/loading/prefetch.h"

namespace fk::apps {

namespace {

namespace fs = std::filesystem;

struct DetectArgs {
  std::vector<std::string> inputs;
  std::string json, draw;
  DetectorFlags detector;
};

nlohmann::ordered_json face_json(const models::mtcnn::Face& f) {
  nlohmann::ordered_json j;
  j["box"] = {f.box[0], f.box[1], f.box[2], f.box[3]};
  j["score"] = f.prob;
  j["landmarks"] = nlohmann::ordered_json::array();
  for (const auto& p : f.landmarks) j["landmarks"].push_back({p[0], p[1]});
  return j;
}

void draw_faces(data::Image& img, const std::vector<models::mtcnn::Face>& faces) {
  int thick = int(std::max<int64_t>(2, std::min(img.width, img.height) / 300));
  for (const auto& f : faces) {
    data::draw_box(img, f.box[0], f.box[1], f.box[2], f.box[3], {0, 255, 0}, thick);
    for (const auto& p : f.landmarks) data::draw_dot(img, p[0], p[1], {255, 0, 0}, thick + 1);
  }
}

int run_detect(const DetectArgs& args) {
  auto detector = make_detector(args.detector);
  std::vector<ImageFile> files = collect_images(args.inputs);
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  int failures = 0;
  Progress progress("detect", int64_t(files.size()));
  auto images = prefetch_images(files);  // the next images decode while this one is detected
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < files.size(); ++i) {
    const ImageFile& file = files[i];
    progress.update(int64_t(i), file.relative);
    nlohmann::ordered_json entry;
    entry["path"] = file.path;
    try {
      data::Image img = next_image(*images, file);
      auto faces = detector->detect(data::image_to_tensor(img));
      entry["width"] = img.width;
      entry["height"] = img.height;
      entry["faces"] = nlohmann::ordered_json::array();
      for (const auto& f : faces) entry["faces"].push_back(face_json(f));
      if (!args.draw.empty()) {
        draw_faces(img, faces);
        write_drawn(args.draw, file, img);
      }
    } catch (const std::exception& e) {
      const std::string message = progress.fail(e);
      entry["error"] = message;
      ++failures;
    }
    out.push_back(entry);
  }
  progress.update(int64_t(files.size()));
  progress.done();
  report_throughput("detect", files.size(), start);

  std::string text = out.dump(2) + "\n";
  if (args.json.empty() || args.json == "-")
    std::cout << text;
  else {
    fs::path parent = fs::path(args.json).parent_path();
    if (!parent.empty()) fs::create_directories(parent);
    data::write_file_atomic(args.json, text);
  }
  if (failures) std::cerr << "facekit: " << failures << " of " << files.size() << " files could not be read\n";
  return failures ? 1 : 0;
}

}  // namespace

void add_detect_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("detect", "Find faces (MTCNN): boxes, scores and five landmarks per face, as JSON");
  auto args = std::make_shared<DetectArgs>();
  cmd->add_option("images", args->inputs, "Image files (JPEG, PNG, BMP) or folders (walked recursively)")
      ->required();
  cmd->add_option("--json", args->json,
                  "Write the JSON here (default: stdout): [{path, width, height, faces: [{box, score, landmarks}]}]");
  cmd->add_option("--draw", args->draw, "Write each image with its boxes and landmarks to this folder (PNG)");
  add_detector_flags(cmd, args->detector);
  on_run(cmd, [args]() { return run_detect(*args); });
}

}  // namespace fk::apps
