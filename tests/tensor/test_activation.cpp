// Forward tests of prelu, softmax, log_softmax, dropout (tensor/activation.cpp,
// tensor/cpu/activation.cpp) and normalize (autograd/activation.cpp): hand-worked examples, the
// PyTorch fixtures of tests/cases/activation.h (incl. logits around +-1000), dropout's seeding and
// statistics, and the argument errors. Gradients: tests/autograd/test_activation_grad.cpp.
#include <cmath>

#include "cases/activation.h"
#include "tensor/philox.h"
#include "test_util.h"

using namespace fk;

namespace {

Tensor act_fixture(const std::string& name, const std::string& what) {
  return test::fixture("activation/" + name + "_" + what + ".npy");
}

bool all_finite(const Tensor& t) {
  for (double v : t.to_vector<double>())
    if (!std::isfinite(v)) return false;
  return true;
}

}  // namespace

// ---- prelu

TEST_CASE("prelu: hand-worked per-channel and shared weights") {
  Tensor x = tensor({-2, 3, 1, -4}, {2, 2});
  // channel 0 slope 0.25, channel 1 slope 0.5
  CHECK_CLOSE(ops::prelu(x, tensor({0.25, 0.5})), tensor({-0.5, 3, 1, -2}, {2, 2}), 0, 0, "prelu(x=[2,2], w=[2])");
  CHECK_CLOSE(ops::prelu(tensor({-1, 2, -3}), tensor({0.1})), tensor({-0.1, 2, -0.3}), 1e-7, 0, "prelu(x=[3], w=[1])");
  CHECK_CLOSE(ops::prelu(x, scalar_tensor(-1)), tensor({2, 3, 1, 4}, {2, 2}), 0, 0, "prelu(w 0-d, -1: abs)");
}

TEST_CASE("prelu: matches PyTorch") {
  for (const auto& c : test::prelu_cases) {
    SUBCASE(c.name) {
      Tensor x = act_fixture(c.name, "x"), w = act_fixture(c.name, "weight");
      REQUIRE_MESSAGE(x.shape() == c.x, c.name, ": fixture x ", shape_str(x.shape()), " vs case ", shape_str(c.x));
      REQUIRE(w.numel() == c.weights);
      CHECK_CLOSE(ops::prelu(x, w), act_fixture(c.name, "y"), 1e-6, 0,
                  std::string("prelu(") + c.name + ", x=" + shape_str(c.x) + ")");
    }
  }
}

TEST_CASE("prelu: rejects bad weights") {
  CHECK_THROWS_WITH_AS(ops::prelu(randn({2, 4, 3}), randn({3})),
                       doctest::Contains("prelu: weight has 3 elements, expected 1 or the channel count 4"), Error);
  // a 1-d input has one channel, as in PyTorch
  CHECK_THROWS_WITH_AS(ops::prelu(randn({3}), randn({3})), doctest::Contains("channel count 1"), Error);
  CHECK_THROWS_WITH_AS(ops::prelu(randn({2, 3}), randn({1, 3})),
                       doctest::Contains("prelu: weight must be a scalar or 1-d tensor"), Error);
  CHECK_THROWS_WITH_AS(ops::prelu(randn({2, 3}), randn({3}, DType::Float64)), doctest::Contains("prelu: dtype mismatch"),
                       Error);
}

// ---- softmax / log_softmax

TEST_CASE("softmax: hand-worked values, and exp never overflows") {
  Tensor x = tensor({1, 2, 3});
  CHECK_CLOSE(ops::softmax(x, 0), tensor({0.09003057, 0.24472847, 0.66524096}), 1e-7, 0, "softmax([1,2,3])");
  CHECK_CLOSE(ops::log_softmax(x, 0), tensor({-2.40760596, -1.40760596, -0.40760596}), 1e-6, 0,
              "log_softmax([1,2,3])");
  // exp(1000) overflows float32 and float64: the max shift makes these exact
  CHECK_CLOSE(ops::softmax(tensor({1000, 1000}), 0), tensor({0.5, 0.5}), 0, 0, "softmax([1000,1000])");
  CHECK_CLOSE(ops::log_softmax(tensor({1000, 0}), 0), tensor({0, -1000}), 0, 0, "log_softmax([1000,0])");
  CHECK_CLOSE(ops::log_softmax(tensor({-1000, -1001}, DType::Float64), 0),
              tensor({-std::log1p(std::exp(-1.0)), -1 - std::log1p(std::exp(-1.0))}, DType::Float64), 1e-12, 0,
              "log_softmax([-1000,-1001])");
  // a 0-d tensor is one element along dim 0 (or -1)
  CHECK(ops::softmax(scalar_tensor(3), 0).item() == 1.0);
  CHECK(ops::log_softmax(scalar_tensor(3), -1).item() == 0.0);
}

TEST_CASE("softmax: matches PyTorch (softmax and log_softmax, several dims, large logits)") {
  for (const auto& c : test::softmax_cases) {
    SUBCASE(c.name) {
      Tensor x = act_fixture(c.name, "x");
      REQUIRE_MESSAGE(x.shape() == c.x, c.name, ": fixture x ", shape_str(x.shape()), " vs case ", shape_str(c.x));
      std::string label = std::string("(") + c.name + ", x=" + shape_str(c.x) + ", dim=" + std::to_string(c.dim) + ")";
      Tensor y = ops::softmax(x, c.dim), ly = ops::log_softmax(x, c.dim);
      CHECK_CLOSE(y, act_fixture(c.name, "softmax"), 1e-6, 0, "softmax" + label);
      CHECK_CLOSE(ly, act_fixture(c.name, "log_softmax"), 1e-5, 0, "log_softmax" + label);
      CHECK(all_finite(y));
      CHECK(all_finite(ly));
      // every slice along dim sums to 1
      Tensor sums = ops::sum(y, {c.dim});
      CHECK_CLOSE(sums, ones(sums.shape()), 1e-6, 0, "sum of softmax" + label);
      // float64 agrees with float32
      CHECK_CLOSE(ops::log_softmax(x.to(DType::Float64), c.dim).to(DType::Float32), ly, 1e-5, 0,
                  "log_softmax float64 vs float32" + label);
    }
  }
}

TEST_CASE("softmax: non-contiguous input gives the contiguous result") {
  Tensor x = act_fixture("softmax_2d_dim1", "x");  // (4, 7)
  Tensor xt = empty({7, 4});
  auto v = x.to_vector<float>();
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 7; ++j) xt.data<float>()[j * 4 + i] = v[size_t(i * 7 + j)];
  Tensor view(xt.storage(), {4, 7}, {1, 4}, 0, DType::Float32);
  CHECK_CLOSE(ops::softmax(view, 1), ops::softmax(x, 1), 0, 0, "softmax(non-contiguous x=[4,7])");
  CHECK_CLOSE(ops::log_softmax(view, 0), ops::log_softmax(x, 0), 0, 0, "log_softmax(non-contiguous x=[4,7])");
}

TEST_CASE("softmax: rejects bad dims and dtypes") {
  CHECK_THROWS_WITH_AS(ops::softmax(randn({2, 3}), 2), doctest::Contains("softmax"), Error);
  CHECK_THROWS_WITH_AS(ops::log_softmax(randn({2, 3}), -3), doctest::Contains("log_softmax"), Error);
  CHECK_THROWS_WITH_AS(ops::softmax(randint(0, 3, {2, 3}), 1), doctest::Contains("softmax: x has dtype int64"), Error);
  CHECK_THROWS_WITH_AS(ops::softmax_backward(randn({2, 3}), randn({3, 2}), 1),
                       doctest::Contains("softmax_backward: dy [2, 3] must match y [3, 2]"), Error);
}

// ---- dropout

TEST_CASE("dropout: reproducible with manual_seed") {
  Tensor x = randn({1000});
  manual_seed(42);
  auto [y1, m1] = ops::dropout(x, 0.5, true);
  manual_seed(42);
  auto [y2, m2] = ops::dropout(x, 0.5, true);
  CHECK_CLOSE(y1, y2, 0, 0, "dropout with the same seed");
  CHECK_CLOSE(m1, m2, 0, 0, "dropout mask with the same seed");
  manual_seed(43);
  auto [y3, m3] = ops::dropout(x, 0.5, true);
  CHECK(!test::compare(m3, m1, 0, 0).empty());  // another seed, another mask
  // y = x * mask
  CHECK_CLOSE(y1, ops::mul(x, m1), 0, 0, "y = x * mask");
}

TEST_CASE("dropout: element i is kept when Philox(seed, i) < 1 - p, the seed drawn from the generator") {
  Tensor x = randn({500}, DType::Float64);
  manual_seed(42);
  auto [y, mask] = ops::dropout(x, 0.25, true);
  manual_seed(42);
  uint64_t seed = default_generator().next_u64();  // one 64-bit draw per dropout call
  auto m = mask.to_vector<double>();
  int64_t mismatches = 0;
  for (int64_t i = 0; i < 500; ++i) {
    double expected = philox_uniform(seed, uint64_t(i)) < 0.75 ? 1 / 0.75 : 0.0;
    mismatches += m[size_t(i)] != expected;
  }
  CHECK(mismatches == 0);
  // the generator moved by exactly that one draw
  manual_seed(42);
  (void)ops::dropout(x, 0.25, true);
  uint64_t next_after_dropout = default_generator().next_u64();
  manual_seed(42);
  (void)default_generator().next_u64();
  CHECK(default_generator().next_u64() == next_after_dropout);
}

TEST_CASE("dropout: drops a fraction p and preserves the mean") {
  for (double p : {0.1, 0.3, 0.5, 0.8}) {
    SUBCASE(("p=" + std::to_string(p)).c_str()) {
      manual_seed(7);
      int64_t n = 200000;
      auto [y, mask] = ops::dropout(ones({n}), p, true);
      auto v = y.to_vector<double>();
      int64_t zeros_count = 0;
      bool kept_scaled = true;
      for (double e : v) {
        if (e == 0) ++zeros_count;
        else if (std::abs(e - 1 / (1 - p)) > 1e-6) kept_scaled = false;
      }
      double frac = double(zeros_count) / double(n);
      // the zero count is Binomial(n, p): its std is sqrt(p(1-p)/n) <= 0.0012, allow ~6 sigma
      CHECK(std::abs(frac - p) < 0.007);
      CHECK(kept_scaled);  // kept entries are scaled by 1/(1-p)
      // E[y] = 1; std of the mean is sqrt(p/(1-p)/n) <= 0.0045
      CHECK(std::abs(ops::mean(y).item() - 1.0) < 0.03);
    }
  }
}

TEST_CASE("dropout: identity in eval or with p = 0, zeros with p = 1") {
  Tensor x = randn({3, 4});
  auto [ye, me] = ops::dropout(x, 0.5, /*training=*/false);
  CHECK(ye.impl() == x.impl());  // x itself, like F.dropout in eval
  CHECK(!me.defined());
  auto [y0, m0] = ops::dropout(x, 0.0, true);
  CHECK(y0.impl() == x.impl());
  auto [y1, m1] = ops::dropout(x, 1.0, true);
  CHECK_CLOSE(y1, zeros({3, 4}), 0, 0, "dropout(p=1)");
  CHECK_CLOSE(m1, zeros({3, 4}), 0, 0, "dropout(p=1) mask");
  CHECK(fk::dropout(x, 0.3, false).impl() == x.impl());
}

TEST_CASE("dropout: rejects p outside [0, 1]") {
  CHECK_THROWS_WITH_AS(ops::dropout(randn({3}), 1.5, true),
                       doctest::Contains("dropout: probability has to be between 0 and 1, but got p=1.5"), Error);
  CHECK_THROWS_WITH_AS(ops::dropout(randn({3}), -0.1, false), doctest::Contains("dropout: probability"), Error);
  CHECK_THROWS_WITH_AS(ops::dropout(randn({3}), std::nan(""), true), doctest::Contains("dropout: probability"), Error);
}

// ---- normalize

TEST_CASE("normalize: hand-worked rows, a zero row stays zero") {
  Tensor x = tensor({3, 4, 0, 0, 0, -2}, {3, 2});
  // x / max(||x||, 1e-12): (3,4)/5, (0,0)/1e-12 = 0, (0,-2)/2
  CHECK_CLOSE(normalize(x, 1), tensor({0.6, 0.8, 0, 0, 0, -1}, {3, 2}), 1e-7, 0, "normalize(x=[3,2], dim=1)");
  // along dim 0: column norms 3 and sqrt(20)
  CHECK_CLOSE(normalize(x, 0), tensor({1, 4 / std::sqrt(20.0), 0, 0, 0, -2 / std::sqrt(20.0)}, {3, 2}), 1e-7, 0,
              "normalize(x=[3,2], dim=0)");
  // a norm below eps is replaced by eps
  CHECK_CLOSE(normalize(tensor({0.3, 0.4}), 0, 1.0), tensor({0.3, 0.4}), 1e-7, 0, "normalize(eps=1)");
}

TEST_CASE("normalize: matches PyTorch") {
  for (const auto& c : test::normalize_cases) {
    SUBCASE(c.name) {
      Tensor x = act_fixture(c.name, "x");
      REQUIRE_MESSAGE(x.shape() == c.x, c.name, ": fixture x ", shape_str(x.shape()), " vs case ", shape_str(c.x));
      CHECK_CLOSE(normalize(x, c.dim, c.eps), act_fixture(c.name, "y"), 1e-6, 0,
                  std::string("normalize(") + c.name + ", x=" + shape_str(c.x) + ", dim=" + std::to_string(c.dim) + ")");
    }
  }
}

TEST_CASE("normalize: rejects a bad dim") {
  CHECK_THROWS_WITH_AS(normalize(randn({2, 3}), 2), doctest::Contains("normalize"), Error);
}
