// Training and evaluation transforms (torchvision.transforms semantics on PIL images, pipelines.md §2,
// §8; the projects' pipelines are in losses.md §7):
//  - Rng: the small generator every random transform draws from (splitmix64, documented below);
//  - deterministic cores (hflip, rotate, adjust_brightness/contrast/saturation/hue, erase,
//    to_tensor), each bit-exact with the torchvision / Pillow function it names;
//  - ImageOp / TensorOp factories (resize, center_crop, random_crop, random_horizontal_flip,
//    random_rotation, color_jitter, random_erasing, face_crop) that draw their parameters from the
//    Rng and call the cores; Pipeline chains them: image ops, Normalize, tensor ops;
//  - sample_pairing: the KIT project's SamplePairing on a normalised batch.
// The random draws follow torchvision's order of draws but use facekit's Rng, not torch's generator:
// the same seed gives the same images in facekit, never the same images as PyTorch.
// Tests: tests/data/loading/test_transforms.cpp (fixtures from tests/fixtures/make_transforms.py).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "data/image/image.h"
#include "tensor/tensor.h"

namespace fk::data {

// splitmix64 (Steele, Lea, Flood 2014): state += 0x9e3779b97f4a7c15, output = the state mixed by two
// xor-shift-multiply rounds. Tiny, fast, and any 64-bit seed gives a good stream, which is what
// per-sample seeds (hashes of seed, epoch and index) need.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next_u64();
  double uniform();                            // [0, 1), 53 random bits
  double uniform(double lo, double hi);        // lo + (hi - lo) * uniform()
  int64_t randint(int64_t lo, int64_t hi_exclusive);  // unbiased (rejection), needs lo < hi
  bool bernoulli(double p);                    // uniform() < p

 private:
  uint64_t state_;
};

// splitmix64's output function on its own: a bijective 64-bit mix, used to hash seeds together.
uint64_t mix64(uint64_t x);
// A seed from several numbers: mix64 folded over them (order matters).
uint64_t hash_seed(std::initializer_list<uint64_t> parts);

using ImageOp = std::function<Image(const Image&, Rng&)>;
using TensorOp = std::function<Tensor(const Tensor&, Rng&)>;  // on the normalised (3,H,W) float32

// ---- deterministic cores

// PIL Image.transpose(FLIP_LEFT_RIGHT).
Image hflip(const Image& img);
// PIL img.rotate(angle_degrees, NEAREST, expand=False, center=None, fillcolor=(fill,)*3): counter-
// clockwise about the image centre (w/2, h/2); PIL's inverse affine map with 15-decimal rounded
// cos/sin, sampled in 16.16 fixed point (Geometry.c affine_fixed). 0/180 degrees (and 90/270 on a
// square image) are exact transposes, as PIL does.
Image rotate(const Image& img, double angle_degrees, uint8_t fill = 0);
// torchvision.transforms.functional.adjust_* on PIL images (PIL.ImageEnhance and Image.blend:
// out = uint8(degenerate + factor * (img - degenerate)) in float, clipped to 0..255):
//  brightness: degenerate black; contrast: the mean of the "L" image (rounded) everywhere;
//  saturation: the "L" image (L = (19595 R + 38470 G + 7471 B + 2^15) >> 16).
Image adjust_brightness(const Image& img, double factor);
Image adjust_contrast(const Image& img, double factor);
Image adjust_saturation(const Image& img, double factor);
// torchvision adjust_hue on PIL: RGB -> PIL HSV, H += uint8(hue_factor * 255) (wrapping), -> RGB.
// hue_factor in [-0.5, 0.5].
Image adjust_hue(const Image& img, double hue_factor);
// torchvision F.erase: x[:, i:i+h, j:j+w] = value on a (C, H, W) tensor; returns a copy.
Tensor erase(const Tensor& x, int64_t i, int64_t j, int64_t h, int64_t w, double value);
// Python's round(x) (halves to even), as torchvision's offset arithmetic uses it.
int64_t round_half_even(double x);

// ---- image ops (each returns a new image; the Rng is used only by the random ones)

// Resize to exactly w x h: "bilinear" = Pillow BILINEAR (torchvision Resize((h, w)) on PIL images),
// "area" = torch interpolate(mode="area") truncated to uint8 (data::resize_area).
ImageOp resize(int64_t w, int64_t h, const std::string& mode = "bilinear");
// torchvision Resize(size): the shorter side becomes `size`, the longer int(size * long / short),
// Pillow BILINEAR.
ImageOp resize_shorter(int64_t size);
// torchvision CenterCrop((h, w)): offsets round((H - h) / 2) halves to even; a crop larger than the
// image pads it with black first (left/top pad (w - W) // 2).
ImageOp center_crop(int64_t w, int64_t h);
// torchvision RandomCrop((h, w), padding): pad every side with black, then top = randint(0, H' - h + 1)
// drawn first, left = randint(0, W' - w + 1). The padded image must be at least w x h.
ImageOp random_crop(int64_t w, int64_t h, int64_t padding = 0);
// torchvision RandomHorizontalFlip(p): flips when uniform() < p.
ImageOp random_horizontal_flip(double p = 0.5);
// torchvision RandomRotation(degrees, NEAREST, expand=False, center=None, fill): angle =
// uniform(-degrees, degrees), then rotate(img, angle, fill).
ImageOp random_rotation(double degrees, uint8_t fill = 0);
// torchvision ColorJitter(brightness, contrast, saturation, hue): factors drawn first, in this order,
// brightness ~ U[max(0, 1-b), 1+b], contrast, saturation likewise, hue ~ U[-h, h] (a zero parameter
// draws nothing and is skipped); then a random order of the four (Fisher-Yates on 0..3, drawn before
// the factors, as torchvision's randperm is) applies the adjust_* cores.
ImageOp color_jitter(double brightness, double contrast, double saturation, double hue = 0);

// The KIT project's face_crop (pipelines.md §8): `find_box` returns the first detected face box
// (x1, y1, x2, y2) or nothing; the box is grown by `expand` pixels on each side and cropped like PIL's
// Image.crop with a float box (coordinates rounded halves to even, black outside). No face throws
// fk::Error "face_crop: no face found" (the loader then skips the image). find_box is called from the
// loader's worker threads at the same time: it must be thread-safe (the app wraps its MTCNN detector).
using BoxFinder = std::function<std::optional<std::array<float, 4>>(const Image&)>;
ImageOp face_crop(BoxFinder find_box, double expand = 10);

// ---- to tensor

// ToTensor + Normalize. Output channel c comes from pixel channel c (RGB) or 2 - c (bgr), and
//  scale_to_unit: (float(p) / 255 - mean[c]) / std[c] in float32, as ToTensor then Normalize compute;
//  otherwise:     (p - mean[c]) / std[c] on raw 0..255 values, in double rounded once to float32
//                 (the Caffe/VGGFace2 convention: BGR minus the per-channel mean, std 1).
struct Normalize {
  std::array<double, 3> mean = {0, 0, 0};
  std::array<double, 3> std = {1, 1, 1};
  bool bgr = false;
  bool scale_to_unit = true;
};
// An image to the normalised (3, H, W) float32 tensor.
Tensor to_tensor(const Image& img, const Normalize& n);

// ---- tensor ops

// torchvision RandomErasing(p, scale, ratio, value) on the normalised tensor: if uniform() < p, up to
// 10 attempts of area = H*W*U(scale), aspect = exp(U(log ratio)), h = round(sqrt(area*aspect)),
// w = round(sqrt(area/aspect)) (halves to even); the first with h < H and w < W draws
// top = randint(0, H-h+1), left = randint(0, W-w+1) and erases that box with `value`.
TensorOp random_erasing(double p = 0.5, std::pair<double, double> scale = {0.02, 0.33},
                        std::pair<double, double> ratio = {0.3, 3.3}, double value = 0);

struct Pipeline {
  std::vector<ImageOp> image_ops;
  Normalize normalize;
  std::vector<TensorOp> tensor_ops;

  // Image ops in order, to_tensor, tensor ops in order -> (3, H, W) float32. Thread-safe when the
  // ops are (every op above is).
  Tensor operator()(const Image& img, Rng& rng) const;
};

// ---- batch augmentation

// The KIT project's SamplePairing on a (N, C, H, W) float32 batch: for i = 0..N-1 in order, if
// rng.bernoulli(p): j = rng.randint(0, N) and image i becomes (image i + image j) / 2, computed on the
// batch as mixed so far (j may equal i or an already mixed image). Labels are unchanged. Returns a new
// tensor; `batch` is not modified.
Tensor sample_pairing(const Tensor& batch, double p, Rng& rng);
// SamplePairing's schedule: on for 0-based epoch e when e+1 >= 0.2*epochs and e+1 < 0.8*epochs.
bool sample_pairing_active(int64_t epoch, int64_t epochs);

}  // namespace fk::data
