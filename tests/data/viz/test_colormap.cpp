// data/viz/colormap (OpenCV's JET, heatmaps, blending): jet levels typed in from cv2 4.6.0
// (cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_JET), BGR turned to RGB).
#include <cstdint>
#include <utility>
#include <vector>

#include "data/image/image.h"
#include "data/viz/colormap.h"
#include "tensor/creation.h"
#include "test_util.h"
#include "tests/data/viz/viz_fixtures.h"

using fk::data::Image;
using fk::data::Rgb;
using namespace fk::test::viz;

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
