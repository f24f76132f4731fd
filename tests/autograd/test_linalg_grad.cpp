// Float64 gradchecks of matmul/bmm/linear over the cases of tests/cases/linalg.h (every input, broadcast
// batch dims included), with transposed operands, plus a hand-worked linear gradient.
#include "cases/linalg.h"
#include "test_util.h"

using namespace fk;
using test::leaf;
using V = std::vector<Tensor>;

TEST_CASE("matmul: gradcheck") {
  manual_seed(31);
  for (const auto& c : test::kMatmulCases) {
    SUBCASE(c.name) {
      Tensor a = leaf(c.a), b = leaf(c.b);
      CHECK_GRADCHECK([](const V& v) { return matmul(v[0], v[1]); }, {a, b});
    }
  }
}

TEST_CASE("matmul: gradcheck through transposed operands") {
  manual_seed(32);
  Tensor at = leaf({2, 5, 3}), bt = leaf({4, 5});
  // a^T b^T with both operands column-major views: gemm reads them in place, forward and backward
  CHECK_GRADCHECK([](const V& v) { return matmul(transpose(v[0], 1, 2), transpose(v[1], 0, 1)); }, {at, bt});
  Tensor a = leaf({3, 2, 4}), b = leaf({2, 4, 3});
  CHECK_GRADCHECK([](const V& v) { return matmul(permute(v[0], {1, 0, 2}), v[1]); }, {a, b});
}

TEST_CASE("bmm: gradcheck") {
  manual_seed(33);
  for (const auto& c : test::kBmmCases) {
    SUBCASE(c.name) {
      Tensor a = leaf(c.a), b = leaf(c.b);
      CHECK_GRADCHECK([](const V& v) { return bmm(v[0], v[1]); }, {a, b});
      // b as a column-major view: bt holds b^T contiguously
      Tensor bt = leaf({c.b[0], c.b[2], c.b[1]});
      CHECK_GRADCHECK([](const V& v) { return bmm(v[0], transpose(v[1], 1, 2)); }, {a, bt});
    }
  }
}

TEST_CASE("linear: gradcheck on x, weight and bias") {
  manual_seed(34);
  for (const auto& c : test::kLinearCases) {
    SUBCASE(c.name) {
      Tensor x = leaf(c.x), w = leaf({c.out_features, c.x.back()});
      if (c.bias) {
        Tensor b = leaf({c.out_features});
        CHECK_GRADCHECK([](const V& v) { return linear(v[0], v[1], v[2]); }, {x, w, b});
      } else {
        CHECK_GRADCHECK([](const V& v) { return linear(v[0], v[1]); }, {x, w});
      }
    }
  }
}

TEST_CASE("linear: hand-worked gradient") {
  // y = x W^T + b with x (2, 2), W (3, 2); dy = ones: dx = column sums of W, dW = column sums of x, db = 2
  Tensor x = tensor({1, 2, 3, 4}, {2, 2}).requires_grad_();
  Tensor w = tensor({1, 0, 0, 1, 1, 1}, {3, 2}).requires_grad_();
  Tensor b = zeros({3}).requires_grad_();
  linear(x, w, b).backward(ones({2, 3}));
  CHECK(x.grad().to_vector<float>() == std::vector<float>{2, 2, 2, 2});
  CHECK(w.grad().to_vector<float>() == std::vector<float>{4, 6, 4, 6, 4, 6});
  CHECK(b.grad().to_vector<float>() == std::vector<float>{2, 2, 2});
}

TEST_CASE("matmul: only the inputs that require grad get one") {
  Tensor a = tensor({1, 2, 3, 4}, {2, 2}).requires_grad_();
  Tensor b = tensor({1, 1, 1, 1}, {2, 2});
  matmul(a, b).backward(ones({2, 2}));
  CHECK(a.grad().to_vector<float>() == std::vector<float>{2, 2, 2, 2});  // dy b^T
  CHECK_FALSE(b.grad().defined());
}
