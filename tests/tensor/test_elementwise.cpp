// Forward tests of the element-wise ops: hand-worked values, broadcasting against a plain
// index-arithmetic reference, comparisons/where/clamp semantics, in-place ops, and errors.
#include <cmath>

#include "cases/elementwise.h"
#include "test_util.h"

using namespace fk;

TEST_CASE("add/sub/mul/div: hand-worked values") {
  Tensor a = tensor({1, 2, 3, 4}, {2, 2});
  Tensor b = tensor({10, 20}, {2});
  CHECK(ops::add(a, b).to_vector<float>() == std::vector<float>{11, 22, 13, 24});
  CHECK(ops::sub(a, b).to_vector<float>() == std::vector<float>{-9, -18, -7, -16});
  CHECK(ops::mul(a, b).to_vector<float>() == std::vector<float>{10, 40, 30, 80});
  CHECK(ops::div(b, a).to_vector<float>() == std::vector<float>{10, 10, 10.f / 3, 5});
  CHECK(ops::pow(a, 2.0).to_vector<float>() == std::vector<float>{1, 4, 9, 16});
  CHECK(ops::sub(1.0, a).to_vector<float>() == std::vector<float>{0, -1, -2, -3});
  CHECK(ops::div(1.0, a).to_vector<float>() == std::vector<float>{1, 0.5f, 1.f / 3, 0.25f});
}

// Reference: out[i] = a[bcast(i)] + 2 b[bcast(i)] by explicit index arithmetic.
static std::vector<double> reference_broadcast(const Tensor& a, const Tensor& b, const Shape& out) {
  auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  std::vector<double> r(size_t(numel_of(out)));
  for (int64_t i = 0; i < numel_of(out); ++i) {
    int64_t rem = i, ia = 0, ib = 0, sa = 1, sb = 1;
    for (size_t d = out.size(); d-- > 0;) {
      int64_t idx = rem % out[d];
      rem /= out[d];
      size_t da = d + a.shape().size() - out.size(), db = d + b.shape().size() - out.size();
      if (d + a.shape().size() >= out.size()) {
        ia += (a.shape()[da] == 1 ? 0 : idx) * sa;
        sa *= a.shape()[da];
      }
      if (d + b.shape().size() >= out.size()) {
        ib += (b.shape()[db] == 1 ? 0 : idx) * sb;
        sb *= b.shape()[db];
      }
    }
    r[size_t(i)] = va[size_t(ia)] + 2 * vb[size_t(ib)];
  }
  return r;
}

TEST_CASE("add: NumPy broadcasting matches index arithmetic") {
  manual_seed(1);
  for (const auto& c : test::kBroadcastCases) {
    SUBCASE(c.name) {
      Tensor a = randn(c.a, DType::Float64), b = randn(c.b, DType::Float64);
      Tensor y = ops::add(a, ops::mul(b, 2.0));
      Shape out = broadcast_shapes(c.a, c.b, "test");
      CHECK(y.shape() == out);
      CHECK(y.to_vector<double>() == reference_broadcast(a, b, out));
      Tensor y2 = ops::add(ops::mul(b, 2.0), a);  // commutes
      CHECK(y2.to_vector<double>() == y.to_vector<double>());
    }
  }
}

TEST_CASE("add: strided (transposed) operands") {
  Tensor a = arange(6).to(DType::Float32);
  Tensor at(a.storage(), {3, 2}, {1, 3}, 0, DType::Float32);  // a viewed (2,3) transposed
  Tensor y = ops::add(at, zeros({3, 2}));
  CHECK(y.to_vector<float>() == std::vector<float>{0, 3, 1, 4, 2, 5});
}

TEST_CASE("unary ops: values against std::") {
  Tensor x = tensor({0.1, 0.5, 0.9}, DType::Float64);
  auto v = x.to_vector<double>();
  auto check = [&](const Tensor& y, double (*f)(double)) {
    auto r = y.to_vector<double>();
    for (size_t i = 0; i < v.size(); ++i) CHECK(r[i] == doctest::Approx(f(v[i])).epsilon(1e-15));
  };
  check(ops::exp(x), [](double t) { return std::exp(t); });
  check(ops::log(x), [](double t) { return std::log(t); });
  check(ops::sqrt(x), [](double t) { return std::sqrt(t); });
  check(ops::tanh(x), [](double t) { return std::tanh(t); });
  check(ops::cos(x), [](double t) { return std::cos(t); });
  check(ops::acos(x), [](double t) { return std::acos(t); });
  check(ops::sigmoid(x), [](double t) { return 1 / (1 + std::exp(-t)); });
  check(ops::abs(ops::neg(x)), [](double t) { return t; });
}

TEST_CASE("sigmoid: saturates without overflow") {
  auto r = ops::sigmoid(tensor({-1000, 0, 1000})).to_vector<float>();
  CHECK(r == std::vector<float>{0, 0.5f, 1});
}

TEST_CASE("relu: negatives become zero, NaN propagates") {
  auto r = ops::relu(tensor({-2, 0, 3, NAN})).to_vector<float>();
  CHECK(r[0] == 0);
  CHECK(r[1] == 0);
  CHECK(r[2] == 3);
  CHECK(std::isnan(r[3]));
}

TEST_CASE("comparisons: bool results with broadcasting") {
  Tensor a = tensor({1, 2, 3});
  Tensor r = ops::gt(a, 2.0);
  CHECK(r.dtype() == DType::Bool);
  CHECK(r.to_vector<uint8_t>() == std::vector<uint8_t>{0, 0, 1});
  CHECK(ops::le(a, tensor({2})).to_vector<uint8_t>() == std::vector<uint8_t>{1, 1, 0});
  CHECK(ops::eq(a, 2.0).to_vector<uint8_t>() == std::vector<uint8_t>{0, 1, 0});
  CHECK(ops::ne(a, 2.0).to_vector<uint8_t>() == std::vector<uint8_t>{1, 0, 1});
  CHECK(ops::lt(a, 2.0).to_vector<uint8_t>() == std::vector<uint8_t>{1, 0, 0});
  CHECK(ops::ge(a, 2.0).to_vector<uint8_t>() == std::vector<uint8_t>{0, 1, 1});
}

TEST_CASE("where: picks per element, broadcasting all three") {
  Tensor cond = ops::gt(tensor({1, -1, 2}, {3, 1}), 0.0);
  Tensor y = ops::where(cond, tensor({10, 20}), tensor({-5}));
  CHECK(y.shape() == Shape{3, 2});
  CHECK(y.to_vector<float>() == std::vector<float>{10, 20, -5, -5, 10, 20});
  CHECK_THROWS_WITH_AS(ops::where(tensor({1}), tensor({1}), tensor({1})), doctest::Contains("where: condition"),
                       Error);
}

TEST_CASE("clamp: one or both bounds") {
  Tensor x = tensor({-2, 0.5, 3});
  CHECK(ops::clamp(x, 0.0, 1.0).to_vector<float>() == std::vector<float>{0, 0.5f, 1});
  CHECK(ops::clamp(x, std::nullopt, 1.0).to_vector<float>() == std::vector<float>{-2, 0.5f, 1});
  CHECK(ops::clamp(x, 0.0, std::nullopt).to_vector<float>() == std::vector<float>{0, 0.5f, 3});
  CHECK_THROWS_AS(ops::clamp(x, std::nullopt, std::nullopt), Error);
}

TEST_CASE("maximum/minimum: element-wise with NaN propagation") {
  Tensor a = tensor({1, 5, NAN}), b = tensor({3, 2, 0});
  auto mx = ops::maximum(a, b).to_vector<float>();
  auto mn = ops::minimum(a, b).to_vector<float>();
  CHECK(mx[0] == 3);
  CHECK(mx[1] == 5);
  CHECK(std::isnan(mx[2]));
  CHECK(mn[0] == 1);
  CHECK(mn[1] == 2);
  CHECK(std::isnan(mn[2]));
}

TEST_CASE("in-place ops: add_, mul_, copy_, fill_ on views") {
  Tensor a = zeros({2, 3});
  ops::add_(a, tensor({1, 2, 3}), 2.0);
  CHECK(a.to_vector<float>() == std::vector<float>{2, 4, 6, 2, 4, 6});
  ops::mul_(a, 0.5);
  CHECK(a.to_vector<float>() == std::vector<float>{1, 2, 3, 1, 2, 3});
  Tensor col(a.storage(), {2}, {3}, 1, DType::Float32);  // a[:, 1]
  ops::fill_(col, 9);
  CHECK(a.to_vector<float>() == std::vector<float>{1, 9, 3, 1, 9, 3});
  Tensor d = zeros({2}, DType::Float64);
  ops::copy_(d, tensor({1.5, 2.5}));
  CHECK(d.to_vector<double>() == std::vector<double>{1.5, 2.5});
  CHECK_THROWS_WITH_AS(ops::add_(a, ones({3, 3})), doctest::Contains("add_"), Error);
}

TEST_CASE("binary ops: bad usage names the op and the shapes") {
  CHECK_THROWS_WITH_AS(ops::add(ones({2, 3}), ones({4})), doctest::Contains("add: shapes [2, 3] and [4]"), Error);
  CHECK_THROWS_WITH_AS(ops::mul(ones({2}), ones({2}, DType::Float64)), doctest::Contains("mul: dtype mismatch"),
                       Error);
  CHECK_THROWS_WITH_AS(ops::exp(ones({2}, DType::Int64)), doctest::Contains("exp: x has dtype int64"), Error);
  CHECK_THROWS_WITH_AS(ops::add(Tensor(), ones({1})), doctest::Contains("undefined"), Error);
}

TEST_CASE("operators: a + b * 2 - 1 / c") {
  Tensor a = tensor({1, 2}), b = tensor({3, 4}), c = tensor({2, 4});
  Tensor y = a + b * 2.0 - 1.0 / c;
  CHECK(y.to_vector<float>() == std::vector<float>{6.5f, 9.75f});
  CHECK((-a).to_vector<float>() == std::vector<float>{-1, -2});
}
