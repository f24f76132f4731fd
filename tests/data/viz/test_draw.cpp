// data/viz/draw (lines, 5x7 text): pixel-exact checks of lines and glyphs, and clipping of anything
// far outside or NaN.
#include <cstdint>
#include <utility>

#include "data/image/image.h"
#include "data/viz/draw.h"
#include "test_util.h"
#include "tests/data/viz/viz_fixtures.h"

using fk::data::Image;
using fk::data::Rgb;
using namespace fk::test::viz;

namespace {

// The glyph rows of 'A' in the built-in font (bit 4 = leftmost column).
constexpr uint8_t kGlyphA[7] = {0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11};

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Lines

TEST_CASE("draw_line: horizontal, vertical and diagonal lines hit exactly their pixels") {
  SUBCASE("horizontal") {
    Image img(10, 6);
    fk::data::draw_line(img, 1, 2, 7, 2, kRed);
    Pixels want;
    for (int64_t x = 1; x <= 7; ++x) want.insert({x, 2});
    CHECK(painted(img) == want);
    CHECK(pixels_of(img, kRed) == want);
  }
  SUBCASE("vertical, drawn bottom to top") {
    Image img(10, 6);
    fk::data::draw_line(img, 3, 5, 3, 0, kRed);
    Pixels want;
    for (int64_t y = 0; y <= 5; ++y) want.insert({3, y});
    CHECK(painted(img) == want);
  }
  SUBCASE("diagonal") {
    Image img(10, 6);
    fk::data::draw_line(img, 0, 0, 4, 4, kRed);
    CHECK(painted(img) == Pixels{{0, 0}, {1, 1}, {2, 2}, {3, 3}, {4, 4}});
  }
  SUBCASE("shallow slope 1/2: the minor coordinate is rounded half up") {
    Image img(10, 6);
    fk::data::draw_line(img, 0, 0, 4, 2, kRed);
    CHECK(painted(img) == Pixels{{0, 0}, {1, 1}, {2, 1}, {3, 2}, {4, 2}});
  }
  SUBCASE("end points are rounded to the nearest pixel") {
    Image img(10, 6);
    fk::data::draw_line(img, 0.6, 1.4, 2.4, 1.2, kRed);
    CHECK(painted(img) == Pixels{{1, 1}, {2, 1}});
  }
  SUBCASE("a zero-length line is one pixel") {
    Image img(10, 6);
    fk::data::draw_line(img, 5, 5, 5, 5, kRed);
    CHECK(painted(img) == Pixels{{5, 5}});
  }
  SUBCASE("thickness 3 paints a 3-pixel band centred on the line") {
    Image img(10, 6);
    fk::data::draw_line(img, 2, 2, 5, 2, kRed, 3);
    Pixels want;
    for (int64_t x = 1; x <= 6; ++x)
      for (int64_t y = 1; y <= 3; ++y) want.insert({x, y});
    CHECK(painted(img) == want);
  }
}

TEST_CASE("draw_line: lines far outside, huge or NaN are clipped safely") {
  SUBCASE("a line crossing the image from far away paints only what lies inside") {
    Image img(10, 6);
    fk::data::draw_line(img, -100, 2, 100, 2, kRed);
    Pixels want;
    for (int64_t x = 0; x < 10; ++x) want.insert({x, 2});
    CHECK(painted(img) == want);
  }
  SUBCASE("+-1e300 and +-inf are pinned, and the diagonal still runs through the image") {
    Image img(10, 6);
    fk::data::draw_line(img, -1e300, -1e300, 1e300, 1e300, kRed);
    Pixels want;
    for (int64_t k = 0; k < 6; ++k) want.insert({k, k});
    CHECK(painted(img) == want);
    Image img2(10, 6);
    fk::data::draw_line(img2, -kInf, 4, kInf, 4, kRed);
    CHECK(painted(img2).size() == 10);
  }
  SUBCASE("nothing is drawn for NaN, for lines wholly outside, or for thickness < 1") {
    Image img(10, 6);
    fk::data::draw_line(img, kNaN, 1, 5, 1, kRed);
    fk::data::draw_line(img, 1, 1, 5, kNaN, kRed);
    fk::data::draw_line(img, 20, 20, 30, 35, kRed, 5);
    fk::data::draw_line(img, -50, -1, 50, -1, kRed);
    fk::data::draw_line(img, 1, 1, 5, 1, kRed, 0);
    CHECK(painted(img).empty());
  }
  SUBCASE("a thick line just outside reaches in by its brush only") {
    Image img(10, 6);
    fk::data::draw_line(img, 0, -1, 9, -1, kRed, 3);  // rows -2..0
    Pixels want;
    for (int64_t x = 0; x < 10; ++x) want.insert({x, 0});
    CHECK(painted(img) == want);
  }
}

// ---------------------------------------------------------------------------------------------------
// Text

TEST_CASE("draw_text: the glyph of A is drawn pixel for pixel") {
  SUBCASE("scale 1") {
    Image img(12, 10);
    fk::data::draw_text(img, 2, 1, "A", kRed);
    Pixels want;
    for (int64_t r = 0; r < 7; ++r)
      for (int64_t c = 0; c < 5; ++c)
        if (kGlyphA[r] & (0x10 >> c)) want.insert({2 + c, 1 + r});
    CHECK(want.size() == 18);
    CHECK(painted(img) == want);
  }
  SUBCASE("scale 2 doubles every font pixel") {
    Image img(16, 18);
    fk::data::draw_text(img, 1, 0, "A", kRed, 2);
    Pixels want;
    for (int64_t r = 0; r < 7; ++r)
      for (int64_t c = 0; c < 5; ++c)
        if (kGlyphA[r] & (0x10 >> c))
          for (int64_t d = 0; d < 4; ++d) want.insert({1 + 2 * c + d % 2, 2 * r + d / 2});
    CHECK(painted(img) == want);
  }
  SUBCASE("a background fills the whole 6x8 cell behind the glyph") {
    Image img(12, 10);
    const Rgb bg{0, 0, 200};
    fk::data::draw_text(img, 2, 1, "A", kRed, 1, bg);
    CHECK(pixels_of(img, kRed).size() == 18);
    CHECK(pixels_of(img, bg).size() == 6 * 8 - 18);
    CHECK(painted(img).size() == 6 * 8);
    CHECK(is(img, 7, 8, bg));  // the spacing column and row belong to the cell
  }
  SUBCASE("a second character starts 6 pixels to the right, a new line 8 pixels down") {
    Image one(20, 20), two(20, 20);
    fk::data::draw_text(one, 6, 8, "A", kRed);
    fk::data::draw_text(two, 0, 0, " \nxA", kRed);
    Image x_only(20, 20);
    fk::data::draw_text(x_only, 0, 8, "x", kRed);
    Pixels want = painted(one);
    for (auto p : painted(x_only)) want.insert(p);
    CHECK(painted(two) == want);
  }
}

TEST_CASE("draw_text: non-ASCII bytes are question marks, and text is clipped safely") {
  Image q(8, 10), bytes(8, 10);
  fk::data::draw_text(q, 0, 0, "?", kRed);
  fk::data::draw_text(bytes, 0, 0, "\xC3", kRed);
  CHECK(!painted(q).empty());
  CHECK(painted(bytes) == painted(q));

  Image img(12, 10);
  const int64_t big = std::numeric_limits<int64_t>::max(), small = std::numeric_limits<int64_t>::min();
  fk::data::draw_text(img, big, 0, "far right", kRed);
  fk::data::draw_text(img, small, small, "far away", kRed, 3, Rgb{1, 2, 3});
  fk::data::draw_text(img, 0, -200, "above", kRed, 7);
  fk::data::draw_text(img, 0, 0, "A", kRed, 0);
  CHECK(painted(img).empty());

  // partly outside: what shows equals the matching part of the text drawn fully inside a wider image
  Image cut(12, 10), full(20, 10);
  fk::data::draw_text(cut, -3, 1, "A", kRed);
  fk::data::draw_text(full, 5, 1, "A", kRed);
  Pixels shifted;
  for (auto [x, y] : painted(full))
    if (x - 8 >= 0) shifted.insert({x - 8, y});
  CHECK(painted(cut) == shifted);
}

TEST_CASE("text_width and text_height: 6x8 cells times the scale") {
  CHECK(fk::data::text_width("abc") == 18);
  CHECK(fk::data::text_width("abc", 2) == 36);
  CHECK(fk::data::text_width("ab\ncde\nf") == 18);
  CHECK(fk::data::text_width("") == 0);
  CHECK(fk::data::text_width("abc", 0) == 0);
  CHECK(fk::data::text_height() == 8);
  CHECK(fk::data::text_height(3) == 24);
}
