// Forward tests of matmul/bmm/linear: hand-worked products, PyTorch fixtures for every case of
// tests/cases/linalg.h (float32 and float64, contiguous and strided operands), exact small-integer
// products through every operand layout gemm reads in place or copies, empty shapes, and errors.
// Gradients: tests/autograd/test_linalg_grad.cpp.
#include "cases/linalg.h"
#include "test_util.h"

using namespace fk;

namespace {

std::vector<float> values(const Tensor& t) { return t.to_vector<float>(); }

// The same values as t, stored column-major in the last two dims (a transposed contiguous buffer).
Tensor column_major(const Tensor& t) {
  if (t.dim() < 2) return t;
  return ops::transpose(ops::transpose(t, -1, -2).contiguous(), -1, -2);
}

// The same values as t, every element two apart (no layout gemm can read in place).
Tensor spread(const Tensor& t) {
  Shape wide = t.shape();
  if (wide.empty()) return t;
  wide.back() *= 2;
  Tensor w = zeros(wide, t.dtype());
  Tensor v = ops::slice(w, -1, 0, wide.back(), 2);
  ops::copy_(v, t);
  return v;
}

// Small integers in [-3, 3]: every product sum is exact in float32.
Tensor small_ints(const Shape& shape) { return ops::sub(randint(0, 7, shape).to(DType::Float32), 3.0); }

}  // namespace

TEST_CASE("matmul: hand-worked products") {
  Tensor a = tensor({1, 2, 3, 4}, {2, 2}), b = tensor({5, 6, 7, 8}, {2, 2});
  CHECK(values(ops::matmul(a, b)) == std::vector<float>{19, 22, 43, 50});
  Tensor dot = ops::matmul(tensor({1, 2, 3}), tensor({4, 5, 6}));
  CHECK(dot.dim() == 0);
  CHECK(dot.item() == 32);
  CHECK(values(ops::matmul(a, tensor({1, -1}))) == std::vector<float>{-1, -1});  // mv: (2)
  CHECK(values(ops::matmul(tensor({1, -1}), a)) == std::vector<float>{-2, -2});  // vm: (2)
  Tensor batch = ops::matmul(ops::stack({a, b}), tensor({1, 0, 0, 1}, {2, 2}));  // (2,2,2) x I
  CHECK(values(batch) == std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8});
}

TEST_CASE("matmul: PyTorch fixtures") {
  for (const auto& c : test::kMatmulCases) {
    SUBCASE(c.name) {
      std::string stem = std::string("linalg/matmul_") + c.name;
      Tensor a = test::fixture(stem + "_a.npy"), b = test::fixture(stem + "_b.npy");
      Tensor expected = test::fixture(stem + "_out.npy");
      std::string label = std::string("matmul(a=") + shape_str(c.a) + ", b=" + shape_str(c.b) + ")";
      REQUIRE(a.shape() == c.a);
      REQUIRE(b.shape() == c.b);
      CHECK_CLOSE(ops::matmul(a, b), expected, test::kLinalgAtol, test::kLinalgRtol, label);
      CHECK_CLOSE(ops::matmul(column_major(a), column_major(b)), expected, test::kLinalgAtol, test::kLinalgRtol,
                  label + " column-major");
      CHECK_CLOSE(ops::matmul(spread(a), spread(b)), expected, test::kLinalgAtol, test::kLinalgRtol,
                  label + " strided");
      Tensor out64 = ops::matmul(a.to(DType::Float64), b.to(DType::Float64));
      CHECK(out64.dtype() == DType::Float64);
      CHECK_CLOSE(out64, expected, test::kLinalgAtol, test::kLinalgRtol, label + " float64");
    }
  }
}

TEST_CASE("bmm: PyTorch fixtures") {
  for (const auto& c : test::kBmmCases) {
    SUBCASE(c.name) {
      std::string stem = std::string("linalg/bmm_") + c.name;
      Tensor a = test::fixture(stem + "_a.npy"), b = test::fixture(stem + "_b.npy");
      Tensor expected = test::fixture(stem + "_out.npy");
      std::string label = std::string("bmm(a=") + shape_str(c.a) + ", b=" + shape_str(c.b) + ")";
      CHECK_CLOSE(ops::bmm(a, b), expected, test::kLinalgAtol, test::kLinalgRtol, label);
      CHECK_CLOSE(ops::bmm(column_major(a), spread(b)), expected, test::kLinalgAtol, test::kLinalgRtol,
                  label + " strided");
      CHECK_CLOSE(ops::bmm(a.to(DType::Float64), b.to(DType::Float64)), expected, test::kLinalgAtol,
                  test::kLinalgRtol, label + " float64");
    }
  }
}

TEST_CASE("linear: PyTorch fixtures") {
  for (const auto& c : test::kLinearCases) {
    SUBCASE(c.name) {
      std::string stem = std::string("linalg/linear_") + c.name;
      Tensor x = test::fixture(stem + "_x.npy"), w = test::fixture(stem + "_w.npy");
      Tensor b = c.bias ? test::fixture(stem + "_b.npy") : Tensor();
      Tensor expected = test::fixture(stem + "_out.npy");
      std::string label = std::string("linear(x=") + shape_str(c.x) + ", out=" + std::to_string(c.out_features) +
                          (c.bias ? ", bias)" : ")");
      CHECK_CLOSE(ops::linear(x, w, b), expected, test::kLinalgAtol, test::kLinalgRtol, label);
      CHECK_CLOSE(ops::linear(spread(x), column_major(w), c.bias ? spread(b) : b), expected, test::kLinalgAtol,
                  test::kLinalgRtol, label + " strided");
      Tensor b64 = c.bias ? b.to(DType::Float64) : b;
      CHECK_CLOSE(ops::linear(x.to(DType::Float64), w.to(DType::Float64), b64), expected, test::kLinalgAtol,
                  test::kLinalgRtol, label + " float64");
    }
  }
}

TEST_CASE("matmul: every operand layout gives the exact product") {
  manual_seed(3);
  // small integers: the sums are exact, so every path must agree bit for bit
  Tensor a = small_ints({2, 3, 4, 5}), b = small_ints({3, 5, 6});
  Tensor ref = ops::matmul(a, b);
  CHECK(values(ops::matmul(column_major(a), b)) == values(ref));
  CHECK(values(ops::matmul(a, column_major(b))) == values(ref));
  CHECK(values(ops::matmul(spread(a), spread(b))) == values(ref));
  // permuted batch dims: a view whose batch strides are out of order
  Tensor ap = ops::permute(ops::permute(a, {1, 0, 2, 3}).contiguous(), {1, 0, 2, 3});
  CHECK(values(ops::matmul(ap, b)) == values(ref));
  // a broadcast (stride-0) batch operand, read without a copy
  Tensor b1 = small_ints({5, 6});
  Tensor be = ops::expand(b1, {3, 5, 6});
  CHECK(values(ops::matmul(a, be)) == values(ops::matmul(a, b1)));
  // each batch matrix against its own reference
  Tensor a0 = ops::select(ops::select(a, 0, 1), 0, 2), b0 = ops::select(b, 0, 2);
  CHECK(values(ops::select(ops::select(ref, 0, 1), 0, 2)) == values(ops::matmul(a0, b0)));
}

TEST_CASE("matmul/bmm/linear: empty shapes") {
  CHECK(ops::matmul(zeros({0, 3}), zeros({3, 2})).shape() == Shape{0, 2});
  Tensor k0 = ops::matmul(ones({2, 0}), ones({0, 3}));  // an empty sum is 0
  CHECK(k0.shape() == Shape{2, 3});
  CHECK(values(k0) == std::vector<float>(6, 0.f));
  CHECK(ops::matmul(zeros({0, 2, 3}), zeros({3, 4})).shape() == Shape{0, 2, 4});
  CHECK(ops::bmm(zeros({0, 2, 3}), zeros({0, 3, 4})).shape() == Shape{0, 2, 4});
  CHECK(values(ops::matmul(ops::expand(zeros({1, 0}), {2, 0}), zeros({0, 3}))) == std::vector<float>(6, 0.f));
  CHECK(ops::linear(zeros({0, 3}), zeros({2, 3}), zeros({2})).shape() == Shape{0, 2});
  Tensor in0 = ops::linear(zeros({2, 0}), zeros({3, 0}), tensor({1, 2, 3}));  // bias only
  CHECK(values(in0) == std::vector<float>{1, 2, 3, 1, 2, 3});
}

TEST_CASE("linear: hand-worked y = x W^T + b") {
  Tensor x = tensor({1, 2, 3, 4}, {2, 2});
  Tensor w = tensor({1, 0, 0, 1, 1, 1}, {3, 2});
  CHECK(values(ops::linear(x, w, tensor({10, 20, 30}))) == std::vector<float>{11, 22, 33, 13, 24, 37});
  CHECK(values(ops::linear(x, w, Tensor())) == std::vector<float>{1, 2, 3, 3, 4, 7});
  CHECK(values(ops::linear(tensor({1, 2}), w, Tensor())) == std::vector<float>{1, 2, 3});
}

TEST_CASE("matmul/bmm/linear: errors name the op and the shapes") {
  CHECK_THROWS_WITH_AS(ops::matmul(zeros({2, 3}), zeros({2, 3})),
                       doctest::Contains("matmul: shapes [2, 3] and [2, 3] cannot be multiplied (2x3 and 2x3)"), Error);
  CHECK_THROWS_WITH_AS(ops::matmul(zeros({2, 3, 4}), zeros({3, 4, 5})),
                       doctest::Contains("matmul: shapes [2] and [3] cannot be broadcast"), Error);
  CHECK_THROWS_WITH_AS(ops::matmul(scalar_tensor(1), zeros({2})), doctest::Contains("matmul: both arguments need"),
                       Error);
  CHECK_THROWS_WITH_AS(ops::matmul(zeros({2, 2}), zeros({2, 2}, DType::Float64)),
                       doctest::Contains("matmul: dtype mismatch"), Error);
  CHECK_THROWS_WITH_AS(ops::matmul(zeros({2, 2}, DType::Int64), zeros({2, 2}, DType::Int64)),
                       doctest::Contains("matmul: a has dtype int64"), Error);
  CHECK_THROWS_WITH_AS(ops::bmm(zeros({2, 3}), zeros({2, 3})), doctest::Contains("bmm: both arguments must be 3-d"),
                       Error);
  CHECK_THROWS_WITH_AS(ops::bmm(zeros({2, 3, 4}), zeros({3, 4, 5})),
                       doctest::Contains("bmm: shapes [2, 3, 4] and [3, 4, 5] cannot be multiplied"), Error);
  CHECK_THROWS_WITH_AS(ops::linear(zeros({2, 3}), zeros({4, 5}), Tensor()),
                       doctest::Contains("linear: x [2, 3] and weight [4, 5] cannot be multiplied"), Error);
  CHECK_THROWS_WITH_AS(ops::linear(zeros({2, 3}), zeros({4, 3}), zeros({3})),
                       doctest::Contains("linear: bias [3] must be 1-d of out_features=4"), Error);
  CHECK_THROWS_WITH_AS(ops::linear(zeros({2, 3}), zeros({3}), Tensor()), doctest::Contains("linear: weight must be 2-d"),
                       Error);
}
