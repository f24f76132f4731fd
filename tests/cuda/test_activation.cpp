// CUDA vs CPU: prelu, softmax, log_softmax and dropout (cuda/activation.cu), forward and backward,
// the same random input on both devices. float64 must agree to 1e-10; float32: prelu exactly
// (x and w * x round alike), its dweight sum to 1e-5, softmax to 1e-5 relative. Dropout's masks are
// bit-identical on both devices for the same seed (both draw Philox4x32-10(seed, i)).
#include <cmath>

#include "cases/activation.h"
#include "tensor/shape_ops.h"
#include "test_util.h"

using namespace fk;

namespace {
Tensor gpu(const Tensor& t) { return t.to(Device::cuda()); }
Tensor host(const Tensor& t) { return t.to(Device::cpu()); }
const DType kFloatTypes[] = {DType::Float32, DType::Float64};
double tol(DType dt, double f32) { return dt == DType::Float64 ? 1e-10 : f32; }
}  // namespace

// ---- PReLU

TEST_CASE("prelu: GPU matches CPU forward and backward, shared and per-channel weight") {
  for (DType dt : kFloatTypes) {
    SUBCASE(dtype_name(dt)) {
      manual_seed(501);
      std::vector<test::PreluCase> cases = test::prelu_cases;
      cases.push_back({"prelu_big_channel", {8, 16, 40, 40}, 16});  // 25600 values per channel: several chunks
      cases.push_back({"prelu_big_shared", {4, 8, 64, 64}, 1});
      for (const test::PreluCase& c : cases) {
        Tensor x = randn(c.x, dt), w = rand({c.weights}, dt), dy = randn(c.x, dt);
        Tensor y = ops::prelu(gpu(x), gpu(w));
        CHECK(y.device().is_cuda());
        CHECK_CLOSE(host(y), ops::prelu(x, w), 0, 0, std::string("prelu ") + c.name);
        ops::PreluGrads g = ops::prelu_backward(gpu(dy), gpu(x), gpu(w));
        ops::PreluGrads r = ops::prelu_backward(dy, x, w);
        CHECK_CLOSE(host(g.dx), r.dx, 0, 0, std::string("prelu dx ") + c.name);
        CHECK(g.dweight.shape() == w.shape());
        double scale = std::sqrt(double(x.numel()));  // the dweight sums add up to numel terms
        CHECK_CLOSE(host(g.dweight), r.dweight, tol(dt, 1e-5) * scale, tol(dt, 1e-5), std::string("prelu dweight ") + c.name);
      }
    }
  }
}

TEST_CASE("prelu: non-contiguous input and a 0-d shared weight; backward through autograd") {
  for (DType dt : kFloatTypes) {
    SUBCASE(dtype_name(dt)) {
      manual_seed(502);
      Tensor x = ops::transpose(randn({5, 3, 4}, dt), 0, 2);  // (4, 3, 5), C = 3
      Tensor w = rand({3}, dt);
      Tensor xg = ops::transpose(gpu(ops::transpose(x, 0, 2).contiguous()), 0, 2);
      REQUIRE(!xg.is_contiguous());
      CHECK_CLOSE(host(ops::prelu(xg, gpu(w))), ops::prelu(x, w), 0, 0, "prelu of a transposed input");
      Tensor w0 = scalar_tensor(0.2, dt);
      CHECK_CLOSE(host(ops::prelu(xg, gpu(w0))), ops::prelu(x, w0), 0, 0, "prelu with a 0-d weight");
      // autograd: x and weight leaves on each device
      Tensor xc = x.contiguous().requires_grad_(), wc = w.clone().requires_grad_();
      Tensor xgl = gpu(x.contiguous()).requires_grad_(), wgl = gpu(w).requires_grad_();
      Tensor g = randn(x.shape(), dt);
      fk::prelu(xc, wc).backward(g);
      fk::prelu(xgl, wgl).backward(gpu(g));
      CHECK_CLOSE(host(xgl.grad()), xc.grad(), tol(dt, 1e-6), tol(dt, 1e-6), "prelu autograd dx");
      CHECK_CLOSE(host(wgl.grad()), wc.grad(), tol(dt, 1e-5), tol(dt, 1e-5), "prelu autograd dweight");
    }
  }
}

// ---- softmax / log_softmax

TEST_CASE("softmax, log_softmax: GPU matches CPU forward and backward on every case row") {
  for (DType dt : kFloatTypes) {
    SUBCASE(dtype_name(dt)) {
      manual_seed(503);
      std::vector<test::SoftmaxCase> cases = test::softmax_cases;
      cases.push_back({"softmax_nc_dim0", {300, 10}, 0, false});
      cases.push_back({"softmax_nc_dim1", {10, 300}, 1, false});  // long rows: one block per row
      cases.push_back({"softmax_nc_dim1_1000", {64, 1000}, 1, false});
      cases.push_back({"softmax_nchw_c", {4, 2, 12, 12}, 1, false});  // MTCNN's face / not-face maps
      cases.push_back({"softmax_long_large", {3, 4096}, -1, true});
      for (const test::SoftmaxCase& c : cases) {
        Tensor x = randn(c.x, dt);
        if (c.large) x = ops::mul(x, 1000.0);
        Tensor dy = randn(c.x, dt);
        Tensor xg = gpu(x), dyg = gpu(dy);
        double t = tol(dt, 1e-5);
        std::string label = std::string(c.name) + " x=" + shape_str(c.x) + " dim=" + std::to_string(c.dim) + " " +
                            dtype_name(dt);
        Tensor y = ops::softmax(x, c.dim), ly = ops::log_softmax(x, c.dim);
        Tensor yg = ops::softmax(xg, c.dim), lyg = ops::log_softmax(xg, c.dim);
        CHECK(yg.device().is_cuda());
        CHECK_CLOSE(host(yg), y, t * 1e-2, t, "softmax " + label);
        CHECK_CLOSE(host(lyg), ly, t, t, "log_softmax " + label);
        CHECK_CLOSE(host(ops::softmax_backward(dyg, gpu(y), c.dim)), ops::softmax_backward(dy, y, c.dim), t * 1e-2, t,
                    "softmax_backward " + label);
        CHECK_CLOSE(host(ops::log_softmax_backward(dyg, gpu(ly), c.dim)), ops::log_softmax_backward(dy, ly, c.dim), t,
                    t, "log_softmax_backward " + label);
      }
    }
  }
}

TEST_CASE("softmax: non-contiguous input, 0-d input, and autograd backward") {
  for (DType dt : kFloatTypes) {
    SUBCASE(dtype_name(dt)) {
      manual_seed(504);
      double t = tol(dt, 1e-5);
      Tensor x = randn({7, 300}, dt);
      Tensor xt = ops::transpose(x, 0, 1), xtg = ops::transpose(gpu(x), 0, 1);  // (300, 7), not contiguous
      for (int64_t dim : {0, 1}) {
        CHECK_CLOSE(host(ops::softmax(xtg, dim)), ops::softmax(xt, dim), t * 1e-2, t, "softmax of a transposed input");
        CHECK_CLOSE(host(ops::log_softmax(xtg, dim)), ops::log_softmax(xt, dim), t, t,
                    "log_softmax of a transposed input");
      }
      CHECK(ops::softmax(gpu(scalar_tensor(3.0, dt)), 0).item() == 1.0);
      CHECK(ops::log_softmax(gpu(scalar_tensor(3.0, dt)), -1).item() == 0.0);
      Tensor xc = x.clone().requires_grad_(), xg = gpu(x).requires_grad_();
      Tensor g = randn({7, 300}, dt);
      fk::mul(fk::log_softmax(xc, 1), fk::softmax(xc, 1)).backward(g);
      fk::mul(fk::log_softmax(xg, 1), fk::softmax(xg, 1)).backward(gpu(g));
      CHECK_CLOSE(host(xg.grad()), xc.grad(), t, t, "autograd through softmax and log_softmax");
    }
  }
}

// ---- dropout

TEST_CASE("dropout: GPU and CPU masks are bit-identical for the same seed") {
  for (DType dt : kFloatTypes) {
    SUBCASE(dtype_name(dt)) {
      for (double p : {0.1, 0.5, 0.9, 1.0}) {
        Tensor x = randn({3, 5, 70, 50}, dt);  // 52500 values: many blocks of the launch
        manual_seed(505);
        auto [y, m] = ops::dropout(x, p, true);
        manual_seed(505);
        auto [yg, mg] = ops::dropout(gpu(x), p, true);
        CHECK(mg.device().is_cuda());
        CHECK_CLOSE(host(mg), m, 0, 0, "dropout mask p=" + std::to_string(p));
        CHECK_CLOSE(host(yg), y, 0, 0, "dropout y p=" + std::to_string(p));
        // the generator advanced alike: the next draws agree too
        uint64_t after_gpu = default_generator().next_u64();
        manual_seed(505);
        (void)ops::dropout(x, p, true);
        CHECK(default_generator().next_u64() == after_gpu);
      }
      // a non-contiguous input: the mask follows the logical (row-major) order, as on the CPU
      Tensor x = randn({40, 30}, dt);
      manual_seed(506);
      auto [y, m] = ops::dropout(ops::transpose(x, 0, 1), 0.4, true);
      manual_seed(506);
      auto [yg, mg] = ops::dropout(ops::transpose(gpu(x), 0, 1), 0.4, true);
      CHECK_CLOSE(host(mg), m, 0, 0, "dropout mask of a transposed input");
      CHECK_CLOSE(host(yg), y, 0, 0, "dropout y of a transposed input");
    }
  }
}

TEST_CASE("dropout: on the GPU keeps about 1-p, scales by 1/(1-p), backward is the mask") {
  manual_seed(507);
  int64_t n = 1 << 20;
  Tensor x = gpu(ones({n}));
  auto [y, m] = ops::dropout(x, 0.3, true);
  auto v = host(y).to_vector<double>();
  int64_t kept = 0;
  bool scaled = true;
  for (double e : v) {
    if (e != 0) {
      ++kept;
      scaled = scaled && std::abs(e - 1 / 0.7) < 1e-6;
    }
  }
  CHECK(std::abs(double(kept) / double(n) - 0.7) < 0.003);  // std 0.00045
  CHECK(scaled);
  Tensor xl = gpu(randn({100}, DType::Float64)).requires_grad_();
  manual_seed(508);
  fk::dropout(xl, 0.5, true).backward(gpu(ones({100}, DType::Float64)));
  manual_seed(508);
  auto [y2, mask] = ops::dropout(xl.detach(), 0.5, true);
  CHECK_CLOSE(host(xl.grad()), host(mask), 0, 0, "dropout dx = mask on the GPU");
}
