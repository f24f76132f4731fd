// Tests of ops::max_pool2d, avg_pool2d, adaptive_avg_pool2d and their backwards: hand-worked
// examples, PyTorch fixtures for every row of tests/cases/pool.h (outputs within 1e-5 in float32,
// max-pool indices exactly, input gradients), output-size rules, and the error messages.
#include <cmath>
#include <limits>
#include <string>

#include "cases/pool.h"
#include "test_util.h"

using namespace fk;

static std::string pool_label(const test::PoolCase& c) {
  const auto& o = c.opts;
  auto p = [](const std::array<int64_t, 2>& a) { return std::to_string(a[0]) + "x" + std::to_string(a[1]); };
  if (c.kind == test::PoolKind::AdaptiveAvg)
    return std::string("adaptive_avg_pool2d ") + c.name + "(x=" + shape_str(c.x) + ", out=" + p(c.output_size) + ")";
  return std::string(c.kind == test::PoolKind::Max ? "max_pool2d " : "avg_pool2d ") + c.name + "(x=" +
         shape_str(c.x) + ", k=" + p(o.kernel) + ", s=" + p(o.stride) + ", p=" + p(o.padding) + ", d=" +
         p(o.dilation) + ", ceil=" + (o.ceil_mode ? "1" : "0") + ", include_pad=" + (o.count_include_pad ? "1" : "0") +
         ")";
}

TEST_CASE("max_pool2d: hand-worked 4x4 map, 2x2 windows, four winners") {
  Tensor x = tensor({1, 5, 2, 0,  //
                     3, 4, 8, 6,  //
                     7, 0, 1, 2,  //
                     9, 3, 4, 5},
                    {1, 1, 4, 4});
  auto [y, idx] = ops::max_pool2d_with_indices(x, {{2, 2}});
  CHECK_CLOSE(y, tensor({5, 8, 9, 5}, {1, 1, 2, 2}), 0, 0, "max_pool2d 4x4 k2");
  CHECK(idx.to_vector<int64_t>() == std::vector<int64_t>{1, 6, 12, 15});  // flat h*W + w in the plane
  // dy = [[1,2],[3,4]] lands on the four winners
  Tensor dx = ops::max_pool2d_backward(tensor({1, 2, 3, 4}, {1, 1, 2, 2}), idx, x.shape());
  CHECK_CLOSE(dx, tensor({0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0, 0, 4}, {1, 1, 4, 4}), 0, 0, "max_pool2d dx");
}

TEST_CASE("max_pool2d: padding never wins, NaN does, overlapping windows accumulate") {
  // all values negative: a zero-padded pool would return 0 at the borders; PyTorch pads with -inf
  Tensor x = tensor({-5, -4, -3, -2, -1, -6, -7, -8, -9}, {1, 3, 3});
  CHECK_CLOSE(ops::max_pool2d(x, {{3, 3}, {1, 1}, {1, 1}}),
              tensor({-1, -1, -1, -1, -1, -1, -1, -1, -1}, {1, 3, 3}), 0, 0, "max_pool2d negative with padding");
  Tensor xn = tensor({1, std::nan(""), 3, 4}, {1, 1, 2, 2});
  CHECK(std::isnan(ops::max_pool2d(xn, {{2, 2}}).item()));
  // the centre of a 3x3 map wins all four overlapping 2x2 stride-1 windows: its gradient is their sum
  Tensor xc = tensor({0, 0, 0, 0, 9, 0, 0, 0, 0}, {1, 1, 3, 3});
  auto [y, idx] = ops::max_pool2d_with_indices(xc, {{2, 2}, {1, 1}});
  Tensor dx = ops::max_pool2d_backward(tensor({1, 2, 3, 4}, {1, 1, 2, 2}), idx, xc.shape());
  CHECK(dx.to_vector<float>()[4] == 10);
}

TEST_CASE("avg_pool2d: hand-worked divisors with padding and ceil_mode") {
  Tensor x = tensor({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  CHECK_CLOSE(ops::avg_pool2d(x, {{2, 2}, {1, 1}}), tensor({3, 4, 6, 7}, {1, 1, 2, 2}), 0, 0, "avg_pool2d k2 s1");
  // 3x3 window, padding 1: the corner window holds 1,2,4,5 (sum 12) and five padded zeros
  ops::Pool2dOptions inc{{3, 3}, {1, 1}, {1, 1}};
  CHECK(ops::avg_pool2d(x, inc).to_vector<double>()[0] == doctest::Approx(12.0 / 9));
  ops::Pool2dOptions exc = inc;
  exc.count_include_pad = false;
  CHECK(ops::avg_pool2d(x, exc).to_vector<double>()[0] == doctest::Approx(12.0 / 4));
  // ceil_mode 2x2/2 on 3x3: the last windows hang off the input and are divided by their clipped size
  ops::Pool2dOptions ceil{{2, 2}};
  ceil.ceil_mode = true;
  CHECK_CLOSE(ops::avg_pool2d(x, ceil), tensor({3, 4.5, 7.5, 9}, {1, 1, 2, 2}), 0, 0, "avg_pool2d ceil");
  // backward: each dy spreads dy/divisor over its window
  Tensor dx = ops::avg_pool2d_backward(tensor({4, 2, 2, 1}, {1, 1, 2, 2}), x.shape(), ceil);
  CHECK_CLOSE(dx, tensor({1, 1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 3, 3}), 0, 0, "avg_pool2d ceil dx");
}

TEST_CASE("adaptive_avg_pool2d: hand-worked overlapping windows") {
  // 3 -> 2: windows [0, 2) and [1, 3)
  Tensor x = tensor({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  CHECK_CLOSE(ops::adaptive_avg_pool2d(x, {2, 2}), tensor({3, 4, 6, 7}, {1, 1, 2, 2}), 0, 0, "adaptive 3->2");
  // 5 -> 2: windows [0, 3) and [2, 5)
  Tensor r = tensor({1, 2, 3, 4, 5}, {1, 1, 5});
  CHECK_CLOSE(ops::adaptive_avg_pool2d(r, {1, 2}), tensor({2, 4}, {1, 1, 2}), 0, 0, "adaptive 5->2");
  // backward: x[2] sits in both windows
  Tensor dx = ops::adaptive_avg_pool2d_backward(tensor({3, 6}, {1, 1, 2}), r.shape());
  CHECK_CLOSE(dx, tensor({1, 1, 3, 2, 2}, {1, 1, 5}), 0, 0, "adaptive 5->2 dx");
}

TEST_CASE("max_pool2d: ceil_mode output sizes follow PyTorch's rule") {
  auto out = [](int64_t H, int64_t k, int64_t s, int64_t p) {
    ops::Pool2dOptions o{{k, k}, {s, s}, {p, p}};
    o.ceil_mode = true;
    return ops::max_pool2d(zeros({1, 1, H, H}), o).size(-1);
  };
  CHECK(out(11, 3, 2, 0) == 5);   // MTCNN-style, odd: exact fit
  CHECK(out(12, 3, 2, 0) == 6);   // even: a partial last window
  CHECK(out(112, 3, 2, 0) == 56); // Caffe ResNet stem
  CHECK(out(5, 2, 2, 1) == 3);    // ceil gives 4, but window 4 would start in the right padding
  CHECK(out(6, 2, 3, 0) == 2);    // ceil gives 3, but window 3 would start at 6 >= H
}

TEST_CASE("pooling: matches PyTorch fixtures") {
  for (const test::PoolCase& c : test::pool_cases) {
    SUBCASE(c.name) {
      const std::string dir = std::string("pool/") + c.name;
      Tensor x = test::fixture(dir + "_x.npy");
      REQUIRE_MESSAGE(x.shape() == c.x, c.name, ": stored x ", shape_str(x.shape()), " != case ", shape_str(c.x));
      Tensor dy = test::fixture(dir + "_dy.npy");
      Tensor y, dx;
      if (c.kind == test::PoolKind::Max) {
        auto [ym, idx] = ops::max_pool2d_with_indices(x, c.opts);
        CHECK_CLOSE(idx, test::fixture(dir + "_indices.npy"), 0, 0, pool_label(c) + " indices");
        y = ym;
        dx = ops::max_pool2d_backward(dy, idx, x.shape());
      } else if (c.kind == test::PoolKind::Avg) {
        y = ops::avg_pool2d(x, c.opts);
        dx = ops::avg_pool2d_backward(dy, x.shape(), c.opts);
      } else {
        y = ops::adaptive_avg_pool2d(x, c.output_size);
        dx = ops::adaptive_avg_pool2d_backward(dy, x.shape());
      }
      CHECK_CLOSE(y, test::fixture(dir + "_y.npy"), 1e-5, 0, pool_label(c) + " forward");
      CHECK_CLOSE(dx, test::fixture(dir + "_dx.npy"), 1e-5, 1e-5, pool_label(c) + " dx");
    }
  }
}

TEST_CASE("pooling: float64, non-contiguous input and large planes agree with float32") {
  manual_seed(9);
  Tensor x = ops::transpose(randn({3, 5, 40, 33}, DType::Float64), 2, 3);  // (3, 5, 33, 40), non-contiguous
  ops::Pool2dOptions o{{3, 3}, {2, 2}, {1, 1}};
  o.ceil_mode = true;
  CHECK_CLOSE(ops::max_pool2d(x, o).to(DType::Float32), ops::max_pool2d(x.to(DType::Float32), o), 0, 0,
              "max_pool2d float64 vs float32");
  CHECK_CLOSE(ops::avg_pool2d(x, o).to(DType::Float32), ops::avg_pool2d(x.to(DType::Float32), o), 1e-6, 1e-6,
              "avg_pool2d float64 vs float32");
  CHECK_CLOSE(ops::adaptive_avg_pool2d(x, {5, 7}).to(DType::Float32),
              ops::adaptive_avg_pool2d(x.to(DType::Float32), {5, 7}), 1e-6, 1e-6, "adaptive float64 vs float32");
}

TEST_CASE("pooling: errors name the op and the shapes") {
  Tensor x = zeros({1, 16, 3, 3});
  CHECK_THROWS_WITH_AS(ops::max_pool2d(x, {{5, 5}, {1, 1}, {0, 0}}),
                       doctest::Contains("max_pool2d: kernel 5x5 is larger than padded input 3x3 (x=[1, 16, 3, 3]"),
                       Error);
  CHECK_THROWS_WITH_AS(ops::max_pool2d(x, {{3, 3}, {1, 1}, {2, 2}}),
                       doctest::Contains("max_pool2d: padding 2x2 must be at most half of the kernel 3x3"), Error);
  CHECK_THROWS_WITH_AS(ops::max_pool2d(zeros({3, 3}), {{2, 2}}),
                       doctest::Contains("max_pool2d: x must be 3-d (C, H, W) or 4-d (N, C, H, W), got [3, 3]"), Error);
  CHECK_THROWS_WITH_AS(ops::max_pool2d(x, {{2, 2}, {-1, 1}}), doctest::Contains("max_pool2d: stride must be >= 1"),
                       Error);
  CHECK_THROWS_WITH_AS(ops::max_pool2d(x.to(DType::Int64), {{2, 2}}), doctest::Contains("max_pool2d: x has dtype int64"),
                       Error);
  CHECK_THROWS_WITH_AS(ops::avg_pool2d(x, {{2, 2}, {0, 0}, {0, 0}, {2, 2}}),
                       doctest::Contains("avg_pool2d: dilation is not supported"), Error);
  CHECK_THROWS_WITH_AS(ops::avg_pool2d(x, {{4, 4}}), doctest::Contains("avg_pool2d: kernel 4x4 is larger"), Error);
  CHECK_THROWS_WITH_AS(ops::adaptive_avg_pool2d(x, {0, 2}),
                       doctest::Contains("adaptive_avg_pool2d: output_size must be at least 1x1, got 0x2"), Error);
  CHECK_THROWS_WITH_AS(ops::avg_pool2d_backward(zeros({1, 16, 2, 2}), x.shape(), {{2, 2}}),
                       doctest::Contains("avg_pool2d_backward: dy [1, 16, 2, 2] does not match the output shape "
                                         "[1, 16, 1, 1]"),
                       Error);
  CHECK_THROWS_WITH_AS(ops::max_pool2d_backward(zeros({1, 16, 1, 1}), zeros({1, 16, 1, 1}), x.shape()),
                       doctest::Contains("max_pool2d_backward: indices must be int64"), Error);
}
