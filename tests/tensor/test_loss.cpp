// Forward tests of nll_loss (tensor/loss.cpp, tensor/cpu/loss.cpp) and cross_entropy
// (autograd/loss.cpp): hand-worked examples, the PyTorch fixtures of tests/cases/loss.h (incl.
// ignore_index, all targets ignored, logits around +-1000) and the argument errors.
// Gradients: tests/autograd/test_loss_grad.cpp.
#include <cmath>

#include "cases/loss.h"
#include "test_util.h"

using namespace fk;

namespace {

Tensor targets(const std::vector<double>& v) { return tensor(v, DType::Int64); }

}  // namespace

TEST_CASE("nll_loss: hand-worked mean over the kept targets") {
  Tensor logp = tensor({-1, -2, -3, -0.5, -1.5, -2.5}, {2, 3});
  // -(logp[0,2] + logp[1,0]) / 2 = (3 + 0.5) / 2
  CHECK(ops::nll_loss(logp, targets({2, 0})).item() == doctest::Approx(1.75));
  // target 0 ignored: only row 0 counts
  CHECK(ops::nll_loss(logp, targets({2, 0}), /*ignore_index=*/0).item() == doctest::Approx(3.0));
  // every target ignored: 0/0 = NaN, as PyTorch
  CHECK(std::isnan(ops::nll_loss(logp, targets({-100, -100})).item()));
}

TEST_CASE("cross_entropy: hand-worked values, stable for large logits") {
  // two equal logits: -log(1/2)
  CHECK(cross_entropy(tensor({0, 0}, {1, 2}), targets({1})).item() == doctest::Approx(std::log(2.0)));
  // logits 1000 and 0, target 1: log-sum-exp - 0 = 1000 (exp(1000) would overflow)
  CHECK(cross_entropy(tensor({1000, 0}, {1, 2}), targets({1})).item() == doctest::Approx(1000.0));
  CHECK(cross_entropy(tensor({1000, 0}, {1, 2}), targets({0})).item() == doctest::Approx(0.0));
}

TEST_CASE("nll_loss: matches PyTorch (nll_loss and cross_entropy, incl. ignore_index)") {
  for (const auto& c : test::loss_cases) {
    SUBCASE(c.name) {
      auto fx = [&](const char* what) { return test::fixture(std::string("loss/") + c.name + "_" + what + ".npy"); };
      Tensor x = fx("x"), target = fx("target");
      REQUIRE_MESSAGE((x.shape() == Shape{c.N, c.C}), c.name, ": fixture x ", shape_str(x.shape()));
      REQUIRE(target.dtype() == DType::Int64);
      Tensor loss = c.cross_entropy ? cross_entropy(x, target, c.ignore_index) : ops::nll_loss(x, target, c.ignore_index);
      CHECK(loss.dim() == 0);
      CHECK_CLOSE(loss, fx("loss"), 1e-5, 0,
                  std::string(c.cross_entropy ? "cross_entropy(" : "nll_loss(") + c.name + ", x=" + shape_str(x.shape()) +
                      ", ignore_index=" + std::to_string(c.ignore_index) + ")");
      // float64 agrees
      Tensor loss64 = c.cross_entropy ? cross_entropy(x.to(DType::Float64), target, c.ignore_index)
                                      : ops::nll_loss(x.to(DType::Float64), target, c.ignore_index);
      CHECK_CLOSE(loss64.to(DType::Float32), loss, 1e-5, 0, std::string(c.name) + " float64 vs float32");
    }
  }
}

TEST_CASE("nll_loss: rejects bad targets and shapes") {
  Tensor logp = randn({3, 4});
  CHECK_THROWS_WITH_AS(ops::nll_loss(logp, targets({0, 5, 1})),
                       doctest::Contains("nll_loss: target 5 at index 1 is out of bounds for 4 classes"), Error);
  CHECK_THROWS_WITH_AS(ops::nll_loss(logp, targets({0, 1, -1})),
                       doctest::Contains("nll_loss: target -1 at index 2 is out of bounds"), Error);
  CHECK_NOTHROW(ops::nll_loss(logp, targets({0, 1, -1}), /*ignore_index=*/-1));
  CHECK_THROWS_WITH_AS(ops::nll_loss(logp, tensor({0, 1, 2})), doctest::Contains("nll_loss: target must be int64"),
                       Error);
  CHECK_THROWS_WITH_AS(ops::nll_loss(logp, targets({0, 1})),
                       doctest::Contains("nll_loss: target [2] must be (N) for logp [3, 4]"), Error);
  CHECK_THROWS_WITH_AS(ops::nll_loss(randn({3, 4, 2}), targets({0, 1, 2})),
                       doctest::Contains("nll_loss: logp must be (N, C)"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(randn({4}), targets({0})), doctest::Contains("cross_entropy: logits must be (N, C)"),
                       Error);
  CHECK_THROWS_WITH_AS(cross_entropy(logp, targets({0, 4, 1})),
                       doctest::Contains("target 4 at index 1 is out of bounds for 4 classes"), Error);
}
