// Box outlines, dots and crosses on RGB images, clipped to the image (see draw.h).
// Tests: tests/data/test_image.cpp.
#include "data/draw.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace fk::data {

// The nearest pixel coordinate, or nothing for NaN; far-away values are pinned to +-2^40, which is
// outside any image yet leaves room for the arithmetic below without overflow.
static std::optional<int64_t> to_pixel(double v) {
  if (std::isnan(v)) return std::nullopt;
  constexpr double lim = double(int64_t(1) << 40);
  return int64_t(std::llround(std::clamp(v, -lim, lim)));
}

void fill_rect(Image& img, int64_t x0, int64_t y0, int64_t x1, int64_t y1, Rgb color) {
  if (x0 > x1) std::swap(x0, x1);
  if (y0 > y1) std::swap(y0, y1);
  x0 = std::max<int64_t>(x0, 0), y0 = std::max<int64_t>(y0, 0);
  x1 = std::min<int64_t>(x1, img.width - 1), y1 = std::min<int64_t>(y1, img.height - 1);
  for (int64_t y = y0; y <= y1; ++y)
    for (int64_t x = x0; x <= x1; ++x) {
      uint8_t* p = img.at(x, y);
      p[0] = color.r, p[1] = color.g, p[2] = color.b;
    }
}

void draw_box(Image& img, double x1, double y1, double x2, double y2, Rgb color, int thickness) {
  auto a = to_pixel(x1), b = to_pixel(y1), c = to_pixel(x2), d = to_pixel(y2);
  if (!a || !b || !c || !d || thickness < 1) return;
  const int64_t left = std::min(*a, *c), right = std::max(*a, *c);
  const int64_t top = std::min(*b, *d), bottom = std::max(*b, *d);
  const int64_t t = thickness - 1;  // each side's strip spans t + 1 pixels inward
  fill_rect(img, left, top, right, std::min(top + t, bottom), color);     // top
  fill_rect(img, left, std::max(bottom - t, top), right, bottom, color);  // bottom
  fill_rect(img, left, top, std::min(left + t, right), bottom, color);    // left
  fill_rect(img, std::max(right - t, left), top, right, bottom, color);   // right
}

void draw_dot(Image& img, double x, double y, Rgb color, int radius) {
  auto cx = to_pixel(x), cy = to_pixel(y);
  if (!cx || !cy || radius < 0) return;
  const int64_t r = radius;
  // row by row (only the rows inside the image): the disc spans |dx| <= floor(sqrt(r^2 - dy^2))
  for (int64_t y = std::max<int64_t>(*cy - r, 0); y <= std::min<int64_t>(*cy + r, img.height - 1); ++y) {
    const int64_t dy = y - *cy, room = r * r - dy * dy;
    int64_t half = int64_t(std::sqrt(double(room)));
    while (half * half > room) --half;  // make the floating-point square root exact
    while ((half + 1) * (half + 1) <= room) ++half;
    fill_rect(img, *cx - half, y, *cx + half, y, color);
  }
}

void draw_cross(Image& img, double x, double y, Rgb color, int arm, int thickness) {
  auto cx = to_pixel(x), cy = to_pixel(y);
  if (!cx || !cy || arm < 0 || thickness < 1) return;
  const int64_t lo = (thickness - 1) / 2, hi = thickness / 2;  // the bar's extent around the centre line
  fill_rect(img, *cx - arm, *cy - lo, *cx + arm, *cy + hi, color);  // horizontal bar
  fill_rect(img, *cx - lo, *cy - arm, *cx + hi, *cy + arm, color);  // vertical bar
}

}  // namespace fk::data
