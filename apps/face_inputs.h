// What the face commands (detect, align, and later embed/identify) share: finding the MTCNN weights,
// the detector flags, and turning IMAGE_OR_DIR arguments into a list of image files.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "data/loading/prefetch.h"
#include "models/mtcnn/detector.h"
#include "models/recognition/face_embedder.h"
#include "models/recognition/gallery.h"

namespace fk::apps {

// The MTCNN weights folder: `flag` when given, else $FACEKIT_WEIGHTS, else ~/.cache/facekit. Throws a
// one-line error saying how to fetch them when pnet.pt is not there.
std::string mtcnn_weights_dir(const std::string& flag);

struct DetectorFlags {
  std::string weights;
  double min_face = 20;
  std::vector<double> thresholds = {0.6, 0.7, 0.7};
  double factor = 0.709;
};
// --weights, --min-face, --thresholds a,b,c, --factor. Commands whose --weights is the recognition
// model's (embed, identify, verify, cluster, lookalike, gradcam) pass weights_flag "--mtcnn-weights".
void add_detector_flags(CLI::App* cmd, DetectorFlags& flags, const std::string& weights_flag = "--weights");
std::unique_ptr<models::mtcnn::Detector> make_detector(const DetectorFlags& flags);

// One input image: its path as found, and its path relative to the argument it came from (the file
// name for a file argument, the path below the folder for a folder argument) for naming outputs.
// A folder that could not be listed is an entry too, with `error` set: reading it throws that error,
// so it is reported and counted like an unreadable file.
struct ImageFile {
  std::string path;
  std::string relative;
  std::string error;  // "<folder>: cannot read folder: <reason>", or empty
};
// Files named directly are taken as they are (their content decides whether they are images);
// folders are walked recursively for .jpg/.jpeg/.png/.bmp files (any case), sorted by path, without
// following links to folders. A missing path is listed too: reading it fails in its turn, so the other
// files are still processed. A folder argument holding no image and nothing unreadable is an error
// ("<folder>: no images found (.jpg, .jpeg, .png, .bmp)").
std::vector<ImageFile> collect_images(const std::vector<std::string>& args);

// The files' images, decoded one or a few ahead on a worker thread while the caller works
// (data/loading/prefetch.h), and the next of them (`file`, the entry it was made for), its read error thrown as
// std::runtime_error.
std::unique_ptr<data::ImagePrefetcher> prefetch_images(const std::vector<ImageFile>& files);
data::Image next_image(data::ImagePrefetcher& images, const ImageFile& file);
// One file read now (commands that do not prefetch), with the same errors.
data::Image read_input(const ImageFile& file);
// A gallery made by `facekit embed` and the recognition weights it was made with (identify, lookalike):
// --gallery, --weights, --weights-key, --allow-nonfinite.
struct GalleryFlags {
  std::string gallery, weights, weights_key;
  bool allow_nonfinite = false;
};
void add_gallery_flags(CLI::App* cmd, GalleryFlags& flags);
// The gallery (refused when empty) and an embedder made as it was made: its crop and flip unless
// `crop` / `flip` are given, the weights checked against its SHA-256 (models::gallery_embedder).
struct OpenedGallery {
  models::Gallery gallery;
  std::unique_ptr<models::Embedder> embedder;
};
OpenedGallery open_gallery(const GalleryFlags& flags, const std::string& crop = "", const std::string& flip = "");

// The annotated picture of `file` (--draw): `draw_dir`/<its relative path>.png, folders made as needed.
void write_drawn(const std::string& draw_dir, const ImageFile& file, const data::Image& img);

}  // namespace fk::apps
