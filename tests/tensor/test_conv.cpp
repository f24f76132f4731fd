// Tests of ops::conv2d and ops::conv2d_backward: a hand-worked example, PyTorch fixtures for every row
// of tests/cases/conv.h (forward within 1e-5 in float32, and the gradients), the im2col + GEMM kernel
// against the direct-loop reference on random shapes (float64, 1e-12), an adjoint identity for the
// backward on larger batches, the float32 convs that run on the engine's blocked kernels against the
// float64 reference, and the error messages.
#include <string>

#include "cases/conv.h"
#include "tensor/cpu/conv_blocked_nchw.h"
#include "tensor/cpu/kernels_conv_pool.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace fk;

static std::string conv_label(const test::ConvCase& c) {
  const auto& o = c.opts;
  return std::string("conv2d ") + c.name + "(x=" + shape_str(c.x) + ", w=" + shape_str(c.w) +
         ", s=" + std::to_string(o.stride[0]) + "x" + std::to_string(o.stride[1]) +
         ", p=" + std::to_string(o.padding[0]) + "x" + std::to_string(o.padding[1]) +
         ", d=" + std::to_string(o.dilation[0]) + "x" + std::to_string(o.dilation[1]) +
         ", g=" + std::to_string(o.groups) + ", bias=" + (c.bias ? "1" : "0") + ")";
}

TEST_CASE("conv2d: hand-worked 3x3 input, 2x2 kernel") {
  // x = [[1,2,3],[4,5,6],[7,8,9]], w = [[1,2],[3,4]], b = 1
  // y[0,0] = 1*1 + 2*2 + 3*4 + 4*5 + 1 = 38, and so on
  Tensor x = tensor({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  Tensor w = tensor({1, 2, 3, 4}, {1, 1, 2, 2});
  Tensor b = tensor({1}, {1});
  CHECK_CLOSE(ops::conv2d(x, w, b), tensor({38, 48, 68, 78}, {1, 1, 2, 2}), 0, 0, "conv2d 3x3 * 2x2");

  // dy = 1: dx[i,j] = sum of the kernel taps that touch (i,j); dw = sum of the four windows; db = 4
  ops::Conv2dGrads g = ops::conv2d_backward(ones({1, 1, 2, 2}), x, w, true, {});
  CHECK_CLOSE(g.dx, tensor({1, 3, 2, 4, 10, 6, 3, 7, 4}, {1, 1, 3, 3}), 0, 0, "conv2d dx");
  CHECK_CLOSE(g.dweight, tensor({12, 16, 24, 28}, {1, 1, 2, 2}), 0, 0, "conv2d dw");
  CHECK_CLOSE(g.dbias, tensor({4}, {1}), 0, 0, "conv2d db");

  // padding 1, stride 2: windows start at (-1,-1), (-1,1), (1,-1), (1,1) of the zero-padded map
  // y[0,0] = x[0,0]*w[1,1] = 4;  y[0,1] = 2*3 + 3*4 = 18;  y[1,0] = 4*2 + 7*4 = 36;  y[1,1] = 77
  ops::Conv2dOptions o{{2, 2}, {1, 1}, {1, 1}, 1};
  CHECK_CLOSE(ops::conv2d(x, w, Tensor(), o), tensor({4, 18, 36, 77}, {1, 1, 2, 2}), 0, 0, "conv2d s2 p1");
}

TEST_CASE("conv2d: matches PyTorch fixtures") {
  for (const test::ConvCase& c : test::conv_cases) {
    SUBCASE(c.name) {
      const std::string dir = std::string("conv/") + c.name;
      Tensor x = test::fixture(dir + "_x.npy"), w = test::fixture(dir + "_w.npy");
      Tensor b = c.bias ? test::fixture(dir + "_b.npy") : Tensor();
      REQUIRE_MESSAGE(x.shape() == c.x, c.name, ": stored x ", shape_str(x.shape()), " != case ", shape_str(c.x));
      REQUIRE_MESSAGE(w.shape() == c.w, c.name, ": stored w ", shape_str(w.shape()), " != case ", shape_str(c.w));
      Tensor y = ops::conv2d(x, w, b, c.opts);
      CHECK_CLOSE(y, test::fixture(dir + "_y.npy"), 1e-5, 0, conv_label(c) + " forward");

      ops::Conv2dGrads g = ops::conv2d_backward(test::fixture(dir + "_dy.npy"), x, w, c.bias, c.opts);
      CHECK_CLOSE(g.dx, test::fixture(dir + "_dx.npy"), 1e-5, 1e-5, conv_label(c) + " dx");
      CHECK_CLOSE(g.dweight, test::fixture(dir + "_dw.npy"), 2e-5, 1e-5, conv_label(c) + " dw");
      if (c.bias) CHECK_CLOSE(g.dbias, test::fixture(dir + "_db.npy"), 2e-5, 1e-5, conv_label(c) + " db");
      CHECK(g.dbias.defined() == c.bias);
    }
  }
}

// A random conv geometry: every option drawn, the input made large enough for the dilated kernel.
static Conv2dGeometry random_geometry(Generator& gen) {
  Conv2dGeometry g;
  g.groups = gen.randint(1, 4);
  g.N = gen.randint(1, 4);
  g.C = g.groups * gen.randint(1, 4);
  g.OC = g.groups * gen.randint(1, 4);
  g.KH = gen.randint(1, 5), g.KW = gen.randint(1, 5);
  g.SH = gen.randint(1, 4), g.SW = gen.randint(1, 4);
  g.PH = gen.randint(0, 3), g.PW = gen.randint(0, 3);
  g.DH = gen.randint(1, 3), g.DW = gen.randint(1, 3);
  if (gen.uniform() < 0.25) g.KH = g.KW = 1, g.SH = g.SW = 1, g.PH = g.PW = 0;  // the pointwise fast path
  const int64_t eff_h = g.DH * (g.KH - 1) + 1, eff_w = g.DW * (g.KW - 1) + 1;
  g.H = std::max<int64_t>(1, eff_h - 2 * g.PH) + gen.randint(0, 7);
  g.W = std::max<int64_t>(1, eff_w - 2 * g.PW) + gen.randint(0, 7);
  g.OH = (g.H + 2 * g.PH - eff_h) / g.SH + 1;
  g.OW = (g.W + 2 * g.PW - eff_w) / g.SW + 1;
  return g;
}

static std::string geometry_str(const Conv2dGeometry& g) {
  return "x=[" + std::to_string(g.N) + "," + std::to_string(g.C) + "," + std::to_string(g.H) + "," +
         std::to_string(g.W) + "] OC=" + std::to_string(g.OC) + " k=" + std::to_string(g.KH) + "x" +
         std::to_string(g.KW) + " s=" + std::to_string(g.SH) + "x" + std::to_string(g.SW) + " p=" +
         std::to_string(g.PH) + "x" + std::to_string(g.PW) + " d=" + std::to_string(g.DH) + "x" +
         std::to_string(g.DW) + " g=" + std::to_string(g.groups);
}

static ops::Conv2dOptions options_of(const Conv2dGeometry& g) {
  return {{g.SH, g.SW}, {g.PH, g.PW}, {g.DH, g.DW}, g.groups};
}

TEST_CASE("conv2d: im2col + GEMM equals the direct-loop reference on random shapes") {
  Generator gen(7);
  for (int trial = 0; trial < 60; ++trial) {
    const Conv2dGeometry g = random_geometry(gen);
    manual_seed(uint64_t(100 + trial));
    Tensor x = randn({g.N, g.C, g.H, g.W}, DType::Float64);
    Tensor w = randn({g.OC, g.C / g.groups, g.KH, g.KW}, DType::Float64);
    Tensor b = trial % 2 ? randn({g.OC}, DType::Float64) : Tensor();
    Tensor expected = empty({g.N, g.OC, g.OH, g.OW}, DType::Float64);
    cpu::conv2d_reference<double>(g, x.data<double>(), w.data<double>(), b.defined() ? b.data<double>() : nullptr,
                                  expected.data<double>());
    Tensor y = ops::conv2d(x, w, b, options_of(g));
    CHECK_CLOSE(y, expected, 1e-12, 0, "conv2d vs reference " + geometry_str(g));
  }
}

TEST_CASE("conv2d: float32 forward and input gradient on the blocked kernels equal the float64 reference") {
  // float32 convs of 16+ channels run forward and (stride 1) dx on the engine's kernels (direct,
  // depthwise, and Winograd for 3x3 stride 1): against the float64 seven-loop reference (forward) and the float64
  // GEMM backward (dx, dw), on channel counts that are and are not multiples of 16
  struct RestoreBlocked {
    ~RestoreBlocked() { cpu::set_conv_blocked_enabled(true); }
  } restore;
  cpu::set_conv_blocked_enabled(true);
  Generator gen(21);
  const int64_t kernels[][2] = {{1, 1}, {3, 3}, {3, 3}, {1, 7}, {7, 1}, {3, 1}, {5, 5}};
  int input_grads = 0, stride_one = 0;
  for (int trial = 0; trial < 36; ++trial) {
    Conv2dGeometry g;
    g.N = gen.randint(1, 4);
    g.C = 16 + gen.randint(0, 3) * 9;   // 16, 25, 34
    g.OC = 16 + gen.randint(0, 3) * 12;  // 16, 28, 40
    if (trial % 4 == 1) g.OC = g.groups = g.C;  // depthwise
    g.KH = kernels[trial % 7][0], g.KW = kernels[trial % 7][1];
    const int64_t strides[6][2] = {{1, 1}, {1, 1}, {1, 1}, {2, 2}, {1, 2}, {2, 1}};
    g.SH = strides[trial % 6][0], g.SW = strides[trial % 6][1];
    g.PH = gen.randint(0, g.KH), g.PW = gen.randint(0, g.KW);  // 0 .. K-1
    g.H = std::max<int64_t>(1, g.KH - 2 * g.PH) + gen.randint(0, 9);
    g.W = std::max<int64_t>(1, g.KW - 2 * g.PW) + gen.randint(0, 9);
    g.OH = (g.H + 2 * g.PH - g.KH) / g.SH + 1;
    g.OW = (g.W + 2 * g.PW - g.KW) / g.SW + 1;
    const std::string label = geometry_str(g);
    REQUIRE_MESSAGE(cpu::conv2d_blocked_applies(g), label);
    manual_seed(uint64_t(700 + trial));
    const int64_t xn = g.N * g.C * g.H * g.W, wn = g.OC * (g.C / g.groups) * g.KH * g.KW;
    const int64_t yn = g.N * g.OC * g.OH * g.OW;
    Tensor x = randn({xn}, DType::Float64), w = randn({wn}, DType::Float64), b = randn({g.OC}, DType::Float64);
    Tensor dy = randn({yn}, DType::Float64);
    Tensor y_ref = empty({yn}, DType::Float64), dx_ref = empty({xn}, DType::Float64), dw_ref = empty({wn}, DType::Float64);
    cpu::conv2d_reference<double>(g, x.data<double>(), w.data<double>(), b.data<double>(), y_ref.data<double>());
    cpu::conv2d_backward<double>(g, dy.data<double>(), x.data<double>(), w.data<double>(), dx_ref.data<double>(),
                                 dw_ref.data<double>(), nullptr);
    Tensor x32 = x.to(DType::Float32), w32 = w.to(DType::Float32), b32 = b.to(DType::Float32);
    Tensor dy32 = dy.to(DType::Float32);
    Tensor y = empty({yn}), dx = empty({xn}), dw = empty({wn});
    cpu::conv2d_forward<float>(g, x32.data<float>(), w32.data<float>(), b32.data<float>(), y.data<float>());
    cpu::conv2d_backward<float>(g, dy32.data<float>(), x32.data<float>(), w32.data<float>(), dx.data<float>(),
                                dw.data<float>(), nullptr);
    // sums of up to 34 * 25 products of unit normals: float32 (and Winograd's transforms) within ~1e-4
    CHECK_CLOSE(y.to(DType::Float64), y_ref, 2e-4, 1e-4, "blocked forward " + label);
    CHECK_CLOSE(dx.to(DType::Float64), dx_ref, 2e-4, 1e-4, "dx " + label);
    CHECK_CLOSE(dw.to(DType::Float64), dw_ref, 1e-3, 1e-4, "dw " + label);
    input_grads += cpu::conv2d_input_grad_blocked_applies(g);
    stride_one += g.SH == 1 && g.SW == 1;
  }
  CHECK(stride_one >= 12);
  CHECK(input_grads == stride_one);  // the stride-1 trials ran dx on the blocked kernels too

  // switched off, the same float32 conv runs im2col + GEMM (and applies() says so)
  Conv2dGeometry g;
  g.N = 2, g.C = 16, g.H = 6, g.W = 5, g.OC = 16, g.KH = g.KW = 3, g.PH = g.PW = 1, g.OH = 6, g.OW = 5;
  cpu::set_conv_blocked_enabled(false);
  CHECK_FALSE(cpu::conv2d_blocked_applies(g));
  cpu::set_conv_blocked_enabled(true);
  CHECK(cpu::conv2d_blocked_applies(g));
  g.groups = 2;
  CHECK_FALSE(cpu::conv2d_blocked_applies(g));  // grouped convs other than depthwise stay on im2col + GEMM
  g.groups = 16;
  CHECK(cpu::conv2d_blocked_applies(g));
}

TEST_CASE("conv2d: float32 on the blocked kernels in pieces of images equals im2col + GEMM") {
  // maps of 16 x 520 x 520 floats (> 4M a image): run_on_blocked converts one image at a time
  // (conv_blocked_nchw.cpp) and the direct kernel pads one image at a time (conv_blocked.cpp);
  // forward, input and weight gradients of a 3x3 stride-1 (Winograd) and a stride-2 (direct) conv
  // against the same float32 conv on im2col + GEMM
  struct RestoreBlocked {
    ~RestoreBlocked() { cpu::set_conv_blocked_enabled(true); }
  } restore;
  for (int64_t stride : {1, 2}) {
    Conv2dGeometry g;
    g.N = 3, g.C = 16, g.H = 520, g.W = 520, g.OC = 17, g.KH = g.KW = 3, g.PH = g.PW = 1;
    g.SH = g.SW = stride, g.OH = g.OW = (520 + 2 - 3) / stride + 1;
    manual_seed(uint64_t(31 + stride));
    Tensor x = randn({g.N * g.C * g.H * g.W}), w = randn({g.OC * g.C * 9}), b = randn({g.OC});
    Tensor dy = randn({g.N * g.OC * g.OH * g.OW});
    Tensor y[2], dx[2], dw[2];
    for (int blocked = 0; blocked < 2; ++blocked) {
      cpu::set_conv_blocked_enabled(blocked == 1);
      y[blocked] = empty({g.N * g.OC * g.OH * g.OW}), dx[blocked] = empty(x.shape()), dw[blocked] = empty(w.shape());
      cpu::conv2d_forward<float>(g, x.data<float>(), w.data<float>(), b.data<float>(), y[blocked].data<float>());
      cpu::conv2d_backward<float>(g, dy.data<float>(), x.data<float>(), w.data<float>(), dx[blocked].data<float>(),
                                  dw[blocked].data<float>(), nullptr);
    }
    const std::string label = "stride " + std::to_string(stride);
    CHECK_CLOSE(y[1], y[0], 2e-4, 1e-4, "forward in pieces, " + label);
    CHECK_CLOSE(dx[1], dx[0], 2e-4, 1e-4, "dx, " + label);
    CHECK_CLOSE(dw[1], dw[0], 0.3, 1e-4, "dw, " + label);  // sums of up to 811k products
  }
}

TEST_CASE("conv2d: chunked im2col gives the same forward and backward as the whole batch") {
  // col_budget (backward_col_budget) sets how many images share one im2col + GEMM: every chunk size must give the
  // reference forward and the same backward (1x1 stride-1 convs skip im2col and ignore it)
  Generator gen(13);
  for (int trial = 0; trial < 24; ++trial) {
    Conv2dGeometry g = random_geometry(gen);
    g.N += 4;
    manual_seed(uint64_t(900 + trial));
    const int64_t xn = g.N * g.C * g.H * g.W, wn = g.OC * (g.C / g.groups) * g.KH * g.KW;
    const int64_t yn = g.N * g.OC * g.OH * g.OW;
    Tensor x = randn({xn}, DType::Float64), w = randn({wn}, DType::Float64), b = randn({g.OC}, DType::Float64);
    Tensor dy = randn({yn}, DType::Float64);
    Tensor expected = empty({yn}, DType::Float64);
    cpu::conv2d_reference<double>(g, x.data<double>(), w.data<double>(), b.data<double>(), expected.data<double>());
    Tensor dx_ref = empty({xn}, DType::Float64), dw_ref = empty({wn}, DType::Float64);
    cpu::conv2d_backward<double>(g, dy.data<double>(), x.data<double>(), w.data<double>(), dx_ref.data<double>(),
                                 dw_ref.data<double>(), nullptr);
    const int64_t per_image = g.C * g.KH * g.KW * g.OH * g.OW;
    for (int64_t images : {1, 2, 3}) {
      Conv2dGeometry gc = g;
      gc.col_budget = images * per_image;
      gc.backward_col_budget = images * per_image;
      Tensor y = empty({yn}, DType::Float64), dx = empty({xn}, DType::Float64), dw = empty({wn}, DType::Float64);
      cpu::conv2d_forward<double>(gc, x.data<double>(), w.data<double>(), b.data<double>(), y.data<double>());
      cpu::conv2d_backward<double>(gc, dy.data<double>(), x.data<double>(), w.data<double>(), dx.data<double>(),
                                   dw.data<double>(), nullptr);
      const std::string label = geometry_str(g) + " chunk=" + std::to_string(images);
      CHECK_CLOSE(y, expected, 1e-12, 0, "conv2d forward " + label);
      CHECK_CLOSE(dx, dx_ref, 1e-12, 0, "conv2d dx " + label);
      CHECK_CLOSE(dw, dw_ref, 1e-11, 1e-12, "conv2d dw " + label);
    }
  }
}

TEST_CASE("conv2d: backward is the adjoint of forward on random batches") {
  // conv is bilinear in (x, w): <dy, conv(x, w)> = <dx, x> = <dw, w> with (dx, dw) = backward(dy)
  Generator gen(11);
  for (int trial = 0; trial < 30; ++trial) {
    Conv2dGeometry g = random_geometry(gen);
    g.N += 3;  // batches: the (OC, N, L) permutes
    manual_seed(uint64_t(500 + trial));
    Tensor x = randn({g.N, g.C, g.H, g.W}, DType::Float64);
    Tensor w = randn({g.OC, g.C / g.groups, g.KH, g.KW}, DType::Float64);
    Tensor y = ops::conv2d(x, w, Tensor(), options_of(g));
    Tensor dy = randn(y.shape(), DType::Float64);
    ops::Conv2dGrads d = ops::conv2d_backward(dy, x, w, true, options_of(g));
    const double ydy = ops::sum(ops::mul(y, dy)).item();
    const double tol = 1e-10 * (1 + std::abs(ydy));
    CHECK_MESSAGE(std::abs(ops::sum(ops::mul(d.dx, x)).item() - ydy) <= tol, "dx adjoint " << geometry_str(g));
    CHECK_MESSAGE(std::abs(ops::sum(ops::mul(d.dweight, w)).item() - ydy) <= tol, "dw adjoint " << geometry_str(g));
    CHECK_CLOSE(d.dbias, ops::sum(dy, {0, 2, 3}), 1e-10, 1e-12, "db " + geometry_str(g));
  }
}

TEST_CASE("conv2d: output_mask skips gradients, non-contiguous inputs, empty batch") {
  manual_seed(3);
  Tensor x = randn({2, 3, 5, 5}, DType::Float64), w = randn({4, 3, 3, 3}, DType::Float64);
  ops::Conv2dOptions o{{1, 1}, {1, 1}, {1, 1}, 1};
  Tensor dy = randn({2, 4, 5, 5}, DType::Float64);
  ops::Conv2dGrads all = ops::conv2d_backward(dy, x, w, true, o);
  ops::Conv2dGrads some = ops::conv2d_backward(dy, x, w, true, o, {false, true, false});
  CHECK_FALSE(some.dx.defined());
  CHECK_FALSE(some.dbias.defined());
  CHECK_CLOSE(some.dweight, all.dweight, 0, 0, "conv2d dw with output_mask");

  // a transposed (non-contiguous) view gives the same result as its contiguous copy
  Tensor xt = ops::transpose(randn({2, 3, 5, 5}, DType::Float64), 2, 3);
  CHECK_FALSE(xt.is_contiguous());
  CHECK_CLOSE(ops::conv2d(xt, w, Tensor(), o), ops::conv2d(xt.contiguous(), w, Tensor(), o), 0, 0,
              "conv2d non-contiguous x");

  Tensor y0 = ops::conv2d(empty({0, 3, 5, 5}), randn({4, 3, 3, 3}), Tensor(), o);
  CHECK(y0.shape() == Shape{0, 4, 5, 5});
}

TEST_CASE("conv2d: float32 and float64 agree") {
  manual_seed(4);
  Tensor x = randn({2, 4, 9, 8}, DType::Float64), w = randn({6, 2, 3, 3}, DType::Float64);
  Tensor b = randn({6}, DType::Float64);
  ops::Conv2dOptions o{{2, 1}, {1, 2}, {1, 2}, 2};
  Tensor y64 = ops::conv2d(x, w, b, o);
  Tensor y32 = ops::conv2d(x.to(DType::Float32), w.to(DType::Float32), b.to(DType::Float32), o);
  CHECK(y32.dtype() == DType::Float32);
  CHECK_CLOSE(y32.to(DType::Float64), y64, 1e-5, 1e-5, "conv2d float32 vs float64");
}

TEST_CASE("conv2d: errors name the op and the shapes") {
  Tensor x = zeros({1, 4, 5, 5});
  CHECK_THROWS_WITH_AS(ops::conv2d(x, zeros({2, 3, 3, 3}), Tensor()),
                       doctest::Contains("conv2d: weight expects 3 input channels"), Error);
  CHECK_THROWS_WITH_AS(ops::conv2d(x, zeros({3, 4, 3, 3}), Tensor(), {{1, 1}, {0, 0}, {1, 1}, 3}),
                       doctest::Contains("conv2d: groups=3 does not divide the 4 input channels"), Error);
  CHECK_THROWS_WITH_AS(ops::conv2d(x, zeros({3, 2, 3, 3}), Tensor(), {{1, 1}, {0, 0}, {1, 1}, 2}),
                       doctest::Contains("conv2d: groups=2 does not divide the 3 output channels"), Error);
  CHECK_THROWS_WITH_AS(ops::conv2d(x, zeros({2, 4, 7, 7}), Tensor()),
                       doctest::Contains("conv2d: kernel 7x7 (dilation 1x1) is larger than padded input 5x5"), Error);
  CHECK_THROWS_WITH_AS(ops::conv2d(x, zeros({2, 4, 3, 3}), Tensor(), {{1, 1}, {0, 0}, {3, 3}, 1}),
                       doctest::Contains("kernel 7x7 (dilation 3x3) is larger than padded input 5x5"), Error);
  CHECK_THROWS_WITH_AS(ops::conv2d(x, zeros({2, 4, 3, 3}), zeros({3})),
                       doctest::Contains("conv2d: bias must be 1-d with 2 elements"), Error);
  CHECK_THROWS_WITH_AS(ops::conv2d(zeros({4, 5, 5}), zeros({2, 4, 3, 3}), Tensor()),
                       doctest::Contains("conv2d: x must be 4-d"), Error);
  CHECK_THROWS_WITH_AS(ops::conv2d(x, zeros({2, 4, 3, 3}, DType::Float64), Tensor()),
                       doctest::Contains("conv2d: dtype mismatch"), Error);
  CHECK_THROWS_WITH_AS(ops::conv2d(x, zeros({2, 4, 3, 3}), Tensor(), {{0, 1}, {0, 0}, {1, 1}, 1}),
                       doctest::Contains("conv2d: stride must be >= 1"), Error);
  CHECK_THROWS_WITH_AS(ops::conv2d(x.to(DType::Int64), zeros({2, 4, 3, 3}), Tensor()),
                       doctest::Contains("conv2d: x has dtype int64"), Error);
  CHECK_THROWS_WITH_AS(ops::conv2d_backward(zeros({1, 2, 4, 4}), x, zeros({2, 4, 3, 3}), false, {}),
                       doctest::Contains("conv2d_backward: dy [1, 2, 4, 4] does not match the output shape [1, 2, 3, 3]"),
                       Error);
}
