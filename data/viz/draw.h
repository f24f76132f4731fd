// Drawing on images, for annotated outputs (`--draw`, plots, Grad-CAM): box outlines, landmark markers,
// lines and text in a built-in 5x7 bitmap font. Coordinates are image pixels (x right, y down) and are
// rounded to the nearest pixel; everything is clipped to the image, so any coordinates (negative, huge,
// NaN) are safe: what falls outside is simply not drawn.
// Tests: tests/data/image/test_image.cpp (boxes, dots, crosses), tests/data/viz/test_draw.cpp (lines, text).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "data/image/image.h"

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

// The segment from (x0, y0) to (x1, y1), both ends included, as Bresenham's algorithm picks its pixels
// between the rounded end points (one pixel per step along the longer axis). thickness > 1 paints a
// thickness x thickness square at every such pixel (centred; an even width leans right/down).
// The segment is clipped to the image before stepping, so a line from -1e300 to 1e300 costs no more
// than one across the image; a NaN coordinate draws nothing.
void draw_line(Image& img, double x0, double y0, double x1, double y1, Rgb color, int thickness = 1);

// Text in the built-in 5x7 font: each character occupies a cell of 6x8 pixels (5x7 glyph, one column
// of spacing on the right, one row below that only the descenders of g, j, p, q, y use) times `scale`;
// (x, y) is the top-left corner of the first cell. '\n' starts a new line below. Anything outside
// printable ASCII 32..126 is drawn as '?': one '?' per UTF-8 character (a lead byte and its
// continuation bytes), so "José" is 4 cells wide.
// With `background`, each cell (a filled 6x8 block per character) is painted first, so the text reads on
// any photo. scale < 1 draws nothing.
void draw_text(Image& img, int64_t x, int64_t y, const std::string& text, Rgb color, int scale = 1,
               std::optional<Rgb> background = {});
// The size draw_text covers: width = 6 * scale * (characters of the longest line), height = 8 * scale
// per line (text_height(scale) is one line's height).
int64_t text_width(const std::string& text, int scale = 1);
int64_t text_height(int scale = 1);

}  // namespace fk::data
