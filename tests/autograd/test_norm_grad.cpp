// Gradient tests of batch_norm (autograd/norm.cpp, tensor/cpu/norm.cpp): a hand-worked backward,
// float64 gradchecks of x, weight and bias for every row of tests/cases/norm.h (training: through the
// batch statistics; eval: running stats constant), and the float32 gradients against PyTorch.
#include <cmath>

#include "cases/norm.h"
#include "test_util.h"

using namespace fk;

TEST_CASE("batch_norm: hand-worked backward through the batch statistics") {
  // one channel 1,2,3,4: mean 2.5, invstd 1/sqrt(1.25), xhat = -1.3416, -0.4472, 0.4472, 1.3416
  Tensor x = tensor({1, 2, 3, 4}, {4, 1}, DType::Float64).requires_grad_();
  Tensor w = tensor({1}, DType::Float64).requires_grad_();
  Tensor b = tensor({0}, DType::Float64).requires_grad_();
  Tensor y = batch_norm(x, w, b, Tensor(), Tensor(), /*training=*/true, 0.1, /*eps=*/0.0);
  y.backward(tensor({1, 0, 0, 0}, {4, 1}, DType::Float64));
  // dx = invstd * (dy - mean(dy) - xhat * mean(dy * xhat)) = invstd * (0.3, -0.4, -0.1, 0.2)
  double is = 1 / std::sqrt(1.25);
  CHECK_CLOSE(x.grad(), tensor({0.3 * is, -0.4 * is, -0.1 * is, 0.2 * is}, {4, 1}, DType::Float64), 1e-12, 0, "dx");
  CHECK_CLOSE(w.grad(), tensor({-1.5 * is}, DType::Float64), 1e-12, 0, "dweight = sum dy * xhat");
  CHECK_CLOSE(b.grad(), tensor({1}, DType::Float64), 1e-12, 0, "dbias = sum dy");
}

TEST_CASE("batch_norm: hand-worked backward in eval is a per-channel scale") {
  Tensor x = tensor({1, 2, 3, 4}, {2, 2}, DType::Float64).requires_grad_();
  Tensor w = tensor({3, -1}, DType::Float64).requires_grad_();
  Tensor rm = tensor({1, 2}, DType::Float64), rv = tensor({4, 0.25}, DType::Float64);
  Tensor y = batch_norm(x, w, Tensor(), rm, rv, /*training=*/false, 0.1, 0.0);
  y.backward(ones({2, 2}, DType::Float64));
  // dx = w * invstd: 3/2 and -1/0.5; dweight = sum xhat: (0 + 1) and (0 + 4)
  CHECK_CLOSE(x.grad(), tensor({1.5, -2, 1.5, -2}, {2, 2}, DType::Float64), 1e-12, 0, "dx");
  CHECK_CLOSE(w.grad(), tensor({1, 4}, DType::Float64), 1e-12, 0, "dweight");
}

TEST_CASE("batch_norm: gradcheck of x, weight and bias") {
  for (const auto& c : test::batch_norm_cases) {
    SUBCASE(c.name) {
      manual_seed(11);
      int64_t C = c.x[1];
      Tensor x = test::leaf(c.x);
      Tensor rm = ops::mul(randn({C}, DType::Float64), 0.5);
      Tensor rv = ops::add(rand({C}, DType::Float64), 0.5);
      std::vector<Tensor> inputs{x};
      if (c.affine) {
        inputs.push_back(test::leaf({C}));
        inputs.push_back(test::leaf({C}));
      }
      // training updates running stats in place every call: give it throwaway copies (its output
      // does not read them); eval reads them as constants
      auto f = [&](const std::vector<Tensor>& in) {
        Tensor w = c.affine ? in[1] : Tensor(), b = c.affine ? in[2] : Tensor();
        Tensor m = c.training ? rm.clone() : rm, v = c.training ? rv.clone() : rv;
        return batch_norm(in[0], w, b, m, v, c.training, c.momentum, c.eps);
      };
      CHECK_GRADCHECK(f, inputs);
    }
  }
}

TEST_CASE("batch_norm: float32 gradients match PyTorch") {
  for (const auto& c : test::batch_norm_cases) {
    SUBCASE(c.name) {
      auto fx = [&](const char* what) { return test::fixture(std::string("norm/") + c.name + "_" + what + ".npy"); };
      Tensor x = fx("x").requires_grad_();
      Tensor w = c.affine ? fx("weight").requires_grad_() : Tensor();
      Tensor b = c.affine ? fx("bias").requires_grad_() : Tensor();
      Tensor y = batch_norm(x, w, b, fx("running_mean"), fx("running_var"), c.training, c.momentum, c.eps);
      y.backward(fx("dy"));
      std::string label = std::string("batch_norm(") + c.name + ", x=" + shape_str(c.x) + ")";
      CHECK_CLOSE(x.grad(), fx("dx"), 1e-5, 1e-5, label + " dx");
      if (c.affine) {
        CHECK_CLOSE(w.grad(), fx("dweight"), 1e-5, 1e-5, label + " dweight");
        CHECK_CLOSE(b.grad(), fx("dbias"), 1e-5, 1e-5, label + " dbias");
      }
    }
  }
}

TEST_CASE("batch_norm: running stats are buffers, never differentiated") {
  manual_seed(5);
  Tensor x = test::leaf({4, 3});
  Tensor rm = zeros({3}, DType::Float64), rv = ones({3}, DType::Float64);
  Tensor y = batch_norm(x, Tensor(), Tensor(), rm, rv, true);
  sum(mul(y, y)).backward();
  CHECK(x.grad().defined());
  CHECK(!rm.requires_grad());
  CHECK(!rm.grad().defined());
  CHECK_CLOSE(rm, ops::mul(ops::mean(x.detach(), {0}), 0.1), 1e-12, 0,
              "running_mean after one step with momentum 0.1");
}
