// Shared by the face commands: see face_inputs.h.
#include "apps/face_inputs.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "tensor/error.h"

namespace fk::apps {

namespace fs = std::filesystem;

std::string mtcnn_weights_dir(const std::string& flag) {
  std::string dir = flag;
  if (dir.empty()) {
    if (const char* env = std::getenv("FACEKIT_WEIGHTS"); env && *env) dir = env;
    else if (const char* home = std::getenv("HOME"); home && *home) dir = std::string(home) + "/.cache/facekit";
    else dir = ".cache/facekit";
  }
  if (!fs::exists(fs::path(dir) / "pnet.pt"))
    throw Error("MTCNN weights not found in " + dir +
                " (expected pnet.pt, rnet.pt, onet.pt): run `bash scripts/fetch-weights.sh` or pass the folder (--weights DIR; --mtcnn-weights DIR in the recognition commands)");
  return dir;
}

void add_detector_flags(CLI::App* cmd, DetectorFlags& flags, const std::string& weights_flag) {
  cmd->add_option(weights_flag, flags.weights,
                  "Folder with MTCNN's pnet.pt, rnet.pt, onet.pt (default: $FACEKIT_WEIGHTS, else ~/.cache/facekit)");
  cmd->add_option("--min-face", flags.min_face, "Smallest face to look for, in pixels")->capture_default_str()
      ->check(CLI::Range(1.0, 1e6));
  cmd->add_option("--thresholds", flags.thresholds, "Probability thresholds of PNet, RNet, ONet")->capture_default_str()
      ->delimiter(',')
      ->expected(3)
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--factor", flags.factor, "Scale step of the image pyramid")->capture_default_str()->check(CLI::Range(0.05, 0.95));
}

std::unique_ptr<models::mtcnn::Detector> make_detector(const DetectorFlags& flags) {
  models::mtcnn::DetectorOptions o;
  o.min_face_size = flags.min_face;
  o.thresholds = {flags.thresholds[0], flags.thresholds[1], flags.thresholds[2]};
  o.factor = flags.factor;
  return std::make_unique<models::mtcnn::Detector>(mtcnn_weights_dir(flags.weights), o);
}

namespace {
bool is_image_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}
}  // namespace

std::vector<ImageFile> collect_images(const std::vector<std::string>& args) {
  std::vector<ImageFile> out;
  for (const auto& a : args) {
    fs::path p(a);
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<ImageFile> found;
      for (auto it = fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec) && is_image_name(it->path()))
          found.push_back({it->path().string(), fs::relative(it->path(), p, ec).string()});
      if (ec) throw Error(a + ": cannot list folder: " + ec.message());
      std::sort(found.begin(), found.end(), [](const ImageFile& x, const ImageFile& y) { return x.path < y.path; });
      out.insert(out.end(), found.begin(), found.end());
    } else {  // a file, or a missing path: reading it reports the problem in its turn
      out.push_back({a, p.filename().string()});
    }
  }
  return out;
}

std::unique_ptr<data::ImagePrefetcher> prefetch_images(const std::vector<ImageFile>& files) {
  std::vector<std::string> paths;
  paths.reserve(files.size());
  for (const auto& f : files) paths.push_back(f.path);
  return std::make_unique<data::ImagePrefetcher>(std::move(paths));
}

data::Image next_image(data::ImagePrefetcher& images) {
  data::ImagePrefetcher::Item item = images.next();
  if (!item.error.empty()) throw std::runtime_error(item.error);
  return std::move(item.image);
}

}  // namespace fk::apps
