// Drawing on images, for annotated outputs (`--draw`): box outlines and landmark markers. Coordinates
// are image pixels (x right, y down) and are rounded to the nearest pixel; everything is clipped to the
// image, so any coordinates (negative, huge, NaN) are safe: what falls outside is simply not drawn.
// Tests: tests/data/test_image.cpp.
#pragma once

#include <cstdint>

#include "data/image.h"

namespace fk::data {

struct Rgb {
  uint8_t r = 0;
  uint8_t g = 0;
  uint8_t b = 0;
};

// Paints every pixel (x, y) with x0 <= x <= x1 and y0 <= y <= y1 (corners in either order) that lies
// inside the image.
void fill_rect(Image& img, int64_t x0, int64_t y0, int64_t x1, int64_t y1, Rgb color);

// The outline of the box with corners (x1, y1) and (x2, y2), both included, `thickness` pixels wide and
// growing inward (as PIL's ImageDraw.rectangle(box, outline=color, width=thickness)), so a box on the
// image border stays fully visible.
void draw_box(Image& img, double x1, double y1, double x2, double y2, Rgb color, int thickness = 2);

// A filled disc of the given radius around (x, y): the pixels within `radius` of the rounded centre.
void draw_dot(Image& img, double x, double y, Rgb color, int radius = 2);

// A "+" centred at (x, y): arms of `arm` pixels on each side, `thickness` pixels wide.
void draw_cross(Image& img, double x, double y, Rgb color, int arm = 3, int thickness = 1);

}  // namespace fk::data
