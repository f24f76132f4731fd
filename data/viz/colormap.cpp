// OpenCV's COLORMAP_JET table, heatmaps and alpha blending (see colormap.h).
// Tests: tests/data/viz/test_colormap.cpp.
#include "data/viz/colormap.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/error.h"

namespace fk::data {

// OpenCV (modules/imgproc/src/colormap.cpp, class Jet) lists 256 control values per channel at
// X = linspace(0, 1, 256). They are the classic piecewise-linear jet with slope 4 levels per step and
// half-level offsets; in units of 1/255, for level i:
//   red   = clamp(4 i - 382.5, 0, 255) for i < 224, then 251.5 - 4 (i - 224)   (down to 127.5)
//   green = clamp(4 i - 127.5, 0, 255) for i < 160, then max(252.5 - 4 (i - 160), 0)
//   blue  = min(127.5 + 4 i, 255)      for i < 96,  then max(253.5 - 4 (i - 96), 0)
// OpenCV then interpolates them at the same 256 points in float32 and converts with
// saturate_cast<uchar>(255 * v), rounding halves to even. Many levels sit exactly on a half, so the
// float32 steps decide them (level 159's blue is 1.5/255 yet becomes 1): we repeat the same float32
// arithmetic rather than rounding the exact values. Checked against cv2 4.6.0 on all 256 levels.
static std::array<float, 3> jet_control(int i) {
  const double r = i < 224 ? std::clamp(4.0 * i - 382.5, 0.0, 255.0) : 251.5 - 4.0 * (i - 224);
  const double g = i < 160 ? std::clamp(4.0 * i - 127.5, 0.0, 255.0) : std::max(252.5 - 4.0 * (i - 160), 0.0);
  const double b = i < 96 ? std::min(127.5 + 4.0 * i, 255.0) : std::max(253.5 - 4.0 * (i - 96), 0.0);
  return {float(r / 255.0), float(g / 255.0), float(b / 255.0)};
}

static std::array<Rgb, 256> build_jet_table() {
  constexpr int n = 256;
  std::array<std::array<float, 3>, n> Y;  // control values (r, g, b) at X[i]
  std::array<float, n> X;                 // OpenCV's linspace(0, 1, 256) in float32
  const float step = (1.0f - 0.0f) / float(n - 1);
  for (int i = 0; i < n; ++i) {
    Y[size_t(i)] = jet_control(i);
    X[size_t(i)] = 0.0f + float(i) * step;
  }
  std::array<Rgb, n> table{};
  for (int i = 0; i < n; ++i) {
    // OpenCV's interp1: binary search for X[low] < xi <= X[high], then linear interpolation.
    const float xi = X[size_t(i)];
    int low = 0, high = n - 1;
    while (high - low > 1) {
      const int c = low + ((high - low) >> 1);
      if (xi > X[size_t(c)])
        low = c;
      else
        high = c;
    }
    uint8_t out[3];
    for (size_t ch = 0; ch < 3; ++ch) {
      const float ylow = Y[size_t(low)][ch], yhigh = Y[size_t(high)][ch];
      const float num = (xi - X[size_t(low)]) * (yhigh - ylow);
      const float v = ylow + num / (X[size_t(high)] - X[size_t(low)]);
      const float scaled = v * 255.0f;  // convertTo(CV_8U, 255.): round half to even, saturate
      out[ch] = uint8_t(std::clamp(std::nearbyint(scaled), 0.0f, 255.0f));
    }
    table[size_t(i)] = Rgb{out[0], out[1], out[2]};
  }
  return table;
}

const std::array<Rgb, 256>& jet_table() {
  static const std::array<Rgb, 256> table = build_jet_table();
  return table;
}

Rgb jet_level(uint8_t level) { return jet_table()[level]; }

// np.uint8(255 * v) truncates toward zero; v is clamped to [0, 1] first so nothing wraps.
static uint8_t level_of(double v) {
  if (std::isnan(v)) return 0;
  return uint8_t(255.0 * std::clamp(v, 0.0, 1.0));
}

Rgb jet(double v) { return jet_level(level_of(v)); }

Image heatmap_image(const Tensor& map) {
  FK_CHECK(map.defined(), "heatmap_image: undefined tensor");
  const bool ok = map.dim() == 2 || (map.dim() == 3 && map.size(0) == 1) ||
                  (map.dim() == 4 && map.size(0) == 1 && map.size(1) == 1);
  FK_CHECK(ok, "heatmap_image: expected a (H, W), (1, H, W) or (1, 1, H, W) map, got ", map.str());
  const int64_t H = map.size(-2), W = map.size(-1);
  const std::vector<double> v = map.to(Device::cpu()).to_vector<double>();  // (H, W) row-major
  Image img(W, H);
  for (int64_t i = 0; i < H * W; ++i) {
    const Rgb c = jet(v[size_t(i)]);
    uint8_t* p = &img.pixels[size_t(i * 3)];
    p[0] = c.r, p[1] = c.g, p[2] = c.b;
  }
  return img;
}

Image blend(const Image& a, const Image& b, double alpha) {
  FK_CHECK(a.width == b.width && a.height == b.height, "blend: images differ in size: ", a.width, "x",
           a.height, " and ", b.width, "x", b.height);
  FK_CHECK(!std::isnan(alpha), "blend: alpha is NaN");
  const double w = std::clamp(alpha, 0.0, 1.0);
  Image out(a.width, a.height);
  for (size_t i = 0; i < a.pixels.size(); ++i) {
    const double v = w * a.pixels[i] + (1.0 - w) * b.pixels[i];  // round half away from zero
    out.pixels[i] = uint8_t(std::clamp(std::round(v), 0.0, 255.0));
  }
  return out;
}

}  // namespace fk::data
