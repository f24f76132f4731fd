// Helpers shared by tests/data/image/test_image.cpp and test_align.cpp: image fixtures from
// tests/fixtures/image_align/ (written by tests/fixtures/make_image_align.py), and an image comparison
// whose failure names the sizes or the first differing value and the largest difference.
#pragma once

#include <cstring>
#include <sstream>
#include <string>

#include "data/image/image.h"
#include "test_util.h"

namespace fk::test {

inline std::string image_fixture_file(const std::string& name) { return fixture_path("image_align/" + name); }

// An (H, W, 3) uint8 .npy fixture as an Image.
inline data::Image npy_image(const std::string& name) {
  Tensor t = fixture("image_align/" + name + ".npy");
  REQUIRE(t.dtype() == DType::UInt8);
  REQUIRE(t.dim() == 3);
  REQUIRE(t.size(2) == 3);
  data::Image img(t.size(1), t.size(0));
  std::memcpy(img.pixels.data(), t.contiguous().raw_data(), img.pixels.size());
  return img;
}

// "" when every value is within `tolerance`, else a one-line report.
inline std::string image_diff(const data::Image& got, const data::Image& want, int tolerance = 0) {
  if (got.width != want.width || got.height != want.height)
    return "size " + std::to_string(got.width) + "x" + std::to_string(got.height) + " vs expected " +
           std::to_string(want.width) + "x" + std::to_string(want.height);
  int worst = 0;
  size_t first = got.pixels.size();
  for (size_t i = 0; i < got.pixels.size(); ++i) {
    int d = std::abs(int(got.pixels[i]) - int(want.pixels[i]));
    if (d > tolerance && first == got.pixels.size()) first = i;
    worst = std::max(worst, d);
  }
  if (first == got.pixels.size()) return "";
  std::ostringstream os;
  os << "max |diff| " << worst << "; first bad value at x=" << (first / 3) % size_t(got.width)
     << " y=" << first / 3 / size_t(got.width) << " c=" << first % 3 << ": " << int(got.pixels[first]) << " vs "
     << int(want.pixels[first]);
  return os.str();
}

// FNV-1a 64 of the RGB bytes (make_image_align.py computes the same).
inline uint64_t fnv1a64(const data::Image& img) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (uint8_t b : img.pixels) h = (h ^ b) * 0x100000001B3ull;
  return h;
}

}  // namespace fk::test

// CHECK_IMAGE(got, want, tolerance, "label")
#define CHECK_IMAGE(got, want, tol, label)                                   \
  do {                                                                       \
    std::string fk_msg_ = ::fk::test::image_diff((got), (want), (tol));      \
    CHECK_MESSAGE(fk_msg_.empty(), (label) << ": " << fk_msg_);              \
  } while (0)
