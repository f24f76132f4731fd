// Tests of the inference engine's convolution kernels (tensor/cpu/conv_blocked.h) and blocked-layout
// ops (tensor/blocked.h): conv2d_blocked with every epilogue against the specification
// conv2d_reference followed by the plain epilogue loop, on random shapes that cover channel counts
// that are not multiples of 16 (3, 10, 28), strides 1 and 2, rectangular kernels and padding
// (1x7, 7x1), 1x1 convs, depthwise convs, rows wider than one tile and batches; both the AVX-512 and
// the baseline-ISA kernels; the layout round trip; blocked max pooling against ops::max_pool2d;
// channel concatenation; the weight-gradient kernels (conv_weight_grad.h) against the float64 GEMM
// backward.
#include <doctest/doctest.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include <cmath>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "tensor/blocked.h"
#include "tensor/cpu/conv_blocked.h"
#include "tensor/cpu/conv_weight_grad.h"
#include "tensor/cpu/kernels_conv_pool.h"
#include "tensor/pool.h"
#include "tensor/random.h"
#include "tensor/shape_ops.h"
#include "test_util.h"

using namespace fk;

namespace {

struct Shape2 {
  int64_t N, C, H, W, OC, KH, KW, SH, SW, PH, PW;
  bool depthwise;
};

std::vector<float> random_values(int64_t n, double scale = 1.0) {
  Tensor t = randn({n}) * scale;
  return t.to_vector<float>();
}

// y = epilogue(conv2d_reference(pre(x))) in float64, NCHW
std::vector<double> expected(const Shape2& s, int64_t OH, int64_t OW, const std::vector<float>& x,
                             const std::vector<float>& w, const std::vector<float>& bias, const std::vector<float>& pre_a,
                             const std::vector<float>& pre_c, cpu::Activation act, const std::vector<float>& slope,
                             const std::vector<float>& res, bool res_after) {
  Conv2dGeometry g;
  g.N = s.N, g.C = s.C, g.H = s.H, g.W = s.W, g.OC = s.OC, g.KH = s.KH, g.KW = s.KW, g.OH = OH, g.OW = OW;
  g.SH = s.SH, g.SW = s.SW, g.PH = s.PH, g.PW = s.PW, g.groups = s.depthwise ? s.C : 1;
  std::vector<double> xd(x.size()), wd(w.begin(), w.end()), bd(bias.begin(), bias.begin() + s.OC);
  for (size_t i = 0; i < x.size(); ++i) {
    const int64_t c = int64_t(i / size_t(s.H * s.W)) % s.C;
    xd[i] = pre_a.empty() ? double(x[i]) : double(pre_a[c]) * x[i] + pre_c[c];
  }
  std::vector<double> y(size_t(s.N * s.OC * OH * OW));
  cpu::conv2d_reference<double>(g, xd.data(), wd.data(), bd.data(), y.data());
  for (size_t i = 0; i < y.size(); ++i) {
    const int64_t oc = int64_t(i / size_t(OH * OW)) % s.OC;
    double v = y[i];
    if (!res.empty() && !res_after) v += res[i];
    if (act == cpu::Activation::ReLU) v = v > 0 ? v : 0;
    if (act == cpu::Activation::PReLU) v = v > 0 ? v : v * slope[oc];
    if (!res.empty() && res_after) v += res[i];
    y[i] = v;
  }
  return y;
}

void check_conv(const Shape2& s, bool pre, cpu::Activation act, bool residual, bool res_after, bool generic,
                bool winograd = false) {
  const int64_t OH = (s.H + 2 * s.PH - s.KH) / s.SH + 1, OW = (s.W + 2 * s.PW - s.KW) / s.SW + 1;
  const int64_t Cg = s.depthwise ? 1 : s.C;
  std::vector<float> x = random_values(s.N * s.C * s.H * s.W);
  std::vector<float> w = random_values(s.OC * Cg * s.KH * s.KW, 1.0 / std::sqrt(double(Cg * s.KH * s.KW)));
  const int64_t OCp = cpu::channel_blocks(s.OC) * 16, Cp = cpu::channel_blocks(s.C) * 16;
  std::vector<float> bias = random_values(OCp), slope = random_values(OCp, 0.3);
  for (int64_t i = s.OC; i < OCp; ++i) bias[i] = slope[i] = 0;
  std::vector<float> pre_a, pre_c;
  if (pre) {
    pre_a = random_values(Cp), pre_c = random_values(Cp);
    for (int64_t i = s.C; i < Cp; ++i) pre_a[i] = pre_c[i] = 0;
  }
  std::vector<float> res;
  if (residual) res = random_values(s.N * s.OC * OH * OW);
  const std::vector<double> want = expected(s, OH, OW, x, w, bias, pre_a, pre_c, act, slope, res, res_after);

  cpu::BlockedConvGeometry g;
  g.N = s.N, g.C = s.C, g.H = s.H, g.W = s.W, g.OC = s.OC, g.KH = s.KH, g.KW = s.KW, g.OH = OH, g.OW = OW;
  g.SH = s.SH, g.SW = s.SW, g.PH = s.PH, g.PW = s.PW, g.depthwise = s.depthwise, g.generic_isa = generic;
  g.winograd = winograd;
  std::vector<float> packed(size_t(cpu::pack_conv_weights_blocked(g, w.data(), nullptr)));
  cpu::pack_conv_weights_blocked(g, w.data(), packed.data());
  std::vector<float> xb(size_t(s.N * Cp * s.H * s.W)), yb(size_t(s.N * OCp * OH * OW), NAN), rb, y(want.size());
  cpu::nchw_to_blocked(s.N, s.C, s.H * s.W, x.data(), xb.data());
  cpu::BlockedEpilogue e;
  e.bias = bias.data();
  e.act = act;
  e.slope = slope.data();
  if (pre) e.pre_scale = pre_a.data(), e.pre_shift = pre_c.data();
  if (residual) {
    rb.resize(yb.size());
    cpu::nchw_to_blocked(s.N, s.OC, OH * OW, res.data(), rb.data());
    e.residual = rb.data();
    e.residual_after_act = res_after;
  }
  cpu::conv2d_blocked(g, xb.data(), packed.data(), e, yb.data());
  // every element written, the padded channels zero (zero bias, slope and residual there)
  bool padding_zero = true;
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t oc = s.OC; oc < OCp; ++oc)
      for (int64_t p = 0; p < OH * OW; ++p)
        padding_zero = padding_zero && yb[size_t(((n * (OCp / 16) + oc / 16) * OH * OW + p) * 16 + oc % 16)] == 0.0f;
  cpu::blocked_to_nchw(s.N, s.OC, OH * OW, yb.data(), y.data());
  double scale = 0, err = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    scale = std::max(scale, std::abs(want[i]));
    const double d = std::abs(double(y[i]) - want[i]);
    if (!(d <= err)) err = d;
  }
  std::ostringstream os;  // (a chain of std::string + trips GCC 12's false -Wrestrict, bug 105329)
  os << "N" << s.N << " C" << s.C << " " << s.H << "x" << s.W << " OC" << s.OC << " k" << s.KH << "x" << s.KW << " s"
     << s.SH << "," << s.SW << " p" << s.PH << "," << s.PW << (s.depthwise ? " depthwise" : "") << (pre ? " pre" : "")
     << " act" << int(act) << (residual ? " res" : "") << (res_after ? "-after" : "") << (generic ? " generic" : " auto")
     << (winograd ? " winograd" : "");
  const std::string label = os.str();
  CHECK_MESSAGE(err <= 2e-5 * std::max(1.0, scale), label << ": max |diff| " << err << ", scale " << scale);
  CHECK_MESSAGE(padding_zero, label << ": padded output channels are not zero");
}

const Shape2 kShapes[] = {
    {1, 3, 13, 11, 16, 3, 3, 1, 1, 1, 1, false},     // the stem: 3 input channels (conv_stem_kernel.h)
    {1, 3, 9, 30, 64, 3, 3, 1, 1, 1, 1, false},      // stem, rows of 30 in 3 tiles, 2 output-block pairs
    {2, 3, 15, 14, 48, 3, 3, 2, 2, 1, 1, false},     // stem, stride 2 (MobileFaceNet, Inception-ResNet)
    {1, 3, 23, 20, 64, 7, 7, 2, 2, 3, 3, false},     // stem, 7x7 stride 2 (ResNet-50)
    {1, 3, 9, 9, 16, 5, 5, 1, 1, 2, 2, false},       // 3 channels, 5x5: not a stem kernel's, the blocked tile
    {2, 16, 9, 30, 32, 3, 3, 1, 1, 1, 1, false},     // rows of 30: tiles 10 + 10 + 10, two output blocks
    {1, 40, 8, 8, 48, 3, 3, 2, 2, 1, 1, false},      // stride 2, partial input block, odd output-block count
    {2, 32, 7, 7, 64, 1, 1, 1, 1, 0, 0, false},      // 1x1 (pointwise: runs of pixels across rows)
    {1, 16, 15, 16, 32, 1, 1, 1, 1, 0, 0, false},    // pointwise, 240 pixels: runs of 112, 112, 16
    {1, 64, 10, 12, 16, 1, 1, 2, 2, 0, 0, false},    // strided 1x1 (a downsample)
    {1, 16, 9, 9, 10, 1, 7, 1, 1, 0, 3, false},      // 1x7 and 10 output channels
    {1, 20, 7, 7, 80, 3, 3, 1, 1, 1, 1, false},      // 7-wide rows: 4 output blocks per tile, then 1
    {2, 16, 17, 17, 112, 1, 7, 1, 1, 0, 3, false},   // 17-wide rows (9 + 8): 3 blocks per tile, 3 + 3 + 1
    {1, 28, 9, 9, 20, 7, 1, 1, 1, 3, 0, false},      // 7x1
    {1, 3, 20, 17, 10, 3, 3, 1, 1, 0, 0, false},     // PNet's first conv: no padding
    {1, 24, 11, 15, 24, 3, 3, 2, 2, 1, 1, true},     // depthwise, stride 2, partial block
    {2, 32, 6, 21, 32, 3, 3, 1, 1, 1, 1, true},      // depthwise, rows of 21 (8 + 8 + 5)
};

}  // namespace

TEST_CASE("conv2d_blocked: every shape and epilogue against conv2d_reference, both ISAs") {
  manual_seed(1);
  for (bool generic : {false, true})
    for (const Shape2& s : kShapes) {
      check_conv(s, false, cpu::Activation::None, false, false, generic);
      check_conv(s, true, cpu::Activation::PReLU, false, false, generic);
      check_conv(s, false, cpu::Activation::ReLU, true, false, generic);
      check_conv(s, true, cpu::Activation::PReLU, true, true, generic);
    }
}

TEST_CASE("conv2d_blocked: Winograd F(2x2, 3x3) against conv2d_reference, both ISAs") {
  manual_seed(4);
  const Shape2 shapes[] = {
      {1, 16, 7, 7, 32, 3, 3, 1, 1, 1, 1, false},     // odd output: the last tiles half outside
      {2, 40, 10, 13, 48, 3, 3, 1, 1, 1, 1, false},   // partial input block, 3 output blocks, 2 images
      {1, 32, 28, 28, 32, 3, 3, 1, 1, 1, 1, false},   // 196 tiles: 4 chunks of 48 (calls of 12), the last 4
      {2, 16, 30, 25, 40, 3, 3, 1, 1, 1, 1, false},   // 390 tiles over 2 images: chunks across the image border
      {1, 16, 5, 6, 112, 3, 3, 1, 1, 1, 1, false},    // 9 tiles, 4 output-block pairs: split into groups of pairs
      {1, 24, 9, 8, 16, 3, 3, 1, 1, 0, 0, false},     // no padding
      {1, 3, 11, 12, 20, 3, 3, 1, 1, 1, 1, false},    // 3 input channels
  };
  for (bool generic : {false, true})
    for (const Shape2& s : shapes) {
      check_conv(s, false, cpu::Activation::None, false, false, generic, true);
      check_conv(s, true, cpu::Activation::PReLU, true, false, generic, true);
      check_conv(s, false, cpu::Activation::ReLU, true, true, generic, true);
    }
}

namespace {

// dw of one shape by conv2d_weight_grad_blocked (or, with winograd, conv2d_weight_grad_winograd)
// against conv2d_backward<double>; returns the largest error relative to max(1, max |dw|).
double weight_grad_error(const Shape2& s, bool generic, bool winograd, std::string& label) {
  const int64_t OH = (s.H + 2 * s.PH - s.KH) / s.SH + 1, OW = (s.W + 2 * s.PW - s.KW) / s.SW + 1;
  Conv2dGeometry g;
  g.N = s.N, g.C = s.C, g.H = s.H, g.W = s.W, g.OC = s.OC, g.KH = s.KH, g.KW = s.KW, g.OH = OH, g.OW = OW;
  g.SH = s.SH, g.SW = s.SW, g.PH = s.PH, g.PW = s.PW, g.groups = s.depthwise ? s.C : 1;
  const int64_t wn = s.OC * (s.C / g.groups) * s.KH * s.KW;
  std::vector<float> x = random_values(s.N * s.C * s.H * s.W), dy = random_values(s.N * s.OC * OH * OW);
  std::vector<double> xd(x.begin(), x.end()), dyd(dy.begin(), dy.end());
  std::vector<double> wd(static_cast<size_t>(wn)), want(static_cast<size_t>(wn));
  cpu::conv2d_backward<double>(g, dyd.data(), xd.data(), wd.data(), nullptr, want.data(), nullptr);

  cpu::BlockedConvGeometry bg;
  bg.N = s.N, bg.C = s.C, bg.H = s.H, bg.W = s.W, bg.OC = s.OC, bg.KH = s.KH, bg.KW = s.KW, bg.OH = OH, bg.OW = OW;
  bg.SH = s.SH, bg.SW = s.SW, bg.PH = s.PH, bg.PW = s.PW, bg.depthwise = s.depthwise, bg.generic_isa = generic;
  std::vector<float> xb(size_t(s.N * cpu::channel_blocks(s.C) * 16 * s.H * s.W));
  std::vector<float> dyb(size_t(s.N * cpu::channel_blocks(s.OC) * 16 * OH * OW)), dw(size_t(wn), NAN);
  cpu::nchw_to_blocked(s.N, s.C, s.H * s.W, x.data(), xb.data());
  cpu::nchw_to_blocked(s.N, s.OC, OH * OW, dy.data(), dyb.data());
  if (winograd) cpu::conv2d_weight_grad_winograd(bg, xb.data(), dyb.data(), dw.data());
  else cpu::conv2d_weight_grad_blocked(bg, xb.data(), dyb.data(), dw.data());
  double err = 0, scale = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    scale = std::max(scale, std::abs(want[i]));
    const double d = std::abs(double(dw[i]) - want[i]);
    if (!(d <= err)) err = d;  // a NaN (an element not written) fails
  }
  std::ostringstream os;
  os << "N" << s.N << " C" << s.C << " " << s.H << "x" << s.W << " OC" << s.OC << " k" << s.KH << "x" << s.KW
     << " s" << s.SH << "," << s.SW << " p" << s.PH << "," << s.PW << (s.depthwise ? " depthwise" : "")
     << (generic ? " generic" : " auto") << (winograd ? " winograd" : "") << ": max |diff| " << err << ", scale "
     << scale;
  label = os.str();
  return err / std::max(1.0, scale);
}

}  // namespace

TEST_CASE("conv2d_weight_grad_blocked: dense and depthwise shapes against the float64 backward, both ISAs") {
  manual_seed(5);
  std::vector<Shape2> shapes(std::begin(kShapes), std::end(kShapes));
  const Shape2 more[] = {
      {2, 16, 6, 9, 16, 5, 5, 1, 1, 2, 2, false},     // 5 kernel columns: source groups of 3 + 2
      {1, 80, 5, 6, 20, 1, 1, 1, 1, 0, 0, false},     // 1x1 over 5 input blocks: groups of 3 + 2
      {1, 16, 9, 300, 32, 3, 3, 1, 1, 1, 1, false},   // 300-wide rows: chunks of 2 output rows
      {2, 32, 9, 8, 16, 3, 3, 2, 1, 0, 1, false},     // stride 2 x 1, padding only on the sides
      {2, 48, 7, 6, 48, 7, 6, 1, 1, 0, 0, true},      // MobileFaceNet's global depthwise conv
      {1, 16, 12, 150, 16, 3, 3, 2, 2, 1, 1, true},   // depthwise, stride 2, chunks of rows
      {3, 16, 4, 4, 16, 3, 3, 1, 1, 2, 2, true},      // depthwise, padding 2: taps wholly outside
  };
  shapes.insert(shapes.end(), std::begin(more), std::end(more));
  struct WinogradOn {  // the direct kernels for the 3x3 stride-1 shapes too
    ~WinogradOn() { cpu::set_winograd_enabled(true); }
  } restore;
  cpu::set_winograd_enabled(false);
  for (bool generic : {false, true})
    for (const Shape2& s : shapes) {
      std::string label;
      const double err = weight_grad_error(s, generic, false, label);
      // sums of up to N*OH*OW = 5400 products of unit normals in float32
      CHECK_MESSAGE(err <= 1e-5, label);
    }
}

TEST_CASE("conv2d_weight_grad_winograd: 3x3 stride-1 shapes against the float64 backward, both ISAs") {
  manual_seed(6);
  const Shape2 shapes[] = {
      {2, 16, 8, 8, 16, 3, 3, 1, 1, 1, 1, false},     // even map: 4x4 tiles, no partial tile
      {3, 32, 7, 7, 64, 3, 3, 1, 1, 1, 1, false},     // IR-50's 7x7 maps: the last tile row and column half empty
      {1, 20, 9, 6, 24, 3, 3, 1, 1, 1, 1, false},     // partial input and output blocks, odd rows, even columns
      {1, 80, 5, 6, 40, 3, 3, 1, 1, 1, 1, false},     // 5 input blocks: source groups of 3 + 2
      {2, 16, 48, 48, 16, 3, 3, 1, 1, 1, 1, false},   // 1152 tiles: chunks of 256, the last 128
      {1, 16, 10, 11, 32, 3, 3, 1, 1, 0, 0, false},   // no padding (PNet-like)
      {2, 16, 5, 4, 16, 3, 3, 1, 1, 2, 2, false},     // padding 2: tiles reaching wholly outside
      {1, 48, 1, 3, 16, 3, 3, 1, 1, 1, 1, false},     // one input row: a single tile row
  };
  for (bool generic : {false, true})
    for (const Shape2& s : shapes) {
      std::string label;
      const double err = weight_grad_error(s, generic, true, label);
      // F(2x2, 3x3)'s transforms add a few roundings per product on top of the float32 sums
      CHECK_MESSAGE(err <= 2e-5, label);
    }
}

#ifdef _OPENMP
TEST_CASE("conv2d_weight_grad_winograd: the same bits on one thread and on several") {
  manual_seed(7);
  cpu::BlockedConvGeometry g;
  g.N = 2, g.C = 40, g.H = 30, g.W = 29, g.OC = 24, g.KH = 3, g.KW = 3, g.OH = 30, g.OW = 29, g.PH = 1, g.PW = 1;
  std::vector<float> xb = random_values(g.N * 3 * 16 * g.H * g.W), dyb = random_values(g.N * 2 * 16 * g.OH * g.OW);
  for (int64_t i = 0; i < int64_t(xb.size()); ++i)
    if ((i / (16 * g.H * g.W)) % 3 == 2 && i % 16 >= 8) xb[size_t(i)] = 0;  // the lanes past C = 40
  std::vector<float> one(size_t(24 * 40 * 9)), many(one.size());
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  cpu::conv2d_weight_grad_winograd(g, xb.data(), dyb.data(), one.data());
  omp_set_num_threads(std::max(threads, 3));
  cpu::conv2d_weight_grad_winograd(g, xb.data(), dyb.data(), many.data());
  omp_set_num_threads(threads);
  CHECK(std::memcmp(one.data(), many.data(), one.size() * sizeof(float)) == 0);
}
#endif

TEST_CASE("conv2d_blocked: layout round trip and zero channel padding") {
  manual_seed(2);
  Tensor x = randn({2, 21, 5, 3});
  BlockedTensor b = to_blocked(x);
  CHECK(b.data.shape() == Shape{2, 2, 5, 3, 16});
  CHECK(b.channels == 21);
  CHECK_CLOSE(to_nchw(b), x, 0, 0, "round trip");
  auto v = b.data.to_vector<float>();
  bool zero = true;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t p = 0; p < 15; ++p)
      for (int64_t c = 5; c < 16; ++c) zero = zero && v[size_t(((n * 2 + 1) * 15 + p) * 16 + c)] == 0.0f;
  CHECK(zero);
  // a non-contiguous input converts the same
  Tensor xt = permute(randn({2, 3, 21, 5}), {0, 2, 3, 1});
  CHECK_CLOSE(to_nchw(to_blocked(xt)), xt.contiguous(), 0, 0, "strided input");
}

TEST_CASE("conv2d_blocked: max_pool2d and cat_channels on the blocked layout") {
  manual_seed(3);
  for (bool ceil_mode : {false, true})
    for (auto [k, s, p] : {std::tuple{3, 2, 0}, std::tuple{2, 2, 0}, std::tuple{3, 2, 1}, std::tuple{1, 2, 0}}) {
      Tensor x = randn({2, 20, 11, 10});
      ops::Pool2dOptions o;
      o.kernel = {k, k};
      o.stride = {s, s};
      o.padding = {p, p};
      o.ceil_mode = ceil_mode;
      Tensor want = ops::max_pool2d(x, o);
      CHECK_CLOSE(to_nchw(max_pool2d(to_blocked(x), k, s, p, ceil_mode)), want, 0, 0,
                  "max_pool2d k" + std::to_string(k) + " s" + std::to_string(s) + " p" + std::to_string(p) +
                      (ceil_mode ? " ceil" : ""));
    }
  {  // a NaN in the window wins, as in PyTorch, wherever it sits in the window
    Tensor x = randn({1, 16, 4, 4});
    x.data<float>()[3 * 16 + 5] = NAN;  // channel 3, row 1, column 1
    Tensor y = to_nchw(max_pool2d(to_blocked(x), 2, 2, 0, false));
    CHECK(std::isnan(y.data<float>()[3 * 4 + 0]));
    CHECK(std::isfinite(y.data<float>()[3 * 4 + 1]));
    CHECK(std::isfinite(y.data<float>()[2 * 4 + 0]));
  }
  Tensor a = randn({2, 32, 4, 3}), b = randn({2, 16, 4, 3}), c = randn({2, 7, 4, 3});
  Tensor want = cat({a, b, c}, 1);
  CHECK_CLOSE(to_nchw(cat_channels({to_blocked(a), to_blocked(b), to_blocked(c)})), want, 0, 0, "cat");
  CHECK_THROWS_WITH_AS(cat_channels({to_blocked(c), to_blocked(a)}), doctest::Contains("not a multiple of 16"),
                       std::exception);
}
