// Transforms (see transforms.h): Rng, the deterministic cores copied from Pillow's C code
// (Geometry.c affine_fixed, Blend.c, Convert.c rgb2hsv/hsv2rgb) and torchvision's Python, the random
// ImageOp/TensorOp factories, Pipeline and SamplePairing.

// Pillow is built without fused multiply-add; GCC would otherwise contract a*b+c into one FMA (with
// -march=native) and round differently, breaking the bit-exact blends and rotation matrices below.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "data/loading/transforms.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tensor/creation.h"
#include "tensor/error.h"

namespace fk::data {

// ---- Rng

uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t hash_seed(std::initializer_list<uint64_t> parts) {
  uint64_t h = 0x6a09e667f3bcc909ULL;  // any fixed start; sqrt(2)'s fraction bits
  for (uint64_t p : parts) h = mix64(h ^ mix64(p + 0x9e3779b97f4a7c15ULL));
  return h;
}

uint64_t Rng::next_u64() {
  state_ += 0x9e3779b97f4a7c15ULL;  // splitmix64: a Weyl sequence, then the output mix
  return mix64(state_);
}

double Rng::uniform() { return double(next_u64() >> 11) * (1.0 / 9007199254740992.0); }

double Rng::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

int64_t Rng::randint(int64_t lo, int64_t hi_exclusive) {
  FK_CHECK(lo < hi_exclusive, "Rng::randint: empty range [", lo, ", ", hi_exclusive, ")");
  const uint64_t range = uint64_t(hi_exclusive - lo);
  // reject the top partial block so every value is equally likely
  const uint64_t limit = UINT64_MAX - UINT64_MAX % range;
  uint64_t r;
  do r = next_u64();
  while (r >= limit);
  return lo + int64_t(r % range);
}

bool Rng::bernoulli(double p) { return uniform() < p; }

// ---- small helpers

int64_t round_half_even(double x) { return int64_t(std::nearbyint(x)); }  // default FE_TONEAREST

namespace {

uint8_t clip8(float v) {  // Pillow's extrapolating Blend branch: clip, then truncate
  if (v <= 0.0f) return 0;
  if (v >= 255.0f) return 255;
  return uint8_t(v);
}

// PIL's "L" value of an RGB pixel (Convert.c L24, ITU-R 601-2 in 16-bit fixed point).
uint8_t luma(const uint8_t* p) { return uint8_t((p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16); }

// Image.blend(degenerate, img, factor) (Blend.c): out = in1 + alpha * (in2 - in1), in float.
// `degenerate(i)` gives the first image's byte i.
template <class Degenerate>
Image blend(const Image& img, float alpha, Degenerate degenerate) {
  Image out(img.width, img.height);
  const bool interpolate = alpha >= 0 && alpha <= 1.0f;
  for (size_t i = 0; i < img.pixels.size(); ++i) {
    const int in1 = degenerate(i), in2 = img.pixels[i];
    const float v = float(in1) + alpha * float(in2 - in1);
    out.pixels[i] = interpolate ? uint8_t(v) : clip8(v);
  }
  return out;
}

// Python's round(x, 15): the double nearest to x rounded to 15 decimals. printf rounds the exact
// binary value (as Python's correctly rounded round() does) and strtod reads it back correctly rounded.
double round15(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15f", x);
  return std::strtod(buf, nullptr);
}

}  // namespace

// ---- deterministic cores

Image hflip(const Image& img) {
  Image out(img.width, img.height);
  for (int64_t y = 0; y < img.height; ++y)
    for (int64_t x = 0; x < img.width; ++x) std::memcpy(out.at(img.width - 1 - x, y), img.at(x, y), 3);
  return out;
}

namespace {

// PIL Image.transpose(ROTATE_90/180/270) (counter-clockwise by 90 * quarter_turns degrees).
Image rotate_quarter_turns(const Image& img, int quarter_turns) {
  const int64_t W = img.width, H = img.height;
  const bool swap = quarter_turns % 2 == 1;
  Image out(swap ? H : W, swap ? W : H);
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      int64_t ox = x, oy = y;
      if (quarter_turns == 1) ox = y, oy = W - 1 - x;          // 90 ccw
      if (quarter_turns == 2) ox = W - 1 - x, oy = H - 1 - y;  // 180
      if (quarter_turns == 3) ox = H - 1 - y, oy = x;          // 270 ccw
      std::memcpy(out.at(ox, oy), img.at(x, y), 3);
    }
  return out;
}

}  // namespace

Image rotate(const Image& img, double angle_degrees, uint8_t fill) {
  // Image.rotate's fast paths (angle % 360 as Python computes it: the result has the divisor's sign)
  double angle = std::fmod(angle_degrees, 360.0);
  if (angle < 0) angle += 360.0;
  if (angle == 0) return img;
  if (angle == 180) return rotate_quarter_turns(img, 2);
  if ((angle == 90 || angle == 270) && img.width == img.height) return rotate_quarter_turns(img, angle == 90 ? 1 : 3);

  // The inverse map output (x, y) -> input (a0 x + a1 y + a2, a3 x + a4 y + a5) about the centre,
  // exactly as Image.rotate builds it.
  const double cx = double(img.width) / 2.0, cy = double(img.height) / 2.0;
  const double rad = -(angle * (3.141592653589793 / 180.0));  // -math.radians(angle)
  double a[6] = {round15(std::cos(rad)), round15(std::sin(rad)), 0.0, round15(-std::sin(rad)), round15(std::cos(rad)),
                 0.0};
  const double t2 = a[0] * -cx + a[1] * -cy + a[2];
  const double t5 = a[3] * -cx + a[4] * -cy + a[5];
  a[2] = t2 + cx;
  a[5] = t5 + cy;

  Image out(img.width, img.height);
  for (size_t i = 0; i < out.pixels.size(); ++i) out.pixels[i] = fill;
  const int64_t W = img.width, H = img.height;
  auto fits = [&](double x, double y) {  // Geometry.c check_fixed
    return std::fabs(x * a[0] + y * a[1] + a[2]) < 32768.0 && std::fabs(x * a[3] + y * a[4] + a[5]) < 32768.0;
  };
  const bool fixed = fits(0, 0) && fits(double(W), double(H)) && fits(0, double(H)) && fits(double(W), 0);
  if (fixed) {
    // Geometry.c affine_fixed: 16.16 fixed point, sample at pixel centres (the + 0.5 terms)
    auto fix = [](double v) {
      double s = v * 65536.0 + 0.5;
      return int32_t(s < 0.0 ? std::floor(s) : s);
    };
    const int32_t a0 = fix(a[0]), a1 = fix(a[1]), a3 = fix(a[3]), a4 = fix(a[4]);
    int32_t row_x = fix(a[2] + a[0] * 0.5 + a[1] * 0.5), row_y = fix(a[5] + a[3] * 0.5 + a[4] * 0.5);
    for (int64_t y = 0; y < H; ++y) {
      int32_t xx = row_x, yy = row_y;
      for (int64_t x = 0; x < W; ++x) {
        const int32_t xin = xx >> 16, yin = yy >> 16;  // arithmetic shift = floor
        if (xin >= 0 && xin < W && yin >= 0 && yin < H) std::memcpy(out.at(x, y), img.at(xin, yin), 3);
        xx += a0;
        yy += a3;
      }
      row_x += a1;
      row_y += a4;
    }
  } else {
    // Geometry.c's floating-point path (huge images only)
    auto coord = [](double v) { return v < 0.0 ? -1 : int64_t(v); };
    double row_x = a[2] + a[1] * 0.5 + a[0] * 0.5, row_y = a[5] + a[4] * 0.5 + a[3] * 0.5;
    for (int64_t y = 0; y < H; ++y) {
      double xx = row_x, yy = row_y;
      for (int64_t x = 0; x < W; ++x) {
        const int64_t xin = coord(xx), yin = coord(yy);
        if (xin >= 0 && xin < W && yin >= 0 && yin < H) std::memcpy(out.at(x, y), img.at(xin, yin), 3);
        xx += a[0];
        yy += a[3];
      }
      row_x += a[1];
      row_y += a[4];
    }
  }
  return out;
}

Image adjust_brightness(const Image& img, double factor) {
  FK_CHECK(factor >= 0, "adjust_brightness: factor ", factor, " is negative");
  return blend(img, float(factor), [](size_t) { return 0; });
}

Image adjust_contrast(const Image& img, double factor) {
  FK_CHECK(factor >= 0, "adjust_contrast: factor ", factor, " is negative");
  // ImageStat mean of the "L" image (a double), rounded by int(mean + 0.5)
  const int64_t n = img.width * img.height;
  int64_t sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += luma(&img.pixels[size_t(i * 3)]);
  const int mean = n > 0 ? int(double(sum) / double(n) + 0.5) : 0;
  return blend(img, float(factor), [mean](size_t) { return mean; });
}

Image adjust_saturation(const Image& img, double factor) {
  FK_CHECK(factor >= 0, "adjust_saturation: factor ", factor, " is negative");
  return blend(img, float(factor), [&img](size_t i) { return int(luma(&img.pixels[i - i % 3])); });
}

namespace {

// Convert.c rgb2hsv_row (float/double mix kept as in the C code).
void rgb_to_hsv(const uint8_t* in, uint8_t* out) {
  const uint8_t r = in[0], g = in[1], b = in[2];
  const uint8_t maxc = std::max({r, g, b}), minc = std::min({r, g, b});
  uint8_t uh = 0, us = 0;
  if (minc != maxc) {
    const float cr = float(maxc - minc);
    const float s = cr / float(maxc);
    const float rc = float(maxc - r) / cr, gc = float(maxc - g) / cr, bc = float(maxc - b) / cr;
    float h;
    if (r == maxc) h = bc - gc;
    else if (g == maxc) h = float(2.0 + rc - bc);
    else h = float(4.0 + gc - rc);
    h = float(std::fmod(h / 6.0 + 1.0, 1.0));
    uh = uint8_t(std::clamp(int(h * 255.0), 0, 255));
    us = uint8_t(std::clamp(int(s * 255.0), 0, 255));
  }
  out[0] = uh;
  out[1] = us;
  out[2] = maxc;
}

// Convert.c hsv2rgb.
void hsv_to_rgb(const uint8_t* in, uint8_t* out) {
  const uint8_t h = in[0], s = in[1], v = in[2];
  if (s == 0) {
    out[0] = out[1] = out[2] = v;
    return;
  }
  const int i = int(std::floor(float(h) * 6.0 / 255.0));
  const float f = float(float(h) * 6.0 / 255.0 - float(i));
  const float fs = float(float(s) / 255.0);
  auto c8 = [](double x) { return uint8_t(std::clamp(int(std::round(x)), 0, 255)); };
  const uint8_t p = c8(float(v) * (1.0 - fs));
  const uint8_t q = c8(float(v) * (1.0 - fs * f));
  const uint8_t t = c8(float(v) * (1.0 - fs * (1.0 - f)));
  const uint8_t rgb[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
  std::memcpy(out, rgb[i % 6], 3);
}

}  // namespace

Image adjust_hue(const Image& img, double hue_factor) {
  FK_CHECK(hue_factor >= -0.5 && hue_factor <= 0.5, "adjust_hue: hue_factor ", hue_factor, " is not in [-0.5, 0.5]");
  // np.uint8(hue_factor * 255): truncation toward zero, then wrapping modulo 256
  const uint8_t shift = uint8_t(int64_t(std::trunc(hue_factor * 255.0)) & 0xff);
  Image out(img.width, img.height);
  for (size_t i = 0; i < img.pixels.size(); i += 3) {
    uint8_t hsv[3];
    rgb_to_hsv(&img.pixels[i], hsv);
    hsv[0] = uint8_t(hsv[0] + shift);
    hsv_to_rgb(hsv, &out.pixels[i]);
  }
  return out;
}

Tensor erase(const Tensor& x, int64_t i, int64_t j, int64_t h, int64_t w, double value) {
  FK_CHECK(x.dim() == 3 && x.dtype() == DType::Float32, "erase: expected a (C, H, W) float32 tensor, got ", x.str());
  const int64_t C = x.size(0), H = x.size(1), W = x.size(2);
  FK_CHECK(i >= 0 && j >= 0 && h >= 0 && w >= 0 && i + h <= H && j + w <= W, "erase: box (top ", i, ", left ", j,
           ", ", h, "x", w, ") does not fit a ", H, "x", W, " tensor");
  Tensor y = x.clone();
  float* p = y.data<float>();  // p: (C, H, W)
  for (int64_t c = 0; c < C; ++c)
    for (int64_t r = i; r < i + h; ++r)
      for (int64_t q = j; q < j + w; ++q) p[(c * H + r) * W + q] = float(value);
  return y;
}

// ---- image ops

ImageOp resize(int64_t w, int64_t h, const std::string& mode) {
  FK_CHECK(w > 0 && h > 0, "resize: size ", w, "x", h, " must be positive");
  FK_CHECK(mode == "bilinear" || mode == "area", "resize: unknown mode '", mode, "' (bilinear or area)");
  if (mode == "area") return [w, h](const Image& img, Rng&) { return resize_area(img, w, h); };
  return [w, h](const Image& img, Rng&) {
    return img.width == w && img.height == h ? img : resize_bilinear(img, w, h);  // PIL: same size = copy
  };
}

ImageOp resize_shorter(int64_t size) {
  FK_CHECK(size > 0, "resize_shorter: size ", size, " must be positive");
  return [size](const Image& img, Rng&) {
    const int64_t W = img.width, H = img.height;
    FK_CHECK(W > 0 && H > 0, "resize_shorter: empty image");
    const int64_t s = std::min(W, H), l = std::max(W, H);
    const int64_t new_long = int64_t(double(size) * double(l) / double(s));  // int(size * long / short)
    const int64_t ow = W <= H ? size : new_long, oh = W <= H ? new_long : size;
    return ow == W && oh == H ? img : resize_bilinear(img, ow, oh);
  };
}

namespace {

// torchvision center_crop's left (or top) offset for a crop of `out` pixels from `in`.
int64_t center_offset(int64_t in, int64_t out) {
  if (out > in) return -((out - in) / 2);  // padded first: the pad goes (out - in) // 2 before
  return round_half_even(double(in - out) / 2.0);
}

}  // namespace

ImageOp center_crop(int64_t w, int64_t h) {
  FK_CHECK(w > 0 && h > 0, "center_crop: size ", w, "x", h, " must be positive");
  return [w, h](const Image& img, Rng&) {
    const int64_t x0 = center_offset(img.width, w), y0 = center_offset(img.height, h);
    return crop(img, x0, y0, x0 + w, y0 + h);
  };
}

ImageOp random_crop(int64_t w, int64_t h, int64_t padding) {
  FK_CHECK(w > 0 && h > 0 && padding >= 0, "random_crop: size ", w, "x", h, " and padding ", padding,
           " must be positive");
  return [w, h, padding](const Image& img, Rng& rng) {
    const int64_t PW = img.width + 2 * padding, PH = img.height + 2 * padding;
    FK_CHECK(PW >= w && PH >= h, "random_crop: crop ", w, "x", h, " is larger than the padded image ", PW, "x", PH);
    const int64_t top = rng.randint(0, PH - h + 1);  // torchvision draws i (rows) first, then j
    const int64_t left = rng.randint(0, PW - w + 1);
    // cropping the padded image at (left, top) = cropping the original at (left - pad, top - pad)
    return crop(img, left - padding, top - padding, left - padding + w, top - padding + h);
  };
}

ImageOp random_horizontal_flip(double p) {
  return [p](const Image& img, Rng& rng) { return rng.bernoulli(p) ? hflip(img) : img; };
}

ImageOp random_rotation(double degrees, uint8_t fill) {
  FK_CHECK(degrees >= 0, "random_rotation: degrees ", degrees, " must be >= 0");
  return [degrees, fill](const Image& img, Rng& rng) { return rotate(img, rng.uniform(-degrees, degrees), fill); };
}

ImageOp color_jitter(double brightness, double contrast, double saturation, double hue) {
  FK_CHECK(brightness >= 0 && contrast >= 0 && saturation >= 0, "color_jitter: negative parameter");
  FK_CHECK(hue >= 0 && hue <= 0.5, "color_jitter: hue ", hue, " is not in [0, 0.5]");
  return [=](const Image& img, Rng& rng) {
    // the random order first (torch.randperm(4)), then the factors
    std::array<int, 4> order = {0, 1, 2, 3};
    for (int i = 3; i > 0; --i) std::swap(order[size_t(i)], order[size_t(rng.randint(0, i + 1))]);
    auto factor = [&rng](double v) { return rng.uniform(std::max(0.0, 1 - v), 1 + v); };
    const double b = brightness > 0 ? factor(brightness) : 1;
    const double c = contrast > 0 ? factor(contrast) : 1;
    const double s = saturation > 0 ? factor(saturation) : 1;
    const double hf = hue > 0 ? rng.uniform(-hue, hue) : 0;
    Image out = img;
    for (int op : order) {
      if (op == 0 && brightness > 0) out = adjust_brightness(out, b);
      if (op == 1 && contrast > 0) out = adjust_contrast(out, c);
      if (op == 2 && saturation > 0) out = adjust_saturation(out, s);
      if (op == 3 && hue > 0) out = adjust_hue(out, hf);
    }
    return out;
  };
}

ImageOp face_crop(BoxFinder find_box, double expand) {
  FK_CHECK(bool(find_box), "face_crop: no box finder given");
  return [find_box = std::move(find_box), expand](const Image& img, Rng&) {
    std::optional<std::array<float, 4>> box = find_box(img);
    FK_CHECK(box.has_value(), "face_crop: no face found");
    const auto& b = *box;
    // PIL crop with a float box: each coordinate rounded (halves to even)
    return crop(img, round_half_even(b[0] - expand), round_half_even(b[1] - expand), round_half_even(b[2] + expand),
                round_half_even(b[3] + expand));
  };
}

// ---- to tensor

Tensor to_tensor(const Image& img, const Normalize& n) {
  const int64_t H = img.height, W = img.width;
  Tensor t = empty({3, H, W});
  float* y = t.data<float>();  // y: (3, H, W)
  for (int64_t c = 0; c < 3; ++c) {
    const int64_t src = n.bgr ? 2 - c : c;
    const float mean_f = float(n.mean[size_t(c)]), std_f = float(n.std[size_t(c)]);
    for (int64_t i = 0; i < H * W; ++i) {
      const uint8_t p = img.pixels[size_t(i * 3 + src)];
      if (n.scale_to_unit)  // ToTensor: float32 p / 255; Normalize: (x - mean) / std in float32
        y[c * H * W + i] = (float(p) / 255.0f - mean_f) / std_f;
      else  // numpy's float32 image minus a float64 mean: computed in double, stored as float32
        y[c * H * W + i] = float((double(p) - n.mean[size_t(c)]) / n.std[size_t(c)]);
    }
  }
  return t;
}

// ---- tensor ops

TensorOp random_erasing(double p, std::pair<double, double> scale, std::pair<double, double> ratio, double value) {
  FK_CHECK(scale.first <= scale.second && ratio.first <= ratio.second && ratio.first > 0,
           "random_erasing: scale and ratio must be (min, max) ranges with ratio > 0");
  return [=](const Tensor& x, Rng& rng) {
    if (!rng.bernoulli(p)) return x;
    const int64_t H = x.size(-2), W = x.size(-1);
    const double area = double(H * W);
    const double log_lo = std::log(ratio.first), log_hi = std::log(ratio.second);
    for (int attempt = 0; attempt < 10; ++attempt) {
      const double erase_area = area * rng.uniform(scale.first, scale.second);
      const double aspect = std::exp(rng.uniform(log_lo, log_hi));
      const int64_t h = round_half_even(std::sqrt(erase_area * aspect));
      const int64_t w = round_half_even(std::sqrt(erase_area / aspect));
      if (!(h < H && w < W)) continue;
      const int64_t top = rng.randint(0, H - h + 1);
      const int64_t left = rng.randint(0, W - w + 1);
      return erase(x, top, left, h, w, value);
    }
    return x;  // torchvision: no box found in 10 attempts, the image is unchanged
  };
}

// ---- Pipeline

Tensor Pipeline::operator()(const Image& img, Rng& rng) const {
  Image cur = img;
  for (const auto& op : image_ops) cur = op(cur, rng);
  Tensor t = to_tensor(cur, normalize);
  for (const auto& op : tensor_ops) t = op(t, rng);
  return t;
}

// ---- SamplePairing

Tensor sample_pairing(const Tensor& batch, double p, Rng& rng) {
  FK_CHECK(batch.dim() == 4 && batch.dtype() == DType::Float32,
           "sample_pairing: expected a (N, C, H, W) float32 batch, got ", batch.str());
  Tensor out = batch.to(Device::cpu()).contiguous().clone();
  const int64_t N = out.size(0), D = out.numel() / std::max<int64_t>(N, 1);
  float* x = out.data<float>();  // x: (N, D)
  for (int64_t i = 0; i < N; ++i) {
    if (!rng.bernoulli(p)) continue;
    const int64_t j = rng.randint(0, N);
    for (int64_t k = 0; k < D; ++k) x[i * D + k] = (x[i * D + k] + x[j * D + k]) / 2.0f;
  }
  return batch.device() == Device::cpu() ? out : out.to(batch.device());
}

bool sample_pairing_active(int64_t epoch, int64_t epochs) {
  const double e1 = double(epoch + 1);
  return e1 >= 0.2 * double(epochs) && e1 < 0.8 * double(epochs);
}

}  // namespace fk::data
