// Helpers shared by the tests of data/viz/ (test_draw.cpp, test_plot.cpp, test_colormap.cpp): a few
// colours and constants, and the pixels of an image that are painted or of one colour.
#pragma once

#include <cstdint>
#include <limits>
#include <set>
#include <utility>

#include "data/image/image.h"
#include "data/viz/draw.h"

namespace fk::test::viz {

using data::Image;
using data::Rgb;

inline constexpr Rgb kRed{255, 0, 0};
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
inline constexpr double kInf = std::numeric_limits<double>::infinity();

using Pixels = std::set<std::pair<int64_t, int64_t>>;

inline bool is(const Image& img, int64_t x, int64_t y, Rgb c) {
  const uint8_t* p = img.at(x, y);
  return p[0] == c.r && p[1] == c.g && p[2] == c.b;
}

// The (x, y) of every pixel that is not black (the images in the tests start all black).
inline Pixels painted(const Image& img) {
  Pixels out;
  for (int64_t y = 0; y < img.height; ++y)
    for (int64_t x = 0; x < img.width; ++x) {
      const uint8_t* p = img.at(x, y);
      if (p[0] || p[1] || p[2]) out.insert({x, y});
    }
  return out;
}

inline Pixels pixels_of(const Image& img, Rgb c) {
  Pixels out;
  for (int64_t y = 0; y < img.height; ++y)
    for (int64_t x = 0; x < img.width; ++x)
      if (is(img, x, y, c)) out.insert({x, y});
  return out;
}

}  // namespace fk::test::viz
