// `facekit embed DIR --arch A --weights W --out GALLERY.npz|GALLERY.h5 [--format npz|h5] [--flip none|concat|sum] [--template T]`:
// a gallery of face embeddings from a folder-per-identity tree (models/recognition/gallery.h). Each image: read,
// MTCNN, the largest face cropped the way the architecture wants it (models/recognition/face_embedder.h), then
// embedded in batches. The label of an image is the first folder of its path below DIR (an image
// directly in DIR is labelled by its file name without extension). Streaming: only one batch of crops
// is held at a time, so memory stays flat however many images there are. Images without a face and
// unreadable files are listed and skipped; unreadable ones make the exit code 1 (the gallery is still
// written). With --no-detect the images are taken as already-cropped faces (resized to the input).
// The gallery's format follows --out's extension (.h5 / .hdf5: HDF5 with egcode's per-person groups
// beside facekit's datasets, gallery.h; else .npz); --format h5|npz says it explicitly and must agree.
// Tests: tests/apps/test_embed.cpp.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "apps/commands.h"
#include "apps/face_inputs.h"
#include "apps/progress.h"
#include "data/formats/h5.h"
#include "data/image/image.h"
#include "models/recognition/face_embedder.h"
#include "models/recognition/gallery.h"

namespace fk::apps {

namespace {

namespace fs = std::filesystem;

struct EmbedArgs {
  std::string dir, out, format;
  models::EmbedderOptions embedder;
  bool no_detect = false;
  DetectorFlags detector;
};

std::string label_of(const ImageFile& f) {
  fs::path rel(f.relative);
  if (rel.has_parent_path()) return rel.begin()->string();
  return rel.stem().string();
}

int run_embed(const EmbedArgs& args) {
  FK_CHECK(fs::is_directory(args.dir), args.dir, ": not a folder (expected one sub-folder of images per identity)");
  models::Embedder embedder(args.embedder);
  std::unique_ptr<models::mtcnn::Detector> detector;
  if (!args.no_detect) detector = make_detector(args.detector);
  std::vector<ImageFile> files = collect_images({args.dir});

  models::Gallery g;
  g.meta = embedder.meta();
  std::vector<float> rows;  // the embeddings so far, row after row
  int64_t dim = 0;
  std::vector<data::Image> batch;
  auto flush = [&]() {
    if (batch.empty()) return;
    Tensor e = embedder.embed(batch).contiguous();
    dim = e.size(1);
    rows.insert(rows.end(), e.data<float>(), e.data<float>() + e.numel());
    batch.clear();
  };
  std::vector<std::string> no_face, unreadable;
  Progress progress("embed", int64_t(files.size()));
  auto images = prefetch_images(files);  // the next images decode while this one is processed
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < files.size(); ++i) {
    const ImageFile& file = files[i];
    progress.update(int64_t(i), file.relative);
    try {
      data::Image img = next_image(*images, file);
      if (detector) {
        auto faces = detector->detect(data::image_to_tensor(img));  // largest first
        if (faces.empty()) {
          no_face.push_back(file.path);
          continue;
        }
        img = models::crop_face(img, faces[0], embedder.preprocess());
      }
      batch.push_back(std::move(img));
      g.labels.push_back(label_of(file));
      g.paths.push_back(file.path);
      if (int64_t(batch.size()) == args.embedder.batch_size) flush();
    } catch (const std::exception& e) {
      progress.fail(e);
      unreadable.push_back(file.path);
    }
  }
  flush();
  progress.update(int64_t(files.size()));
  progress.done();
  report_throughput("embed", files.size(), start);
  FK_CHECK(!g.labels.empty(), args.dir, ": no face found in any of the ", files.size(), " images");
  g.embeddings = from_buffer(rows.data(), {g.size(), dim}, DType::Float32);
  models::save_gallery(args.out, g);
  for (const auto& p : no_face) std::cerr << "no face: " << p << "\n";
  std::printf("embedded %lld faces of %zu identities from %zu images into %s (%s, %lld-d, flip %s); %zu without a face, "
              "%zu unreadable\n",
              (long long)g.size(), g.identities().size(), files.size(), args.out.c_str(), g.meta.arch.c_str(),
              (long long)dim, g.meta.flip.c_str(), no_face.size(), unreadable.size());
  return unreadable.empty() ? 0 : 1;
}

}  // namespace

void add_embed_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "embed", "Embed the largest face of every image of a folder-per-identity tree into a gallery (.npz or .h5)");
  auto args = std::make_shared<EmbedArgs>();
  cmd->add_option("dir", args->dir, "Folder with one sub-folder of images per identity")->required();
  cmd->add_option("--arch", args->embedder.arch, "Recognition architecture (see `facekit run --help`)")->required();
  cmd->add_option("--weights", args->embedder.weights, "Its weights file (.pt/.pth/.ckpt/.pkl/.npz)")->required();
  cmd->add_option("--weights-key", args->embedder.weights_key,
                  "State dict nested in a training checkpoint, e.g. net_state_dict");
  add_allow_nonfinite_flag(cmd, args->embedder.allow_nonfinite);
  cmd->add_option("--out", args->out,
                  "Gallery file to write, replaced atomically: .npz (numpy), or .h5 (HDF5: h5py reads it; egcode's "
                  "per-person mean embeddings beside facekit's datasets)")
      ->required();
  cmd->add_option("--format", args->format, "npz or h5; by default --out's extension says (.h5/.hdf5, else npz)")
      ->check(CLI::IsMember({"npz", "h5"}));
  cmd->add_option("--flip", args->embedder.flip,
                  "Also embed the mirror image: concat (f(x) ++ f(mirror x), MobileFaceNet's feature) or sum "
                  "(insightface's)")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "concat", "sum"}));
  cmd->add_option("--template,--crop", args->embedder.crop,
                  "Face crop: arcface, sphereface, facenet or vggface2 (default: the architecture's own)")
      ->check(CLI::IsMember({"arcface", "sphereface", "facenet", "vggface2"}));
  cmd->add_option("--batch", args->embedder.batch_size, "Faces per forward pass")->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_flag("--no-detect", args->no_detect, "The images are already face crops: no detection, just resize");
  add_detector_flags(cmd, args->detector, "--mtcnn-weights");
  on_run(cmd, [args]() {
    if (!args->format.empty())
      FK_CHECK((args->format == "h5") == data::is_h5_path(args->out), "embed: --format ", args->format, " but --out ",
               args->out, (args->format == "h5" ? " does not end in .h5" : " ends in .h5"));
    return run_embed(*args);
  });
}

}  // namespace fk::apps
