// Gradient tests of prelu, softmax, log_softmax, dropout and normalize (autograd/activation.cpp):
// hand-worked backwards and float64 gradchecks of every input and parameter over the rows of
// tests/cases/activation.h.
#include <cmath>

#include "cases/activation.h"
#include "test_util.h"

using namespace fk;

namespace {

// A float64 leaf from randn with every |value| >= 0.1: no input sits at prelu's kink at 0.
Tensor leaf_away_from_zero(const Shape& shape) {
  auto v = randn(shape, DType::Float64).to_vector<double>();
  for (double& e : v) e += e >= 0 ? 0.1 : -0.1;
  return tensor(v, shape, DType::Float64).requires_grad_();
}

}  // namespace

// ---- prelu

TEST_CASE("prelu: hand-worked backward") {
  Tensor x = tensor({-2, 3, 1, -4}, {2, 2}, DType::Float64).requires_grad_();
  Tensor w = tensor({0.25, 0.5}, DType::Float64).requires_grad_();
  prelu(x, w).backward(ones({2, 2}, DType::Float64));
  // dx = 1 where x > 0, else the channel's slope; dw[c] = sum of the channel's negative x
  CHECK_CLOSE(x.grad(), tensor({0.25, 1, 1, 0.5}, {2, 2}, DType::Float64), 0, 0, "dx");
  CHECK_CLOSE(w.grad(), tensor({-2, -4}, DType::Float64), 0, 0, "dweight");
}

TEST_CASE("prelu: gradcheck of x and weight") {
  for (const auto& c : test::prelu_cases) {
    SUBCASE(c.name) {
      manual_seed(21);
      Tensor x = leaf_away_from_zero(c.x);
      Tensor w = test::leaf({c.weights});
      CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return prelu(in[0], in[1]); }, {x, w});
    }
  }
}

// ---- softmax / log_softmax

TEST_CASE("softmax: hand-worked backward") {
  Tensor x = tensor({1, 2, 3}, DType::Float64).requires_grad_();
  softmax(x, 0).backward(tensor({1, 0, 0}, DType::Float64));
  // dx = y * (dy - y0): (y0 (1 - y0), -y0 y1, -y0 y2)
  CHECK_CLOSE(x.grad(), tensor({0.08192506906499322, -0.02203304452017429, -0.059892024544818914}, DType::Float64),
              1e-12, 0, "softmax dx");
  x.zero_grad();
  log_softmax(x, 0).backward(ones({3}, DType::Float64));
  // dx = dy - softmax * sum(dy) = 1 - 3 softmax
  CHECK_CLOSE(x.grad(), tensor({0.7299082804888587, 0.2658145868356071, -0.9957228673244654}, DType::Float64), 1e-12,
              0, "log_softmax dx");
}

TEST_CASE("softmax: gradcheck of softmax and log_softmax") {
  for (const auto& c : test::softmax_cases) {
    SUBCASE(c.name) {
      manual_seed(22);
      Tensor x = test::leaf(c.x);
      if (c.large) {  // logits around +-1000
        Tensor big = ops::mul(x.detach(), 1000.0);
        x = big.clone().requires_grad_();
      }
      int64_t dim = c.dim;
      // logits around +-1000 saturate softmax: its gradient is zero there, and must be
      const bool zero_ok = c.large;
      CHECK_GRADCHECK([dim](const std::vector<Tensor>& in) { return softmax(in[0], dim); }, {x}, 1e-6, 1e-5, 1e-3,
                      zero_ok);
      CHECK_GRADCHECK([dim](const std::vector<Tensor>& in) { return log_softmax(in[0], dim); }, {x});
    }
  }
}

// ---- dropout

TEST_CASE("dropout: the gradient is the scaled mask") {
  manual_seed(9);
  Tensor x = test::leaf({50});
  manual_seed(10);
  Tensor y = dropout(x, 0.4, true);
  y.backward(ones({50}, DType::Float64));
  manual_seed(10);
  auto [y2, mask] = ops::dropout(x.detach(), 0.4, true);
  CHECK_CLOSE(x.grad(), mask, 0, 0, "dropout dx = mask");
  CHECK_CLOSE(y, y2, 0, 0, "dropout y");
}

TEST_CASE("dropout: gradcheck with a fixed seed") {
  for (Shape shape : {Shape{20}, Shape{4, 6}, Shape{2, 3, 4, 4}}) {
    SUBCASE(shape_str(shape).c_str()) {
      manual_seed(23);
      Tensor x = test::leaf(shape);
      // reseed inside f: the same mask in every evaluation
      auto f = [](const std::vector<Tensor>& in) {
        manual_seed(1234);
        return dropout(in[0], 0.3, true);
      };
      CHECK_GRADCHECK(f, {x});
      // eval: identity, gradient 1
      CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return mul(dropout(in[0], 0.3, false), 1.0); }, {x});
    }
  }
}

// ---- normalize

TEST_CASE("normalize: hand-worked backward, and 1/eps at an all-zero slice like PyTorch") {
  Tensor x = tensor({3, 4}, DType::Float64).requires_grad_();
  normalize(x, 0).backward(tensor({1, 0}, DType::Float64));
  // d(x0/|x|)/dx = (e0 - y0 y) / |x| = ((1 - 0.36), -0.48) / 5
  CHECK_CLOSE(x.grad(), tensor({0.128, -0.096}, DType::Float64), 1e-12, 0, "normalize dx");

  Tensor z = zeros({2, 3}, DType::Float64).requires_grad_();
  sum(normalize(z, 1)).backward();
  CHECK_CLOSE(z.grad(), full({2, 3}, 1e12, DType::Float64), 0, 1e-9, "normalize dx at x = 0");
}

TEST_CASE("normalize: gradcheck") {
  for (const auto& c : test::normalize_cases) {
    SUBCASE(c.name) {
      manual_seed(24);
      Tensor x = test::leaf(c.x);
      if (c.eps >= 1.0) x = ops::mul(x.detach(), 0.3).requires_grad_();  // norms on both sides of eps
      // (zero slices are covered above: finite differences step off the kink at 0)
      int64_t dim = c.dim;
      double eps = c.eps;
      auto f = [dim, eps](const std::vector<Tensor>& in) { return normalize(in[0], dim, eps); };
      CHECK_GRADCHECK(f, {x});
    }
  }
}
