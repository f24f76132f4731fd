// Float64 gradchecks of the element-wise ops, over the broadcasting cases of tests/cases/elementwise.h.
#include "cases/elementwise.h"
#include "test_util.h"

using namespace fk;
using test::leaf;
using V = std::vector<Tensor>;

TEST_CASE("add/sub/mul/div/pow/maximum/minimum: gradcheck with broadcasting") {
  manual_seed(7);
  for (const auto& c : test::kBroadcastCases) {
    SUBCASE(c.name) {
      Tensor a = leaf(c.a), b = leaf(c.b);
      CHECK_GRADCHECK([](const V& v) { return add(v[0], v[1]); }, {a, b});
      CHECK_GRADCHECK([](const V& v) { return sub(v[0], v[1]); }, {a, b});
      CHECK_GRADCHECK([](const V& v) { return mul(v[0], v[1]); }, {a, b});
      // keep divisors and pow bases away from 0
      Tensor bp = (abs(b.detach()) + 0.5).detach().requires_grad_();
      Tensor ap = (abs(a.detach()) + 0.5).detach().requires_grad_();
      CHECK_GRADCHECK([](const V& v) { return div(v[0], v[1]); }, {a, bp});
      CHECK_GRADCHECK([](const V& v) { return pow(v[0], v[1]); }, {ap, b});
      CHECK_GRADCHECK([](const V& v) { return maximum(v[0], v[1]); }, {a, b});
      CHECK_GRADCHECK([](const V& v) { return minimum(v[0], v[1]); }, {a, b});
    }
  }
}

TEST_CASE("scalar forms: gradcheck") {
  manual_seed(8);
  Tensor x = leaf({3, 4});
  Tensor xp = (abs(x.detach()) + 0.5).detach().requires_grad_();
  CHECK_GRADCHECK([](const V& v) { return v[0] * 3.0 + 1.0 - 2.0 / (v[0] * v[0] + 1.0); }, {x});
  CHECK_GRADCHECK([](const V& v) { return 2.0 - v[0] / 4.0; }, {x});
  CHECK_GRADCHECK([](const V& v) { return pow(v[0], 2.5); }, {xp});
  CHECK_GRADCHECK([](const V& v) { return pow(v[0], 0.0); }, {xp}, 1e-6, 1e-5, 1e-3, /*allow_zero=*/true);  // x^0 = 1
}

TEST_CASE("unary ops: gradcheck") {
  manual_seed(9);
  Tensor x = leaf({2, 5});
  Tensor pos = (abs(x.detach()) + 0.3).detach().requires_grad_();
  Tensor unit = (tanh(x.detach()) * 0.9).detach().requires_grad_();  // inside (-1, 1) for acos
  // keep relu/abs inputs away from 0
  Tensor away = (x.detach() + ops::sign(x.detach()) * 0.1).detach().requires_grad_();
  CHECK_GRADCHECK([](const V& v) { return neg(v[0]); }, {x});
  CHECK_GRADCHECK([](const V& v) { return exp(v[0]); }, {x});
  CHECK_GRADCHECK([](const V& v) { return log(v[0]); }, {pos});
  CHECK_GRADCHECK([](const V& v) { return sqrt(v[0]); }, {pos});
  CHECK_GRADCHECK([](const V& v) { return abs(v[0]); }, {away});
  CHECK_GRADCHECK([](const V& v) { return tanh(v[0]); }, {x});
  CHECK_GRADCHECK([](const V& v) { return sigmoid(v[0]); }, {x});
  CHECK_GRADCHECK([](const V& v) { return cos(v[0]); }, {x});
  CHECK_GRADCHECK([](const V& v) { return sin(v[0]); }, {x});
  CHECK_GRADCHECK([](const V& v) { return acos(v[0]); }, {unit});
  CHECK_GRADCHECK([](const V& v) { return relu(v[0]); }, {away});
}

TEST_CASE("where and clamp: gradcheck") {
  manual_seed(10);
  Tensor a = leaf({3, 4}), b = leaf({4});
  Tensor cond = ops::gt(randn({3, 1}, DType::Float64), 0.0);
  CHECK_GRADCHECK([cond](const V& v) { return where(cond, v[0], v[1]); }, {a, b});
  Tensor x = (a.detach() * 3.0).detach();
  // keep x away from the clamp bounds
  Tensor xs = where(ops::lt(abs(x + 1.0), 0.05), x + 0.2, x).detach();
  xs = where(ops::lt(abs(xs - 1.0), 0.05), xs + 0.2, xs).detach().requires_grad_();
  CHECK_GRADCHECK([](const V& v) { return clamp(v[0], -1.0, 1.0); }, {xs});
  CHECK_GRADCHECK([](const V& v) { return clamp(v[0], std::nullopt, 1.0); }, {xs});
}

TEST_CASE("maximum: a tie splits the gradient in halves") {
  Tensor a = tensor({1, 2}, DType::Float64).requires_grad_();
  Tensor b = tensor({1, 3}, DType::Float64).requires_grad_();
  sum(maximum(a, b)).backward();
  CHECK(a.grad().to_vector<double>() == std::vector<double>{0.5, 0});
  CHECK(b.grad().to_vector<double>() == std::vector<double>{0.5, 1});
}
