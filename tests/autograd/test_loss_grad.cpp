// Gradient tests of nll_loss and cross_entropy (autograd/loss.cpp): hand-worked backwards, float64
// gradchecks over the rows of tests/cases/loss.h, and the float32 gradients against PyTorch.
#include <cmath>

#include "cases/loss.h"
#include "test_util.h"

using namespace fk;

TEST_CASE("nll_loss: hand-worked backward") {
  Tensor logp = tensor({-1, -2, -3, -0.5, -1.5, -2.5}, {2, 3}, DType::Float64).requires_grad_();
  Tensor target = tensor({2, 0}, DType::Int64);
  nll_loss(logp, target).backward();
  // -1/2 at each row's target
  CHECK_CLOSE(logp.grad(), tensor({0, 0, -0.5, -0.5, 0, 0}, {2, 3}, DType::Float64), 0, 0, "dlogp");
  logp.zero_grad();
  nll_loss(logp, target, /*ignore_index=*/0).backward();
  CHECK_CLOSE(logp.grad(), tensor({0, 0, -1, 0, 0, 0}, {2, 3}, DType::Float64), 0, 0, "dlogp, target 0 ignored");
}

TEST_CASE("cross_entropy: hand-worked backward is softmax minus one-hot over N") {
  Tensor x = tensor({0, 0, 1000, 0}, {2, 2}, DType::Float64).requires_grad_();
  cross_entropy(x, tensor({1, 1}, DType::Int64)).backward();
  // row 0: (0.5, 0.5 - 1) / 2; row 1: (1 - 0, 0 - 1) / 2
  CHECK_CLOSE(x.grad(), tensor({0.25, -0.25, 0.5, -0.5}, {2, 2}, DType::Float64), 1e-12, 0, "dx");
}

TEST_CASE("nll_loss: gradcheck of nll_loss and cross_entropy") {
  for (const auto& c : test::loss_cases) {
    SUBCASE(c.name) {
      // the stored targets (with their ignored entries), fresh float64 inputs
      Tensor target = test::fixture(std::string("loss/") + c.name + "_target.npy");
      manual_seed(31);
      Tensor x = test::leaf({c.N, c.C});
      bool ce = c.cross_entropy;
      int64_t ignore = c.ignore_index;
      auto f = [&, ce, ignore](const std::vector<Tensor>& in) {
        return ce ? cross_entropy(in[0], target, ignore) : nll_loss(in[0], target, ignore);
      };
      if (c.name == std::string("nll_all_ignored")) {
        // NaN loss: no finite differences; nothing flows back
        Tensor loss = f({x});
        CHECK(std::isnan(loss.item()));
        loss.backward();
        CHECK_CLOSE(x.grad(), zeros({c.N, c.C}, DType::Float64), 0, 0, "dx with every target ignored");
      } else {
        CHECK_GRADCHECK(f, {x});
      }
    }
  }
}

TEST_CASE("nll_loss: float32 gradients match PyTorch") {
  for (const auto& c : test::loss_cases) {
    SUBCASE(c.name) {
      auto fx = [&](const char* what) { return test::fixture(std::string("loss/") + c.name + "_" + what + ".npy"); };
      Tensor x = fx("x").requires_grad_();
      Tensor loss = c.cross_entropy ? cross_entropy(x, fx("target"), c.ignore_index)
                                    : nll_loss(x, fx("target"), c.ignore_index);
      loss.backward();
      CHECK_CLOSE(x.grad(), fx("dx"), 1e-6, 0, std::string(c.name) + " dx");
    }
  }
}
