// GPU vs CPU for conv2d and conv2d_backward (cuda/conv.cu) on every row of tests/cases/conv.h, for both
// backends (cuDNN and native im2col + cuBLAS) and between them: float32 within 1e-4 of the output's scale
// (no TF32 on either backend), float64 within 1e-10. Also: non-contiguous inputs, output_mask skipping
// dx, small-integer inputs (exact sums: the native backend is bit-identical to the CPU; cuDNN may pick
// Winograd or FFT algorithms, whose transforms round, so it gets the float tolerance), an empty batch,
// and the FK_CONV error.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "cases/conv.h"
#include "cuda/conv.h"
#include "tensor/creation.h"
#include "tensor/shape_ops.h"
#include "test_util.h"

#if defined(FK_WITH_CUDA)

using namespace fk;

namespace {

const Device kGpu = Device::cuda();

// Pins a backend for one scope, then returns to reading FK_CONV.
struct BackendScope {
  explicit BackendScope(cuda::ConvBackend b) { cuda::set_conv_backend(b); }
  ~BackendScope() { cuda::set_conv_backend(cuda::ConvBackend::FromEnv); }
};

const char* backend_name(cuda::ConvBackend b) { return b == cuda::ConvBackend::Cudnn ? "cudnn" : "native"; }

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector<double>()) m = std::max(m, std::abs(v));
  return m;
}

// |got - ref| <= tol * max(1, max|ref|): float32 1e-4, float64 1e-10 (relative to the output's scale)
void check_scaled(const Tensor& got, const Tensor& ref, DType dt, const std::string& label) {
  REQUIRE(got.defined());
  const double tol = dt == DType::Float32 ? 1e-4 : 1e-10;
  CHECK_CLOSE(got.to(Device::cpu()), ref, tol * std::max(1.0, max_abs(ref)), 0, label);
}

std::string label_of(const test::ConvCase& c, cuda::ConvBackend b, DType dt) {
  return std::string("conv2d ") + c.name + " [" + backend_name(b) + ", " + dtype_name(dt) + "] (x=" + shape_str(c.x) +
         ", w=" + shape_str(c.w) + ", g=" + std::to_string(c.opts.groups) + ")";
}

struct Outputs {
  Tensor y;
  ops::Conv2dGrads grads;
};

// forward and full backward on the GPU with backend b; results copied back to the CPU
Outputs run_gpu(const test::ConvCase& c, cuda::ConvBackend b, const Tensor& x, const Tensor& w, const Tensor& bias,
                const Tensor& dy) {
  BackendScope scope(b);
  Tensor bg = bias.defined() ? bias.to(kGpu) : Tensor();
  Outputs o;
  o.y = ops::conv2d(x.to(kGpu), w.to(kGpu), bg, c.opts).to(Device::cpu());
  ops::Conv2dGrads g = ops::conv2d_backward(dy.to(kGpu), x.to(kGpu), w.to(kGpu), c.bias, c.opts);
  o.grads.dx = g.dx.to(Device::cpu());
  o.grads.dweight = g.dweight.to(Device::cpu());
  if (c.bias) o.grads.dbias = g.dbias.to(Device::cpu());
  CHECK(g.dbias.defined() == c.bias);
  return o;
}

const cuda::ConvBackend kBackends[] = {cuda::ConvBackend::Cudnn, cuda::ConvBackend::Native};

}  // namespace

TEST_CASE("conv2d: GPU equals CPU on every conv case, forward and backward, both backends") {
  manual_seed(31);
  for (DType dt : {DType::Float32, DType::Float64})
    for (const test::ConvCase& c : test::conv_cases) {
      SUBCASE((std::string(c.name) + " " + dtype_name(dt)).c_str()) {
        Tensor x = randn(c.x, dt), w = randn(c.w, dt);
        Tensor bias = c.bias ? randn({c.w[0]}, dt) : Tensor();
        Tensor y = ops::conv2d(x, w, bias, c.opts);
        Tensor dy = randn(y.shape(), dt);
        ops::Conv2dGrads ref = ops::conv2d_backward(dy, x, w, c.bias, c.opts);
        Outputs got[2];
        for (int i = 0; i < 2; ++i) {
          const cuda::ConvBackend b = kBackends[i];
          const std::string label = label_of(c, b, dt);
          got[i] = run_gpu(c, b, x, w, bias, dy);
          check_scaled(got[i].y, y, dt, label + " forward");
          check_scaled(got[i].grads.dx, ref.dx, dt, label + " dx");
          check_scaled(got[i].grads.dweight, ref.dweight, dt, label + " dweight");
          if (c.bias) check_scaled(got[i].grads.dbias, ref.dbias, dt, label + " dbias");
        }
        // the two backends against each other
        const std::string both = std::string("conv2d ") + c.name + " cudnn vs native " + dtype_name(dt);
        check_scaled(got[0].y, got[1].y, dt, both + " forward");
        check_scaled(got[0].grads.dx, got[1].grads.dx, dt, both + " dx");
        check_scaled(got[0].grads.dweight, got[1].grads.dweight, dt, both + " dweight");
      }
    }
}

TEST_CASE("conv2d: non-contiguous GPU inputs") {
  manual_seed(32);
  for (cuda::ConvBackend b : kBackends) {
    SUBCASE(backend_name(b)) {
      BackendScope scope(b);
      // x stored as (N, H, W, C) and viewed as NCHW; w as a transposed view; dy a stepped slice
      Tensor x_nhwc = randn({2, 7, 6, 4}, DType::Float64), w_t = randn({3, 4, 3, 5}, DType::Float64);
      Tensor x = ops::permute(x_nhwc, {0, 3, 1, 2});  // (2, 4, 7, 6)
      Tensor w = ops::transpose(w_t, 0, 3);           // (5, 4, 3, 3)
      Tensor bias = randn({5}, DType::Float64);
      ops::Conv2dOptions o{{1, 1}, {1, 1}, {1, 1}, 1};
      Tensor dy_wide = randn({2, 5, 7, 12}, DType::Float64);
      Tensor dy = ops::slice(dy_wide, 3, 0, 12, 2);  // (2, 5, 7, 6)
      Tensor xg = ops::permute(x_nhwc.to(kGpu), {0, 3, 1, 2}), wg = ops::transpose(w_t.to(kGpu), 0, 3);
      Tensor dyg = ops::slice(dy_wide.to(kGpu), 3, 0, 12, 2);
      REQUIRE_FALSE(xg.is_contiguous());
      check_scaled(ops::conv2d(xg, wg, bias.to(kGpu), o), ops::conv2d(x, w, bias, o), DType::Float64, "conv2d permuted");
      ops::Conv2dGrads ref = ops::conv2d_backward(dy, x, w, true, o);
      ops::Conv2dGrads got = ops::conv2d_backward(dyg, xg, wg, true, o);
      check_scaled(got.dx, ref.dx, DType::Float64, "conv2d permuted dx");
      check_scaled(got.dweight, ref.dweight, DType::Float64, "conv2d permuted dweight");
      check_scaled(got.dbias, ref.dbias, DType::Float64, "conv2d permuted dbias");
    }
  }
}

TEST_CASE("conv2d: output_mask skips dx on the GPU") {
  manual_seed(33);
  const test::ConvCase& c = test::conv_cases[0];
  for (cuda::ConvBackend b : kBackends) {
    SUBCASE(backend_name(b)) {
      BackendScope scope(b);
      Tensor x = randn(c.x, DType::Float64), w = randn(c.w, DType::Float64);
      Tensor dy = randn(ops::conv2d(x, w, Tensor(), c.opts).shape(), DType::Float64);
      ops::Conv2dGrads ref = ops::conv2d_backward(dy, x, w, true, c.opts);
      ops::Conv2dGrads got = ops::conv2d_backward(dy.to(kGpu), x.to(kGpu), w.to(kGpu), true, c.opts, {false, true, true});
      CHECK_FALSE(got.dx.defined());
      check_scaled(got.dweight, ref.dweight, DType::Float64, "conv2d mask dweight");
      check_scaled(got.dbias, ref.dbias, DType::Float64, "conv2d mask dbias");
      ops::Conv2dGrads only_dx =
          ops::conv2d_backward(dy.to(kGpu), x.to(kGpu), w.to(kGpu), true, c.opts, {true, false, false});
      CHECK_FALSE(only_dx.dweight.defined());
      CHECK_FALSE(only_dx.dbias.defined());
      check_scaled(only_dx.dx, ref.dx, DType::Float64, "conv2d mask dx only");
    }
  }
}

TEST_CASE("conv2d: small-integer inputs, native backend bit-identical to the CPU") {
  for (const test::ConvCase& c : test::conv_cases) {
    SUBCASE(c.name) {
      Tensor x = randint(-3, 4, c.x).to(DType::Float32), w = randint(-3, 4, c.w).to(DType::Float32);
      Tensor bias = c.bias ? randint(-3, 4, {c.w[0]}).to(DType::Float32) : Tensor();
      Tensor y = ops::conv2d(x, w, bias, c.opts);
      Tensor dy = randint(-3, 4, y.shape()).to(DType::Float32);
      ops::Conv2dGrads ref = ops::conv2d_backward(dy, x, w, c.bias, c.opts);
      Outputs native = run_gpu(c, cuda::ConvBackend::Native, x, w, bias, dy);
      CHECK_CLOSE(native.y, y, 0, 0, std::string(c.name) + " native integers forward");
      CHECK_CLOSE(native.grads.dx, ref.dx, 0, 0, std::string(c.name) + " native integers dx");
      CHECK_CLOSE(native.grads.dweight, ref.dweight, 0, 0, std::string(c.name) + " native integers dweight");
      if (c.bias) CHECK_CLOSE(native.grads.dbias, ref.dbias, 0, 0, std::string(c.name) + " native integers dbias");
      Outputs cudnn = run_gpu(c, cuda::ConvBackend::Cudnn, x, w, bias, dy);
      check_scaled(cudnn.y, y, DType::Float32, std::string(c.name) + " cudnn integers forward");
      check_scaled(cudnn.grads.dx, ref.dx, DType::Float32, std::string(c.name) + " cudnn integers dx");
    }
  }
}

TEST_CASE("conv2d: a MobileFaceNet-sized depthwise conv on the GPU, both backends") {
  // 64 channels, groups == C, 3x3 stride 2 on 56x56 maps: many groups in one strided-batched GEMM
  manual_seed(34);
  Tensor x = randn({4, 64, 56, 56}), w = randn({64, 1, 3, 3});
  ops::Conv2dOptions o{{2, 2}, {1, 1}, {1, 1}, 64};
  Tensor y = ops::conv2d(x, w, Tensor(), o);
  Tensor dy = randn(y.shape());
  ops::Conv2dGrads ref = ops::conv2d_backward(dy, x, w, false, o);
  for (cuda::ConvBackend b : kBackends) {
    SUBCASE(backend_name(b)) {
      BackendScope scope(b);
      check_scaled(ops::conv2d(x.to(kGpu), w.to(kGpu), Tensor(), o), y, DType::Float32, "depthwise forward");
      ops::Conv2dGrads g = ops::conv2d_backward(dy.to(kGpu), x.to(kGpu), w.to(kGpu), false, o);
      check_scaled(g.dx, ref.dx, DType::Float32, "depthwise dx");
      // dweight sums 4*28*28 products: scale the tolerance by that length's square root
      CHECK_CLOSE(g.dweight.to(Device::cpu()), ref.dweight, 1e-5 * std::sqrt(4.0 * 28 * 28) * max_abs(ref.dweight), 0,
                  "depthwise dweight");
    }
  }
}

TEST_CASE("conv2d: an empty batch gives empty outputs and zero weight gradients on the GPU") {
  for (cuda::ConvBackend b : kBackends) {
    SUBCASE(backend_name(b)) {
      BackendScope scope(b);
      Tensor x = zeros({0, 3, 5, 5}, DType::Float32, kGpu), w = randn({4, 3, 3, 3}).to(kGpu);
      Tensor bias = randn({4}).to(kGpu);
      Tensor y = ops::conv2d(x, w, bias, {});
      CHECK(y.shape() == Shape{0, 4, 3, 3});
      ops::Conv2dGrads g = ops::conv2d_backward(zeros({0, 4, 3, 3}, DType::Float32, kGpu), x, w, true, {});
      CHECK(g.dx.shape() == Shape{0, 3, 5, 5});
      CHECK(max_abs(g.dweight.to(Device::cpu())) == 0);
      CHECK(max_abs(g.dbias.to(Device::cpu())) == 0);
    }
  }
}

TEST_CASE("conv2d: FK_CONV selects the backend and a bad value is a clear error") {
  const char* old = std::getenv("FK_CONV");
  const std::string saved = old ? old : "";
  cuda::set_conv_backend(cuda::ConvBackend::FromEnv);
  unsetenv("FK_CONV");
  CHECK(cuda::conv_backend() == cuda::ConvBackend::Cudnn);  // the default
  setenv("FK_CONV", "native", 1);
  CHECK(cuda::conv_backend() == cuda::ConvBackend::Native);
  setenv("FK_CONV", "cudnn", 1);
  CHECK(cuda::conv_backend() == cuda::ConvBackend::Cudnn);
  setenv("FK_CONV", "winograd", 1);
  Tensor x = randn({1, 2, 4, 4}).to(kGpu), w = randn({3, 2, 3, 3}).to(kGpu);
  try {
    ops::conv2d(x, w, Tensor(), {});
    FAIL("conv2d ran with FK_CONV=winograd");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("FK_CONV=winograd") != std::string::npos);
    CHECK(msg.find("cudnn") != std::string::npos);
    CHECK(msg.find("native") != std::string::npos);
  }
  {
    BackendScope scope(cuda::ConvBackend::Native);  // a pinned backend ignores the variable
    CHECK(ops::conv2d(x, w, Tensor(), {}).shape() == Shape{1, 3, 2, 2});
  }
  if (old)
    setenv("FK_CONV", saved.c_str(), 1);
  else
    unsetenv("FK_CONV");
}

TEST_CASE("conv2d: mixed CPU and GPU arguments are refused") {
  Tensor x = randn({1, 2, 4, 4}), w = randn({3, 2, 3, 3});
  CHECK_THROWS_AS(ops::conv2d(x.to(kGpu), w, Tensor(), {}), Error);
  CHECK_THROWS_AS(ops::conv2d(x.to(kGpu), w.to(kGpu), randn({3}), {}), Error);
}

#endif  // FK_WITH_CUDA
