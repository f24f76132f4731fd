// The resamplers of image.h: Pillow's Image.resize(BILINEAR) bit for bit (its fixed-point coefficients,
// horizontal pass first, 8-bit intermediate) and torch's interpolate(mode="area") on tensors and images.
// Tests: tests/data/image/test_image.cpp.
#include <algorithm>
#include <cmath>
#include <vector>

#include "data/image/image.h"
#include "tensor/parallel.h"
#include "tensor/pool.h"

namespace fk::data {

namespace {

// Pillow's resampling coefficients (Resample.c precompute_coeffs + normalize_coeffs_8bpc) for one axis
// and the bilinear filter: output i reads inputs first[i] .. first[i]+count[i]-1 with integer weights
// that sum to about 2^22.
struct Coeffs {
  int64_t ksize = 0;               // the most taps any output uses
  std::vector<int64_t> first;      // (out)
  std::vector<int64_t> count;      // (out)
  std::vector<int32_t> weights;    // (out, ksize)
};

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's PRECISION_BITS: 8-bit pixels, 2 bits headroom

double triangle(double x) {  // Pillow's bilinear_filter, support 1
  x = std::abs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

Coeffs bilinear_coeffs(int64_t in_size, int64_t out_size) {
  // Shrinking by `scale` widens the triangle by the same factor, so every input pixel contributes
  // (antialiasing); enlarging keeps support 1, i.e. plain linear interpolation between neighbours.
  const double scale = double(in_size) / double(out_size);
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;
  Coeffs k;
  k.ksize = int64_t(std::ceil(support)) * 2 + 1;
  k.first.resize(size_t(out_size));
  k.count.resize(size_t(out_size));
  k.weights.assign(size_t(out_size * k.ksize), 0);
  std::vector<double> w(size_t(k.ksize));
  for (int64_t i = 0; i < out_size; ++i) {
    const double center = (double(i) + 0.5) * scale;  // output pixel centre in input coordinates
    // (int) truncates as in C; both ends are clamped to the input
    const int64_t xmin = std::max<int64_t>(int64_t(center - support + 0.5), 0);
    const int64_t xmax = std::min<int64_t>(int64_t(center + support + 0.5), in_size) - xmin;  // tap count
    double sum = 0.0;
    for (int64_t x = 0; x < xmax; ++x) {
      w[size_t(x)] = triangle((double(x + xmin) - center + 0.5) * (1.0 / filterscale));
      sum += w[size_t(x)];
    }
    for (int64_t x = 0; x < xmax; ++x) {
      const double v = sum != 0.0 ? w[size_t(x)] / sum : w[size_t(x)];
      // round half away from zero to 22-bit fixed point
      const double scaled = v * (1 << kPrecisionBits);
      k.weights[size_t(i * k.ksize + x)] = int32_t(v < 0 ? scaled - 0.5 : scaled + 0.5);
    }
    k.first[size_t(i)] = xmin;
    k.count[size_t(i)] = xmax;
  }
  return k;
}

// the accumulator starts at one half (rounding), the result is clipped to 0..255
uint8_t fixed_to_u8(int32_t acc) { return uint8_t(std::clamp(acc >> kPrecisionBits, 0, 255)); }

// One pass along x (horizontal) or y; `src` is W x H, the result out_w x H or W x out_h.
Image resample_axis(const Image& src, const Coeffs& k, bool horizontal) {
  const int64_t out_w = horizontal ? int64_t(k.first.size()) : src.width;
  const int64_t out_h = horizontal ? src.height : int64_t(k.first.size());
  Image out(out_w, out_h);
  parallel_for(out_h, 16, [&](int64_t y0, int64_t y1) {
    for (int64_t y = y0; y < y1; ++y)
      for (int64_t x = 0; x < out_w; ++x) {
        const int64_t i = horizontal ? x : y;  // the output index along the resampled axis
        const int32_t* w = &k.weights[size_t(i * k.ksize)];
        int32_t acc[3] = {1 << (kPrecisionBits - 1), 1 << (kPrecisionBits - 1), 1 << (kPrecisionBits - 1)};
        for (int64_t t = 0; t < k.count[size_t(i)]; ++t) {
          const int64_t s = k.first[size_t(i)] + t;
          const uint8_t* p = horizontal ? src.at(s, y) : src.at(x, s);
          for (int c = 0; c < 3; ++c) acc[c] += int32_t(p[c]) * w[t];
        }
        uint8_t* o = out.at(x, y);
        for (int c = 0; c < 3; ++c) o[c] = fixed_to_u8(acc[c]);
      }
  });
  return out;
}

}  // namespace

Image resize_bilinear(const Image& img, int64_t out_w, int64_t out_h) {
  FK_CHECK(!img.empty(), "resize_bilinear: empty input image (", img.width, "x", img.height, ")");
  FK_CHECK(out_w >= 1 && out_h >= 1 && out_w * out_h <= (int64_t(1) << 31), "resize_bilinear: bad output size ",
           out_w, "x", out_h);
  // Pillow skips a pass whose size does not change; the pass would be the identity anyway.
  Image out = img;
  if (out_w != img.width) out = resample_axis(out, bilinear_coeffs(img.width, out_w), true);
  if (out_h != img.height) out = resample_axis(out, bilinear_coeffs(img.height, out_h), false);
  return out;
}

Tensor resize_area(const Tensor& x, int64_t out_h, int64_t out_w) {
  FK_CHECK(x.defined() && (x.dim() == 3 || x.dim() == 4), "resize_area: expected (C, H, W) or (N, C, H, W), got ",
           x.defined() ? x.str() : std::string("undefined"));
  FK_CHECK(x.dtype() == DType::Float32 || x.dtype() == DType::Float64, "resize_area: expected a float tensor, got ",
           x.str());
  FK_CHECK(out_h >= 1 && out_w >= 1, "resize_area: bad output size ", out_h, "x", out_w, " for ", x.str());
  return ops::adaptive_avg_pool2d(x, {out_h, out_w});
}

Image resize_area(const Image& img, int64_t out_w, int64_t out_h) {
  FK_CHECK(!img.empty(), "resize_area: empty input image (", img.width, "x", img.height, ")");
  std::vector<float> v = resize_area(image_to_tensor(img), out_h, out_w).to_vector<float>();  // (3, OH, OW)
  Image out(out_w, out_h);
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < out_w * out_h; ++i)
      out.pixels[size_t(i * 3 + c)] = uint8_t(v[size_t(c * out_w * out_h + i)]);  // truncation, like .byte()
  return out;
}

}  // namespace fk::data
