// Forward tests of the reductions: hand-worked values over every dim combination, keepdim,
// variance correction, max/min/argmax ties and NaN, sum_to, and errors.
#include <cmath>

#include "test_util.h"

using namespace fk;

// x = [[[0,1,2,3],[4,5,6,7],[8,9,10,11]], [[12..23]]]: shape (2,3,4)
static Tensor x234() { return arange(24, DType::Float64).contiguous(); }
static Tensor shaped(const Tensor& t, const Shape& s) { return Tensor(t.storage(), s, contiguous_strides(s), 0, t.dtype()); }

TEST_CASE("sum: over dims with and without keepdim") {
  Tensor x = shaped(x234(), {2, 3, 4});
  CHECK(ops::sum(x).item() == 276);
  CHECK(ops::sum(x).dim() == 0);
  Tensor s0 = ops::sum(x, {0});
  CHECK(s0.shape() == Shape{3, 4});
  CHECK(s0.to_vector<double>()[0] == 12);
  Tensor s12 = ops::sum(x, {1, 2}, true);
  CHECK(s12.shape() == Shape{2, 1, 1});
  CHECK(s12.to_vector<double>() == std::vector<double>{66, 210});
  Tensor sneg = ops::sum(x, {-1});
  CHECK(sneg.to_vector<double>() == std::vector<double>{6, 22, 38, 54, 70, 86});
}

TEST_CASE("mean and var: biased and unbiased") {
  Tensor x = tensor({1, 2, 3, 4}, {2, 2}, DType::Float64);
  CHECK(ops::mean(x).item() == 2.5);
  CHECK(ops::mean(x, {1}).to_vector<double>() == std::vector<double>{1.5, 3.5});
  CHECK(ops::var(x).item() == doctest::Approx(5.0 / 3.0));
  CHECK(ops::var(x, {}, false).item() == doctest::Approx(1.25));
  CHECK(ops::var(x, {0}, true, true).to_vector<double>() == std::vector<double>{2, 2});
  CHECK(std::isnan(ops::var(tensor({1.0})).item()));  // n - 1 == 0, as torch.var
}

TEST_CASE("max/min/argmax: first index among ties, NaN propagates") {
  Tensor x = tensor({1, 5, 5, 2, 0, 9}, {2, 3});
  auto [v, i] = ops::max(x, 1);
  CHECK(v.to_vector<float>() == std::vector<float>{5, 9});
  CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{1, 2});
  auto [vmin, imin] = ops::min(x, 0, true);
  CHECK(vmin.shape() == Shape{1, 3});
  CHECK(vmin.to_vector<float>() == std::vector<float>{1, 0, 5});
  CHECK(imin.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 0});
  CHECK(ops::argmax(x).item() == 5);
  CHECK(ops::argmax(x, 0).to_vector<int64_t>() == std::vector<int64_t>{1, 0, 1});
  CHECK(ops::max(x).item() == 9);
  CHECK(ops::min(x).item() == 0);
  CHECK(std::isnan(ops::max(tensor({1, NAN, 3})).item()));
}

TEST_CASE("reductions: a non-contiguous input") {
  Tensor x = shaped(x234(), {2, 3, 4});
  Tensor xt(x.storage(), {4, 3, 2}, {1, 4, 12}, 0, DType::Float64);  // x permuted (2,1,0)
  auto a = ops::sum(xt, {2}).to_vector<double>();                          // (4,3): a[w][h] = x[0,h,w]+x[1,h,w]
  auto b = ops::sum(x, {0}).to_vector<double>();                           // (3,4)
  for (int h = 0; h < 3; ++h)
    for (int w = 0; w < 4; ++w) CHECK(a[size_t(w * 3 + h)] == b[size_t(h * 4 + w)]);
}

TEST_CASE("sum_to: inverts broadcasting") {
  Tensor g = ones({2, 3, 4}, DType::Float64);
  CHECK(ops::sum_to(g, {4}).to_vector<double>() == std::vector<double>{6, 6, 6, 6});
  CHECK(ops::sum_to(g, {3, 1}).to_vector<double>() == std::vector<double>{8, 8, 8});
  CHECK(ops::sum_to(g, {}).item() == 24);
  CHECK(ops::sum_to(g, {2, 3, 4}).shape() == Shape{2, 3, 4});
}

TEST_CASE("reductions: bad dims name the op") {
  Tensor x = ones({2, 3});
  CHECK_THROWS_WITH_AS(ops::sum(x, {2}), doctest::Contains("sum: dim 2 out of range"), Error);
  CHECK_THROWS_WITH_AS(ops::mean(x, {0, 0}), doctest::Contains("appears more than once"), Error);
  CHECK_THROWS_WITH_AS(ops::max(x, -3), doctest::Contains("max: dim -3"), Error);
  CHECK_THROWS_WITH_AS(ops::max(zeros({0})), doctest::Contains("empty"), Error);
}
