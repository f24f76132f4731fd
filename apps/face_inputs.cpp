// Shared by the face commands: see face_inputs.h.
#include "apps/face_inputs.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "apps/commands.h"
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

namespace {
// The images below `dir` (relative names from `root`) into `found`; a folder that cannot be listed,
// this one or one below, becomes an entry carrying the error (skip_permission_denied dropped them
// silently, with their images).
void walk_folder(const fs::path& root, const fs::path& dir, std::vector<ImageFile>& found) {
  std::error_code ec;
  auto relative = [&](const fs::path& p) {
    std::error_code rel_ec;
    return fs::relative(p, root, rel_ec).string();
  };
  auto unreadable = [&](const std::error_code& why) {
    found.push_back({dir.string(), relative(dir), dir.string() + ": cannot read folder: " + why.message()});
  };
  fs::directory_iterator it(dir, ec);
  if (ec) return unreadable(ec);
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code entry_ec;
    const fs::directory_entry& e = *it;
    if (e.is_directory(entry_ec) && !e.is_symlink(entry_ec)) walk_folder(root, e.path(), found);
    else if (e.is_regular_file(entry_ec) && is_image_name(e.path())) found.push_back({e.path().string(), relative(e.path()), ""});
  }
  if (ec) unreadable(ec);
}
}  // namespace

std::vector<ImageFile> collect_images(const std::vector<std::string>& args) {
  std::vector<ImageFile> out;
  for (const auto& a : args) {
    fs::path p(a);
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<ImageFile> found;
      walk_folder(p, p, found);
      if (found.empty()) throw Error(a + ": no images found (.jpg, .jpeg, .png, .bmp)");
      std::sort(found.begin(), found.end(), [](const ImageFile& x, const ImageFile& y) { return x.path < y.path; });
      out.insert(out.end(), found.begin(), found.end());
    } else {  // a file, or a missing path: reading it reports the problem in its turn
      out.push_back({a, p.filename().string(), ""});
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

data::Image next_image(data::ImagePrefetcher& images, const ImageFile& file) {
  data::ImagePrefetcher::Item item = images.next();  // taken even for a folder entry: the order stays in step
  if (!file.error.empty()) throw std::runtime_error(file.error);
  if (!item.error.empty()) throw std::runtime_error(item.error);
  return std::move(item.image);
}

data::Image read_input(const ImageFile& file) {
  if (!file.error.empty()) throw std::runtime_error(file.error);
  return data::read_image(file.path);
}

void add_gallery_flags(CLI::App* cmd, GalleryFlags& flags) {
  cmd->add_option("--gallery", flags.gallery, "Gallery made by `facekit embed` (.npz or .h5)")->required();
  cmd->add_option("--weights", flags.weights,
                  "The recognition weights the gallery was made with (checked against its SHA-256)")
      ->required();
  cmd->add_option("--weights-key", flags.weights_key, "State dict nested in a training checkpoint, e.g. net_state_dict");
  add_allow_nonfinite_flag(cmd, flags.allow_nonfinite);
}

OpenedGallery open_gallery(const GalleryFlags& flags, const std::string& crop, const std::string& flip) {
  OpenedGallery out;
  out.gallery = models::load_gallery(flags.gallery, flags.allow_nonfinite);
  FK_CHECK(out.gallery.size() > 0, flags.gallery, ": the gallery is empty");
  models::EmbedderOptions eo;
  eo.weights = flags.weights;
  eo.weights_key = flags.weights_key;
  eo.allow_nonfinite = flags.allow_nonfinite;
  eo.crop = crop.empty() ? out.gallery.meta.crop : crop;
  eo.flip = flip.empty() ? out.gallery.meta.flip : flip;
  out.embedder = models::gallery_embedder(out.gallery, eo, flags.gallery);
  return out;
}

void write_drawn(const std::string& draw_dir, const ImageFile& file, const data::Image& img) {
  const std::filesystem::path target =
      std::filesystem::path(draw_dir) / std::filesystem::path(file.relative).replace_extension(".png");
  std::filesystem::create_directories(target.parent_path());
  data::write_png(target.string(), img);
}

}  // namespace fk::apps
