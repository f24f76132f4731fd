// data::resize_area (data/image/area_resize.h) against its specification, adaptive_avg_pool2d of the window
// followed by MTCNN's normalisation: bit-identical on integer-valued images (downscaling, upscaling,
// windows inside the image, split into row ranges), within rounding on fractional ones; bad windows
// are refused with the sizes named.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "data/image/area_resize.h"
#include "tensor/creation.h"
#include "tensor/elementwise.h"
#include "tensor/pool.h"
#include "tensor/random.h"
#include "tensor/shape_ops.h"
#include "test_util.h"

using namespace fk;

namespace {

// what the detector computed before: adaptive_avg_pool2d of the window, then (v - 127.5) * 0.0078125
Tensor spec(const Tensor& image, data::AreaWindow win, int64_t oh, int64_t ow) {
  Tensor patch = ops::slice(ops::slice(image, 1, win.y0, win.y1), 2, win.x0, win.x1);
  Tensor r = ops::adaptive_avg_pool2d(ops::unsqueeze(patch, 0), {oh, ow});
  return ops::mul(ops::sub(r, 127.5), 0.0078125);
}

Tensor run(const Tensor& image, data::AreaWindow win, int64_t oh, int64_t ow, int64_t split = 0) {
  Tensor out = zeros({1, image.size(0), oh, ow});
  const int64_t cut = split > 0 ? split : oh;
  data::resize_area(image.data<float>(), image.size(0), image.size(1), image.size(2), win, oh, ow, 127.5f, 0.0078125f,
                    out.data<float>(), 0, cut);
  if (cut < oh)
    data::resize_area(image.data<float>(), image.size(0), image.size(1), image.size(2), win, oh, ow, 127.5f,
                      0.0078125f, out.data<float>(), cut, oh);
  return out;
}

bool bit_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.contiguous().data<float>(), b.contiguous().data<float>(), size_t(a.numel()) * 4) == 0;
}

}  // namespace

TEST_CASE("resize_area: bit-identical to adaptive_avg_pool2d + normalisation on 8-bit images") {
  manual_seed(11);
  Tensor image = rand({3, 61, 83}) * 255.99;
  for (int64_t i = 0; i < image.numel(); ++i)  // integer values 0..255, as a decoded photo
    image.data<float>()[i] = std::floor(image.data<float>()[i]);
  struct Case {
    data::AreaWindow win;
    int64_t oh, ow, split;
  };
  const Case cases[] = {
      {{0, 61, 0, 83}, 43, 59, 0},   // a pyramid level (0.709x)
      {{0, 61, 0, 83}, 12, 17, 5},   // the smallest level, computed in two row ranges
      {{0, 61, 0, 83}, 61, 83, 0},   // the same size: a copy
      {{5, 53, 7, 44}, 24, 24, 11},  // an RNet crop (downscaled)
      {{40, 52, 70, 83}, 48, 48, 0}, // an ONet crop of a small box at the corner (upscaled 4x)
      {{0, 1, 0, 1}, 24, 24, 0},     // a one-pixel box
  };
  for (const Case& c : cases) {
    CAPTURE(c.win.y0);
    CAPTURE(c.win.x1);
    CAPTURE(c.oh);
    CHECK(bit_equal(run(image, c.win, c.oh, c.ow, c.split), spec(image, c.win, c.oh, c.ow)));
  }
}

TEST_CASE("resize_area: within rounding on fractional images, bad windows name the sizes") {
  manual_seed(12);
  Tensor image = rand({3, 40, 30}) * 255.0;
  CHECK_CLOSE(run(image, {3, 37, 2, 29}, 24, 24), spec(image, {3, 37, 2, 29}, 24, 24), 1e-6, 1e-6, "fractional");
  Tensor out = zeros({1, 3, 24, 24});
  CHECK_THROWS_WITH_AS(data::resize_area(image.data<float>(), 3, 40, 30, {0, 41, 0, 30}, 24, 24, 0.0f, 1.0f,
                                         out.data<float>(), 0, 24),
                       doctest::Contains("of a 40x30 image"), std::exception);
  CHECK_THROWS_WITH_AS(data::resize_area(image.data<float>(), 3, 40, 30, {5, 5, 0, 30}, 24, 24, 0.0f, 1.0f,
                                         out.data<float>(), 0, 24),
                       doctest::Contains("resize_area"), std::exception);
}
