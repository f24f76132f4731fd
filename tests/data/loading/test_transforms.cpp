// data/transforms: the deterministic cores bit for bit against torchvision 0.14 / Pillow (resize,
// centre crop, flip, rotation, ColorJitter's adjust_*, ToTensor + Normalize, erase), the Rng, the
// random ops' determinism and statistics, SamplePairing.
// Fixtures: tests/fixtures/make_transforms.py -> tests/fixtures/transforms/.
#include <cmath>
#include <cstring>
#include <set>

#include "data/loading/transforms.h"
#include "tensor/creation.h"
#include "tests/data/image/image_fixtures.h"
#include "test_util.h"

using fk::data::Image;
using fk::data::Rng;

namespace {

Image src() { return fk::data::read_image(fk::test::fixture_path("transforms/src.png")); }

// An (H, W, 3) uint8 fixture as an Image.
Image expected(const std::string& name) {
  fk::Tensor t = fk::test::fixture("transforms/" + name + ".npy");
  REQUIRE(t.dtype() == fk::DType::UInt8);
  REQUIRE(t.dim() == 3);
  Image img(t.size(1), t.size(0));
  std::memcpy(img.pixels.data(), t.contiguous().raw_data(), img.pixels.size());
  return img;
}

Image run_op(const fk::data::ImageOp& op, const Image& img) {
  Rng rng(0);
  return op(img, rng);
}

// A small image with a distinct value at every byte.
Image numbered(int64_t w, int64_t h) {
  Image img(w, h);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = uint8_t(i * 7 % 251);
  return img;
}

}  // namespace

TEST_CASE("transforms: Rng is splitmix64 and its helpers stay in range") {
  Rng a(1234567), b(1234567);
  // splitmix64 reference value: first output for seed 1234567 (Vigna's splitmix64.c)
  uint64_t z = 1234567ULL + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  CHECK(a.next_u64() == (z ^ (z >> 31)));
  b.next_u64();
  for (int i = 0; i < 1000; ++i) {
    CHECK(a.next_u64() == b.next_u64());
    double u = a.uniform(-2.0, 3.0);
    CHECK(u >= -2.0);
    CHECK(u < 3.0);
    int64_t k = b.randint(-3, 4);
    CHECK(k >= -3);
    CHECK(k < 4);
    b.uniform(), a.randint(-3, 4);  // keep the streams aligned
  }
  // every value of a small range is reached, about equally often
  Rng r(7);
  std::vector<int> count(5, 0);
  for (int i = 0; i < 5000; ++i) count[size_t(r.randint(0, 5))]++;
  for (int c : count) CHECK(std::abs(c - 1000) < 150);
  CHECK_THROWS_AS(r.randint(3, 3), fk::Error);
  CHECK(fk::data::round_half_even(2.5) == 2);
  CHECK(fk::data::round_half_even(3.5) == 4);
  CHECK(fk::data::round_half_even(-0.5) == 0);
}

TEST_CASE("transforms: resize matches torchvision Resize on PIL images") {
  Image img = src();
  CHECK_IMAGE(run_op(fk::data::resize(20, 15), img), expected("resize_20x15"), 0, "Resize((15, 20))");
  CHECK_IMAGE(run_op(fk::data::resize(50, 40), img), expected("resize_50x40"), 0, "Resize((40, 50))");
  CHECK_IMAGE(run_op(fk::data::resize_shorter(16), img), expected("resize_shorter_16"), 0, "Resize(16)");
  Image area = run_op(fk::data::resize(10, 10, "area"), img);
  CHECK(area.width == 10);
  CHECK(area.height == 10);
  CHECK_THROWS_AS(fk::data::resize(10, 10, "bicubic"), fk::Error);
}

TEST_CASE("transforms: center_crop matches torchvision CenterCrop, also when padding") {
  Image img = src();
  CHECK_IMAGE(run_op(fk::data::center_crop(20, 15), img), expected("center_crop_20x15"), 0, "CenterCrop((15, 20))");
  CHECK_IMAGE(run_op(fk::data::center_crop(21, 16), img), expected("center_crop_21x16"), 0, "CenterCrop((16, 21))");
  CHECK_IMAGE(run_op(fk::data::center_crop(40, 31), img), expected("center_crop_40x31"), 0, "CenterCrop((31, 40))");
}

TEST_CASE("transforms: hflip and rotate match torchvision (NEAREST, expand False)") {
  Image img = src();
  CHECK_IMAGE(fk::data::hflip(img), expected("hflip"), 0, "hflip");
  CHECK_IMAGE(fk::data::rotate(img, 10.0), expected("rotate_10"), 0, "rotate 10");
  CHECK_IMAGE(fk::data::rotate(img, -7.5), expected("rotate_m7_5"), 0, "rotate -7.5");
  CHECK_IMAGE(fk::data::rotate(img, 33.3), expected("rotate_33_3"), 0, "rotate 33.3");
  CHECK_IMAGE(fk::data::rotate(img, 90.0), expected("rotate_90"), 0, "rotate 90 (non-square: affine path)");
  CHECK_IMAGE(fk::data::rotate(img, 180.0), expected("rotate_180"), 0, "rotate 180 (transpose)");
  CHECK_IMAGE(fk::data::rotate(img, -25.0, 77), expected("rotate_fill_m25"), 0, "rotate -25 fill 77");
  CHECK(fk::data::rotate(img, 360.0) == img);
  // a square image's 90 degrees is an exact transpose: top-right corner goes to top-left
  Image sq = numbered(4, 4);
  Image r = fk::data::rotate(sq, 90.0);
  CHECK(std::memcmp(r.at(0, 0), sq.at(3, 0), 3) == 0);
  CHECK(std::memcmp(r.at(0, 3), sq.at(0, 0), 3) == 0);
}

TEST_CASE("transforms: adjust_brightness contrast saturation hue match torchvision on PIL") {
  Image img = src();
  CHECK_IMAGE(fk::data::adjust_brightness(img, 0.6), expected("brightness_0.6"), 0, "brightness 0.6");
  CHECK_IMAGE(fk::data::adjust_brightness(img, 1.4), expected("brightness_1.4"), 0, "brightness 1.4");
  CHECK_IMAGE(fk::data::adjust_contrast(img, 0.5), expected("contrast_0.5"), 0, "contrast 0.5");
  CHECK_IMAGE(fk::data::adjust_contrast(img, 1.7), expected("contrast_1.7"), 0, "contrast 1.7");
  CHECK_IMAGE(fk::data::adjust_saturation(img, 0.3), expected("saturation_0.3"), 0, "saturation 0.3");
  CHECK_IMAGE(fk::data::adjust_saturation(img, 1.8), expected("saturation_1.8"), 0, "saturation 1.8");
  CHECK_IMAGE(fk::data::adjust_hue(img, 0.1), expected("hue_0.1"), 0, "hue 0.1");
  CHECK_IMAGE(fk::data::adjust_hue(img, -0.23), expected("hue_-0.23"), 0, "hue -0.23");
  CHECK_THROWS_AS(fk::data::adjust_hue(img, 0.6), fk::Error);
}

TEST_CASE("transforms: to_tensor matches ToTensor+Normalize and the Caffe BGR convention") {
  Image img = src();
  fk::data::Normalize imagenet{{0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}, false, true};
  fk::Tensor t = fk::data::to_tensor(img, imagenet);
  CHECK(t.dtype() == fk::DType::Float32);
  CHECK_CLOSE(t, fk::test::fixture("transforms/normalize_imagenet.npy"), 1e-6, 0, "ToTensor+Normalize(ImageNet)");
  fk::data::Normalize caffe{{91.4953, 103.8827, 131.0912}, {1, 1, 1}, true, false};
  CHECK_CLOSE(fk::data::to_tensor(img, caffe), fk::test::fixture("transforms/normalize_caffe_bgr.npy"), 1e-6, 0,
              "BGR minus mean (cydonia)");
  // erase with a fixed box (F.erase)
  CHECK_CLOSE(fk::data::erase(t, 3, 5, 7, 9, 0.5), fk::test::fixture("transforms/erase_3_5_7_9.npy"), 1e-6, 0,
              "F.erase(t, 3, 5, 7, 9, 0.5)");
  CHECK_THROWS_AS(fk::data::erase(t, 25, 5, 7, 9, 0.5), fk::Error);
  // Pipeline: image ops, then normalise, then tensor ops
  fk::data::Pipeline p{{fk::data::center_crop(20, 15)}, imagenet, {}};
  Rng rng(3);
  fk::Tensor pt = p(img, rng);
  CHECK(pt.shape() == fk::Shape{3, 15, 20});
}

TEST_CASE("transforms: random ops are reproducible from the Rng and draw differently per seed") {
  Image img = src();
  std::vector<fk::data::ImageOp> ops = {
      fk::data::random_crop(30, 20, 4), fk::data::random_rotation(10), fk::data::color_jitter(0.4, 0.4, 0.4, 0.1),
      fk::data::random_horizontal_flip(0.5)};
  for (size_t k = 0; k < ops.size(); ++k) {
    CAPTURE(k);
    Rng a(42), b(42);
    Image x = ops[k](img, a), y = ops[k](img, b);
    CHECK(x == y);
    CHECK(a.next_u64() == b.next_u64());  // the same number of draws
    // over a few seeds at least two results differ
    std::set<uint64_t> seen;
    for (uint64_t s = 0; s < 6; ++s) {
      Rng r(fk::data::hash_seed({s}));
      seen.insert(fk::test::fnv1a64(ops[k](img, r)));
    }
    CHECK(seen.size() > 1);
  }
  // random_crop lands on the padded grid: every crop is a window of the zero-padded image
  Rng r(9);
  Image c = fk::data::random_crop(37, 29, 0)(img, r);
  CHECK(c == img);
  // random_erasing on the tensor: same seed, same box; p=0 never erases
  fk::Tensor t = fk::data::to_tensor(img, {});
  Rng e1(5), e2(5);
  auto erasing = fk::data::random_erasing(1.0);
  fk::Tensor t1 = erasing(t, e1), t2 = erasing(t, e2);
  CHECK(fk::test::compare(t1, t2, 0, 0).empty());
  CHECK(!fk::test::compare(t1, t, 0, 0).empty());
  Rng e3(5);
  CHECK(fk::test::compare(fk::data::random_erasing(0.0)(t, e3), t, 0, 0).empty());
}

TEST_CASE("transforms: random_horizontal_flip flips at rate p over 2000 draws") {
  Image img = numbered(5, 3);
  Image flipped = fk::data::hflip(img);
  for (double p : {0.5, 0.2}) {
    auto op = fk::data::random_horizontal_flip(p);
    int flips = 0;
    for (uint64_t i = 0; i < 2000; ++i) {
      Rng rng(fk::data::hash_seed({99, i}));
      Image out = op(img, rng);
      if (out == flipped) ++flips;
      else REQUIRE(out == img);
    }
    // binomial(2000, p): 4 standard deviations
    CHECK(std::abs(flips - 2000 * p) < 4 * std::sqrt(2000 * p * (1 - p)));
  }
}

TEST_CASE("transforms: random_erasing box statistics follow scale and ratio") {
  fk::Tensor x = fk::ones({3, 40, 50});
  auto op = fk::data::random_erasing(1.0, {0.02, 0.33}, {0.3, 3.3}, 0.0);
  int erased_count = 0;
  for (uint64_t i = 0; i < 300; ++i) {
    Rng rng(i);
    auto v = op(x, rng).to_vector<float>();
    int64_t zeros = 0;
    for (float f : v) zeros += f == 0.0f;
    if (zeros == 0) continue;
    ++erased_count;
    const double frac = double(zeros / 3) / 2000.0;  // same box in all 3 channels
    CHECK(zeros % 3 == 0);
    CHECK(frac <= 0.36);  // 0.33 plus rounding of h and w
  }
  CHECK(erased_count > 250);  // only a box that does not fit in 10 tries is skipped
}

TEST_CASE("transforms: face_crop grows the box by 10 px and rounds like PIL") {
  Image img = numbered(40, 30);
  auto op = fk::data::face_crop([](const Image&) { return std::optional<std::array<float, 4>>({12.5f, 8.4f, 25.6f, 20.5f}); });
  Image c = run_op(op, img);
  // box (2.5, -1.6, 35.6, 30.5) -> rounded (2, -2, 36, 30): 34 x 32, first row black (outside)
  CHECK(c.width == 34);
  CHECK(c.height == 32);
  CHECK(c.at(0, 0)[0] == 0);
  CHECK(std::memcmp(c.at(0, 2), img.at(2, 0), 3) == 0);
  auto none = fk::data::face_crop([](const Image&) { return std::optional<std::array<float, 4>>(); });
  CHECK_THROWS_WITH_AS(run_op(none, img), "face_crop: no face found", fk::Error);
}

TEST_CASE("transforms: sample_pairing mixes in place sequentially and keeps the input") {
  // 3 images of one value each: 0, 10, 20
  fk::Tensor batch = fk::empty({3, 1, 1, 2});
  float* b = batch.data<float>();
  for (int i = 0; i < 6; ++i) b[i] = float(i / 2 * 10);
  Rng rng(11), replay(11);
  fk::Tensor out = fk::data::sample_pairing(batch, 0.7, rng);
  // replay the draws to get the expected result
  std::vector<float> v = {0, 10, 20};
  for (int i = 0; i < 3; ++i)
    if (replay.bernoulli(0.7)) {
      int64_t j = replay.randint(0, 3);
      v[size_t(i)] = (v[size_t(i)] + v[size_t(j)]) / 2;
    }
  auto got = out.to_vector<float>();
  for (int i = 0; i < 6; ++i) CHECK(got[size_t(i)] == v[size_t(i / 2)]);
  CHECK(b[2] == 10.0f);  // the input is untouched
  // p = 1: every image mixed; p = 0: nothing
  Rng r0(1);
  CHECK(fk::test::compare(fk::data::sample_pairing(batch, 0.0, r0), batch, 0, 0).empty());
  CHECK(fk::data::sample_pairing_active(19, 100));
  CHECK(!fk::data::sample_pairing_active(18, 100));
  CHECK(fk::data::sample_pairing_active(78, 100));
  CHECK(!fk::data::sample_pairing_active(79, 100));
}
