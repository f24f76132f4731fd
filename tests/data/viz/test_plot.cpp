// data/viz/plot (line plots, bar charts, nice ticks): chart geometry found from the drawn frame, NaN
// points and empty input. Set FK_PLOT_DEMO_DIR to a folder to also write example charts there (for a
// look by eye).
#include <cmath>
#include <cstdlib>
#include <utility>
#include <vector>

#include "data/image/image.h"
#include "data/viz/draw.h"
#include "data/viz/plot.h"
#include "test_util.h"
#include "tests/data/viz/viz_fixtures.h"

using fk::data::Image;
using fk::data::Rgb;
using namespace fk::test::viz;

namespace {

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

}  // namespace

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
