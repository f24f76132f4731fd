// The recognition front end every face command shares (embed, identify, verify, cluster, lookalike,
// gradcam): how an architecture wants its face, and embeddings of face crops.
//  - FacePreprocess: the crop (five-point alignment onto a template, or a box crop) and the pixel
//    normalisation of one architecture; default_preprocess(arch) gives the one its published weights
//    were trained with (models.md, pipelines.md §1, §3, §7).
//  - crop_face: a detected face (models/mtcnn/detector.h) -> the crop the network sees.
//  - face_tensor: a crop -> the normalised (3, H, W) float32 input.
//  - load_model: an architecture with a weights file (any format), as `facekit run` loads it.
//  - Embedder: batches of crops -> L2-normalised embeddings; with flip, the embedding of the crop and
//    of its mirror image concatenated (MobileFaceNet's verification feature) or summed (insightface's).
// Tests: tests/models/recognition/test_face_embedder.cpp (real MobileFaceNet weights against PyTorch embeddings).
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "data/image/image.h"
#include "models/recognition/gallery.h"
#include "models/mtcnn/detector.h"
#include "models/zoo/zoo.h"

namespace fk::models {

struct FacePreprocess {
  // "arcface": five points onto insightface's template; "sphereface": onto the 96x112 template;
  // "facenet": facenet-pytorch's extract_face (box + margin, square); "vggface2": the box with 15 %
  // margin on each side, shorter side resized to the input size, centre crop (VGGFace2-GradCAM).
  std::string crop = "arcface";
  int64_t width = 112, height = 112;
  int64_t margin = 0;  // facenet crop only: margin in output pixels
  // Network input channel c = (pixel[c'] - mean[c]) / std[c] on 0..255 values, where c' = c, or the
  // reversed channel when bgr (the Caffe-converted VGGFace2 nets take BGR).
  std::array<double, 3> mean = {127.5, 127.5, 127.5};
  std::array<double, 3> std = {128, 128, 128};
  bool bgr = false;

  // One line for metadata and messages, e.g. "arcface 112x112, RGB, (x - 127.5) / 128".
  std::string describe() const;
};

// The crop and normalisation `arch`'s published weights expect; throws for architectures that do not
// produce a face embedding (the MTCNN nets, torchvision's ResNet-50 classifier).
FacePreprocess default_preprocess(const std::string& arch);
// `base` with the crop replaced by `crop_name` ("arcface", "sphereface", "facenet", "vggface2"):
// the input size stays the architecture's (the template is scaled to it).
FacePreprocess with_crop(FacePreprocess base, const std::string& crop_name);

// The crop of `face` in `img` that the network sees, width x height pixels.
data::Image crop_face(const data::Image& img, const mtcnn::Face& face, const FacePreprocess& p);
// The network input for a crop: float32 (3, height, width). A crop of another size is first resized
// (Pillow bilinear), so pre-aligned images of any size can be fed.
Tensor face_tensor(const data::Image& crop, const FacePreprocess& p);
// The horizontal mirror image.
data::Image mirror(const data::Image& img);

// An architecture with its weights, strictly loaded, in eval mode. `key` picks a nested state dict
// (a training checkpoint's "net_state_dict"); DataParallel's "module." prefix is stripped. Options
// implied by the file (classifier size, head layout) fill the ones left at their defaults. Throws
// one line naming the file when the weights do not fit, and when they hold NaN or infinite values
// ("<file>: 3 non-finite values (NaN or Inf), the first in 'fc.weight'; --allow-nonfinite loads them
// anyway") unless allow_nonfinite.
std::shared_ptr<Model> load_model(const std::string& arch, const std::string& weights_path,
                                  const std::string& key = "", ArchOptions opts = {}, bool allow_nonfinite = false);

struct EmbedderOptions {
  std::string arch;
  std::string weights;      // path of the weights file
  std::string weights_key;  // nested state dict, see load_model
  std::string crop;         // "" = the architecture's default (default_preprocess)
  std::string flip = "none";  // "none", "concat" (f(x) ++ f(mirror x)) or "sum" (f(x) + f(mirror x))
  int64_t batch_size = 32;
  bool allow_nonfinite = false;  // load weights holding NaN / Inf (see load_model)
};

class Embedder {
 public:
  explicit Embedder(const EmbedderOptions& opts);

  // (N, D) float32, every row L2-normalised. With flip "concat" D is twice the model's output size
  // and the concatenation is normalised as a whole (cosine of concatenated raw embeddings, as
  // MobileFaceNet's evaluation compares them). Runs in batches of batch_size.
  Tensor embed(const std::vector<data::Image>& crops);
  Tensor embed(const data::Image& crop);  // (1, D)

  const FacePreprocess& preprocess() const { return prep_; }
  // What a gallery made with this embedder records, to refuse queries made differently.
  const GalleryMeta& meta() const { return meta_; }
  Model& model() { return *model_; }
  std::shared_ptr<Model> model_ptr() const { return model_; }

 private:
  Tensor raw_embeddings(const std::vector<data::Image>& crops, bool mirrored);

  EmbedderOptions opts_;
  FacePreprocess prep_;
  GalleryMeta meta_;
  std::shared_ptr<Model> model_;
};

// The embedder for queries against gallery `g` (read from gallery_path): opts.arch set to the
// gallery's; weights that do not fit that architecture are refused naming it ("<gallery> was made
// with ir_small; <weights>: weights do not fit ir_small: 183 missing key(s): ..."), other settings
// by check_compatible.
std::unique_ptr<Embedder> gallery_embedder(const Gallery& g, EmbedderOptions opts, const std::string& gallery_path);

}  // namespace fk::models
