// data/draw (lines, 5x7 text), data/plot (line plots, bar charts, nice ticks) and data/colormap (OpenCV's
// JET, heatmaps, blending): pixel-exact checks of lines and glyphs, clipping of anything far outside or
// NaN, chart geometry found from the drawn frame, and jet levels typed in from cv2 4.6.0
// (cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_JET), BGR turned to RGB).
// Set FK_PLOT_DEMO_DIR to a folder to also write example charts there (for a look by eye).
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>
#include <utility>

#include "data/viz/colormap.h"
#include "data/viz/draw.h"
#include "data/image/image.h"
#include "data/viz/plot.h"
#include "tensor/creation.h"
#include "test_util.h"

using fk::data::Image;
using fk::data::Rgb;

namespace {

constexpr Rgb kRed{255, 0, 0};
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

using Pixels = std::set<std::pair<int64_t, int64_t>>;

bool is(const Image& img, int64_t x, int64_t y, Rgb c) {
  const uint8_t* p = img.at(x, y);
  return p[0] == c.r && p[1] == c.g && p[2] == c.b;
}

// The (x, y) of every pixel that is not black (the images below start all black).
Pixels painted(const Image& img) {
  Pixels out;
  for (int64_t y = 0; y < img.height; ++y)
    for (int64_t x = 0; x < img.width; ++x) {
      const uint8_t* p = img.at(x, y);
      if (p[0] || p[1] || p[2]) out.insert({x, y});
    }
  return out;
}

Pixels pixels_of(const Image& img, Rgb c) {
  Pixels out;
  for (int64_t y = 0; y < img.height; ++y)
    for (int64_t x = 0; x < img.width; ++x)
      if (is(img, x, y, c)) out.insert({x, y});
  return out;
}

// The plot area's frame: the two rows and the two columns holding the most black pixels (the frame's
// full-length lines; tick labels are short).
struct Frame {
  int64_t left, top, right, bottom;
};
Frame find_frame(const Image& img) {
  std::vector<int64_t> rows(size_t(img.height)), cols(size_t(img.width));
  for (int64_t y = 0; y < img.height; ++y)
    for (int64_t x = 0; x < img.width; ++x)
      if (is(img, x, y, {0, 0, 0})) ++rows[size_t(y)], ++cols[size_t(x)];
  auto two_largest = [](const std::vector<int64_t>& v) {
    size_t a = 0, b = 1;
    if (v[b] > v[a]) std::swap(a, b);
    for (size_t i = 2; i < v.size(); ++i) {
      if (v[i] > v[a]) b = a, a = i;
      else if (v[i] > v[b]) b = i;
    }
    return std::pair<int64_t, int64_t>(int64_t(std::min(a, b)), int64_t(std::max(a, b)));
  };
  const auto [top, bottom] = two_largest(rows);
  const auto [left, right] = two_largest(cols);
  return {left, top, right, bottom};
}

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

// ---------------------------------------------------------------------------------------------------
// Ticks

TEST_CASE("nice_ticks and tick_label: steps of 1, 2 or 5 x 10^k with matching labels") {
  CHECK(fk::data::nice_ticks(0, 1) == std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1});
  CHECK(fk::data::nice_ticks(0, 97) == std::vector<double>{0, 20, 40, 60, 80});
  CHECK(fk::data::nice_ticks(-3, 3) == std::vector<double>{-3, -2, -1, 0, 1, 2, 3});
  CHECK(fk::data::nice_ticks(0.31, 0.33).size() == 5);  // step 0.005: 0.31 .. 0.33
  CHECK(fk::data::nice_ticks(2, 2) == std::vector<double>{2});
  CHECK(fk::data::nice_ticks(kNaN, 1).empty());
  CHECK(fk::data::nice_ticks(1, 0).empty());
  CHECK(fk::data::tick_label(0.6000000000000001, 0.2) == "0.6");
  CHECK(fk::data::tick_label(250, 50) == "250");
  CHECK(fk::data::tick_label(-1.5, 0.5) == "-1.5");
  CHECK(fk::data::tick_label(0.315, 0.005) == "0.315");
  CHECK(fk::data::tick_label(5.55e-17, 0.1) == "0.0");
  CHECK(fk::data::tick_label(1e-5, 1e-5) == "1e-5");
  CHECK(fk::data::tick_label(2.5e-5, 5e-6) == "2.5e-5");
  CHECK(fk::data::tick_label(3e7, 1e7) == "3e7");
}

// ---------------------------------------------------------------------------------------------------
// Line plots

TEST_CASE("line_plot: a known series lands at the expected pixels") {
  fk::data::PlotOptions opts;
  opts.width = 400, opts.height = 300;
  opts.x_range = {{0, 10}};
  opts.y_range = {{0, 10}};
  SUBCASE("a horizontal line at half height spans the plot area") {
    fk::data::Series s{"", {0, 10}, {5, 5}, kRed};
    const Image img = fk::data::line_plot({s}, opts);
    CHECK(img.width == 400);
    CHECK(img.height == 300);
    const Frame f = find_frame(img);
    CHECK(f.right - f.left > 250);
    CHECK(f.bottom - f.top > 200);
    const Pixels red = pixels_of(img, kRed);
    REQUIRE(!red.empty());
    int64_t min_x = 1 << 30, max_x = -1;
    const double mid = f.bottom - 0.5 * (f.bottom - f.top);  // y = 5 on a 0..10 axis
    for (auto [x, y] : red) {
      CHECK(std::abs(double(y) - mid) <= 1.5);
      min_x = std::min(min_x, x), max_x = std::max(max_x, x);
    }
    CHECK(min_x <= f.left + 1);
    CHECK(max_x >= f.right - 1);
  }
  SUBCASE("the diagonal y = x runs corner to corner") {
    fk::data::Series s{"", {0, 10}, {0, 10}, kRed};
    const Image img = fk::data::line_plot({s}, opts);
    const Frame f = find_frame(img);
    for (double t : {0.1, 0.3, 0.5, 0.7, 0.9}) {
      const int64_t x = f.left + std::llround(t * (f.right - f.left));
      const double want_y = f.bottom - t * (f.bottom - f.top);
      int64_t hits = 0;
      for (int64_t y = 0; y < img.height; ++y)
        if (is(img, x, y, kRed)) {
          ++hits;
          CHECK(std::abs(double(y) - want_y) <= 2.5);
        }
      CHECK(hits >= 1);
    }
  }
  SUBCASE("a point outside the axis ranges is clipped to the plot area") {
    fk::data::Series s{"", {0, 10, 20}, {5, 5, 50}, kRed};
    const Image img = fk::data::line_plot({s}, opts);
    const Frame f = find_frame(img);
    for (auto [x, y] : pixels_of(img, kRed)) {
      CHECK(x >= f.left);
      CHECK(x <= f.right);
      CHECK(y >= f.top);
      CHECK(y <= f.bottom);
    }
  }
}

TEST_CASE("line_plot: NaN points break the line, and empty or all-NaN input draws empty axes") {
  fk::data::PlotOptions opts;
  opts.width = 320, opts.height = 240;
  opts.title = "Loss";
  SUBCASE("a NaN in the middle leaves a gap") {
    std::vector<double> x, y;
    for (int i = 0; i <= 10; ++i) x.push_back(i), y.push_back(i == 5 ? kNaN : 3.0);
    opts.x_range = {{0, 10}};
    const Image img = fk::data::line_plot({{"loss", x, y, kRed}}, opts);
    const Frame f = find_frame(img);
    auto red_in_column = [&](int64_t col) {
      for (int64_t r = f.top; r <= f.bottom; ++r)
        if (is(img, col, r, kRed)) return true;
      return false;
    };
    const double px_per_unit = double(f.right - f.left) / 10;
    CHECK(red_in_column(f.left + std::llround(2 * px_per_unit)));
    CHECK(!red_in_column(f.left + std::llround(5 * px_per_unit)));
    CHECK(red_in_column(f.left + std::llround(8 * px_per_unit)));
  }
  SUBCASE("no series, empty series, all-NaN and infinite values") {
    const Image none = fk::data::line_plot({}, opts);
    CHECK(none.width == 320);
    CHECK(none.height == 240);
    const Frame f = find_frame(none);
    CHECK(f.right - f.left > 150);
    const Image empty = fk::data::line_plot({{"a", {}, {}, kRed}, {"b", {1, 2}, {kNaN, kNaN}, kRed}}, opts);
    CHECK(empty.width == 320);
    const Image infinite = fk::data::line_plot({{"c", {kInf, 1, 2}, {1, -kInf, 1e308}, kRed}}, opts);
    CHECK(infinite.height == 240);
    const Image huge = fk::data::line_plot({{"d", {-1e308, 1e308}, {-1e308, 1e308}, kRed}}, opts);
    CHECK(!pixels_of(huge, kRed).empty());
  }
  SUBCASE("log-x skips x <= 0 and still draws the rest") {
    opts.log_x = true;
    const Image img = fk::data::line_plot({{"roc", {0, -1, 1e-6, 1e-3, 1}, {0, 0, 0.5, 0.8, 1}, kRed}}, opts);
    CHECK(!pixels_of(img, kRed).empty());
  }
  SUBCASE("sizes below 64x48 are refused") {
    opts.width = 10;
    CHECK_THROWS_AS(fk::data::line_plot({}, opts), fk::Error);
  }
}

TEST_CASE("bar_chart: bar lengths are proportional to the values") {
  fk::data::PlotOptions opts;
  opts.width = 400, opts.height = 200;
  opts.x_range = {{0, 4}};
  const Rgb blue{31, 119, 180};
  const Image img = fk::data::bar_chart({"alice", "bob"}, {3, 1}, opts, blue);
  CHECK(img.width == 400);
  CHECK(img.height == 200);
  // widest run of bar colour in the top half and in the bottom half
  auto bar_width = [&](int64_t y0, int64_t y1) {
    int64_t best = 0;
    for (int64_t y = y0; y < y1; ++y) {
      int64_t n = 0;
      for (int64_t x = 0; x < img.width; ++x) n += is(img, x, y, blue) ? 1 : 0;
      best = std::max(best, n);
    }
    return best;
  };
  const Frame f = find_frame(img);
  const int64_t mid = (f.top + f.bottom) / 2;
  const double top = double(bar_width(f.top, mid)), bottom = double(bar_width(mid, f.bottom));
  REQUIRE(bottom > 0);
  CHECK(top / bottom == doctest::Approx(3.0).epsilon(0.05));
  CHECK(top == doctest::Approx(0.75 * (f.right - f.left)).epsilon(0.03));

  CHECK_THROWS_AS(fk::data::bar_chart({"a"}, {1, 2}, opts), fk::Error);
  const Image odd = fk::data::bar_chart({"nan", "inf", "neg"}, {kNaN, kInf, -2}, fk::data::PlotOptions{});
  CHECK(odd.width == 640);
  const Image none = fk::data::bar_chart({}, {}, fk::data::PlotOptions{});
  CHECK(none.height == 480);
}

// ---------------------------------------------------------------------------------------------------
// Colour map and blending

TEST_CASE("jet: equals OpenCV COLORMAP_JET") {
  auto same = [](Rgb a, Rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; };
  CHECK(same(fk::data::jet(0.0), Rgb{0, 0, 128}));
  CHECK(same(fk::data::jet(0.5), Rgb{126, 255, 130}));  // uint8(127.5) = level 127
  CHECK(same(fk::data::jet(1.0), Rgb{128, 0, 0}));
  CHECK(same(fk::data::jet(-3), Rgb{0, 0, 128}));
  CHECK(same(fk::data::jet(kNaN), Rgb{0, 0, 128}));
  CHECK(same(fk::data::jet(7), Rgb{128, 0, 0}));
  // levels from cv2 4.6.0, including the ones that sit on a half and depend on OpenCV's float32 steps
  const std::vector<std::pair<int, Rgb>> levels = {
      {0, {0, 0, 128}},      {31, {0, 0, 252}},     {32, {0, 0, 255}},     {63, {0, 124, 255}},
      {64, {0, 128, 255}},   {95, {0, 252, 255}},   {96, {2, 255, 254}},   {127, {126, 255, 130}},
      {128, {130, 255, 126}}, {159, {254, 255, 1}}, {160, {255, 252, 0}},  {191, {255, 128, 0}},
      {192, {255, 124, 0}},  {223, {255, 0, 0}},    {224, {252, 0, 0}},    {255, {128, 0, 0}}};
  for (auto [level, want] : levels) {
    INFO("level " << level);
    CHECK(same(fk::data::jet_level(uint8_t(level)), want));
  }
}

TEST_CASE("heatmap_image and blend: jet per pixel, and round(alpha a + (1 - alpha) b)") {
  const fk::Tensor map = fk::tensor({0, 0.5, 1, 0.25, 2, -1}, {2, 3});
  const Image heat = fk::data::heatmap_image(map);
  CHECK(heat.width == 3);
  CHECK(heat.height == 2);
  CHECK(is(heat, 0, 0, {0, 0, 128}));
  CHECK(is(heat, 1, 0, {126, 255, 130}));
  CHECK(is(heat, 2, 0, {128, 0, 0}));
  CHECK(is(heat, 0, 1, fk::data::jet_level(63)));  // uint8(63.75)
  CHECK(is(heat, 1, 1, {128, 0, 0}));              // clamped above
  CHECK(is(heat, 2, 1, {0, 0, 128}));              // clamped below
  CHECK(fk::data::heatmap_image(fk::tensor({0.5, 0.5}, {1, 1, 1, 2})).width == 2);
  CHECK_THROWS_AS(fk::data::heatmap_image(fk::tensor({0, 0, 0}, {3, 1, 1})), fk::Error);

  Image a(2, 1), b(2, 1);
  a.pixels = {10, 20, 30, 255, 255, 255};
  b.pixels = {200, 100, 0, 0, 0, 0};
  const Image mix = fk::data::blend(a, b, 0.25);
  // 0.25*10 + 0.75*200 = 152.5 -> 153; 0.25*20 + 0.75*100 = 80; 0.25*30 = 7.5 -> 8; 0.25*255 = 63.75 -> 64
  CHECK(mix.pixels == std::vector<uint8_t>{153, 80, 8, 64, 64, 64});
  CHECK(fk::data::blend(a, b, 1.0) == a);
  CHECK(fk::data::blend(a, b, 0.0) == b);
  CHECK_THROWS_AS(fk::data::blend(a, Image(1, 1), 0.5), fk::Error);
  CHECK_THROWS_AS(fk::data::blend(a, b, kNaN), fk::Error);
}

TEST_CASE("plot demo: example charts written for a look by eye when FK_PLOT_DEMO_DIR is set") {
  const char* dir = std::getenv("FK_PLOT_DEMO_DIR");
  if (!dir) {
    MESSAGE("FK_PLOT_DEMO_DIR not set: no example charts written");
    return;
  }
  std::vector<double> epoch, loss, acc, far, tar;
  for (int i = 0; i <= 30; ++i) {
    epoch.push_back(i);
    loss.push_back(8.0 * std::exp(-i / 8.0) + 0.3);
    acc.push_back(i == 12 ? kNaN : 0.99 - 0.9 * std::exp(-i / 5.0));
  }
  for (int i = 0; i <= 60; ++i) {
    far.push_back(std::pow(10.0, -6 + i * 0.1));
    tar.push_back(1 - 0.6 * std::exp(-(6 + std::log10(far.back())) * 1.2));
  }
  fk::data::PlotOptions opts;
  opts.title = "Training loss";
  opts.x_label = "epoch";
  opts.y_label = "loss";
  fk::data::write_png(std::string(dir) + "/loss.png",
                      fk::data::line_plot({{"train loss", epoch, loss, {31, 119, 180}},
                                           {"val accuracy x10", epoch, {}, {255, 127, 14}}},
                                          opts));
  std::vector<double> acc10;
  for (double v : acc) acc10.push_back(10 * v);
  fk::data::write_png(std::string(dir) + "/loss_acc.png",
                      fk::data::line_plot({{"train loss", epoch, loss, {31, 119, 180}},
                                           {"val accuracy x10", epoch, acc10, {255, 127, 14}}},
                                          opts));
  fk::data::PlotOptions roc;
  roc.title = "ROC (LFW)";
  roc.x_label = "false accept rate";
  roc.y_label = "true accept rate";
  roc.log_x = true;
  roc.y_range = {{0, 1}};
  fk::data::write_png(std::string(dir) + "/roc.png", fk::data::line_plot({{"model A", far, tar, {214, 39, 40}}}, roc));
  fk::data::PlotOptions bars;
  bars.title = "Look-alikes";
  bars.x_label = "cosine similarity";
  fk::data::write_png(std::string(dir) + "/bars.png",
                      fk::data::bar_chart({"Arnold_Schwarzenegger", "George_W_Bush", "a_very_long_name_that_goes_on_and_on_forever", "Tony_Blair"},
                                          {0.82, 0.61, 0.47, -0.12}, bars));
  Image text(260, 60);
  fk::data::fill_rect(text, 0, 0, 259, 59, {255, 255, 255});
  fk::data::draw_text(text, 2, 2, " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJ", {0, 0, 0});
  fk::data::draw_text(text, 2, 12, "KLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrst", {0, 0, 0});
  fk::data::draw_text(text, 2, 22, "uvwxyz{|}~ caf\xC3\xA9 0.93", {0, 0, 0});
  fk::data::draw_text(text, 2, 34, "Scale 2 on bg", {255, 255, 255}, 2, Rgb{200, 0, 0});
  fk::data::write_png(std::string(dir) + "/font.png", text);
  MESSAGE("example charts written to " << dir);
}
