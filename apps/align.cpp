// `facekit align IN_DIR OUT_DIR [--template arcface|sphereface|facenet] [--all] [--format png|jpg]`: detects the faces of
// every image under IN_DIR (MTCNN) and writes aligned crops under OUT_DIR with the same folder layout
// (one folder per identity stays one folder per identity). IN_DIR may also be a single image.
// Templates:
//   arcface     five-point similarity onto insightface's 112x112 template (data::align)
//   sphereface  the same onto the 96x112 SphereFace/CosFace/MobileFaceNet template
//   facenet     facenet-pytorch's extract_face: the box plus --margin, resized to --size (160)
// The largest face of each image (OUT_DIR/<relative path>.png), or every face with --all
// (<stem>_0.png, _1.png, ... largest first); --format jpg writes JPEG (quality 95, as insightface's
// verification sets hold their crops) instead of PNG. Images without a face are listed on stderr and in the
// summary; unreadable files too, and they make the exit code 1. A crop that cannot be written is
// counted as such (exit 1); an output folder that cannot be created stops the run at once (every
// later image would fail the same way).
// Tests: tests/apps/test_detect_align.cpp.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "apps/commands.h"
#include "apps/face_inputs.h"
#include "apps/progress.h"
#include "data/image/align.h"
#include "data/image/image.h"

namespace fk::apps {

namespace {

namespace fs = std::filesystem;

struct AlignArgs {
  std::string in_dir, out_dir, tmpl = "arcface", format = "png";
  bool all = false;
  int64_t size = 160, margin = 0;
  DetectorFlags detector;
};

data::Image aligned_crop(const data::Image& img, const models::mtcnn::Face& f, const AlignArgs& args) {
  if (args.tmpl == "facenet") return data::extract_face(img, f.box, args.size, args.margin);
  data::Landmarks5 marks;
  for (size_t k = 0; k < 5; ++k) marks[k] = {f.landmarks[k][0], f.landmarks[k][1]};
  return data::align(img, marks, args.tmpl == "arcface" ? data::arcface_112 : data::sphereface_96x112);
}

int run_align(const AlignArgs& args) {
  if (!fs::exists(args.in_dir)) throw std::runtime_error(args.in_dir + ": no such file or folder");
  if (args.margin >= args.size)
    throw std::runtime_error("--margin " + std::to_string(args.margin) + " must be smaller than --size " +
                             std::to_string(args.size));
  auto detector = make_detector(args.detector);
  std::vector<ImageFile> files = collect_images({args.in_dir});
  auto make_folder = [](const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir)) {
      const std::string why = ec ? ec.message() : "a file of that name is in the way";
      throw std::runtime_error(dir.string() + ": cannot create the output folder: " + why);
    }
  };
  make_folder(args.out_dir);
  int64_t faces_written = 0, failures = 0, write_failures = 0;
  std::vector<std::string> no_face;
  Progress progress("align", int64_t(files.size()));
  auto images = prefetch_images(files);  // the next images decode while this one is detected
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < files.size(); ++i) {
    const ImageFile& file = files[i];
    progress.update(int64_t(i), file.relative);
    data::Image img;
    std::vector<models::mtcnn::Face> faces;
    try {
      img = next_image(*images, file);
      faces = detector->detect(data::image_to_tensor(img));
    } catch (const std::exception& e) {
      progress.fail(e);
      ++failures;
      continue;
    }
    if (faces.empty()) {
      no_face.push_back(file.path);
      continue;
    }
    size_t n = args.all ? faces.size() : 1;
    fs::path stem = fs::path(args.out_dir) / fs::path(file.relative).replace_extension();
    make_folder(stem.parent_path());
    for (size_t k = 0; k < n; ++k) {
      std::string name = stem.string() + (args.all ? "_" + std::to_string(k) : "") + "." + args.format;
      try {
        data::write_image(name, aligned_crop(img, faces[k], args));  // by extension: PNG or JPEG
        ++faces_written;
      } catch (const std::exception& e) {
        progress.fail(e);
        ++write_failures;
      }
    }
  }
  progress.update(int64_t(files.size()));
  progress.done();
  report_throughput("align", files.size(), start);
  for (const auto& p : no_face) std::cerr << "no face: " << p << "\n";
  std::printf("aligned %lld faces from %zu images into %s (%s); %zu without a face, %lld unreadable, %lld not written\n",
              (long long)faces_written, files.size(), args.out_dir.c_str(), args.tmpl.c_str(), no_face.size(),
              (long long)failures, (long long)write_failures);
  return failures || write_failures ? 1 : 0;
}

}  // namespace

void add_align_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "align", "Detect and align the faces of a folder of images into another, keeping the folder-per-identity layout");
  auto args = std::make_shared<AlignArgs>();
  cmd->add_option("in_dir", args->in_dir, "Folder of images (walked recursively), or one image")->required();
  cmd->add_option("out_dir", args->out_dir, "Where the aligned crops go (same relative paths)")->required();
  cmd->add_option("--template", args->tmpl,
                  "arcface: 112x112 five-point; sphereface: 96x112 five-point; facenet: box crop resized to --size")->capture_default_str()
      ->check(CLI::IsMember({"arcface", "sphereface", "facenet"}));
  cmd->add_flag("--all", args->all, "Every face of an image (<name>_0.png, _1.png, ...), not only the largest");
  cmd->add_option("--size", args->size, "facenet template: output size in pixels")->capture_default_str()->check(CLI::Range(8, 4096));
  cmd->add_option("--margin", args->margin, "facenet template: margin in output pixels")->capture_default_str()
      ->check(CLI::Range(0, 4096));
  cmd->add_option("--format", args->format, "Image format of the crops: png (lossless) or jpg (quality 95)")
      ->capture_default_str()
      ->check(CLI::IsMember({"png", "jpg"}));
  add_detector_flags(cmd, args->detector);
  on_run(cmd, [args]() { return run_align(*args); });
}

}  // namespace fk::apps
