// Tests of ops::upsample_bilinear2d (align_corners=False) and its backward: a hand-worked 2x2 -> 4x4
// example, PyTorch fixtures for every row of tests/cases/upsample.h (by size and by scale_factor,
// up and down; forward within 1e-5 in float32, and dx), the adjoint identity, and the errors.
#include <cmath>
#include <string>

#include "cases/upsample.h"
#include "test_util.h"

using namespace fk;

static std::string upsample_label(const test::UpsampleCase& c) {
  std::string s = std::string("upsample_bilinear2d ") + c.name + "(x=" + shape_str(c.x);
  if (c.scale) return s + ", scale=" + std::to_string((*c.scale)[0]) + "x" + std::to_string((*c.scale)[1]) + ")";
  return s + ", size=" + std::to_string(c.size[0]) + "x" + std::to_string(c.size[1]) + ")";
}

// The output size of a case: given, or floor(H * scale) as torch.nn.functional.interpolate
static std::array<int64_t, 2> case_size(const test::UpsampleCase& c) {
  if (!c.scale) return c.size;
  return {int64_t(std::floor(double(c.x[2]) * (*c.scale)[0])), int64_t(std::floor(double(c.x[3]) * (*c.scale)[1]))};
}

TEST_CASE("upsample_bilinear2d: hand-worked 2x2 -> 4x4") {
  // ratio 1/2: source coordinates -0.25 (clamped to 0), 0.25, 0.75, 1.25 (right tap clamped to 1)
  Tensor x = tensor({1, 2, 3, 4}, {1, 1, 2, 2});
  Tensor expected = tensor({1.0, 1.25, 1.75, 2.0,  //
                            1.5, 1.75, 2.25, 2.5,  //
                            2.5, 2.75, 3.25, 3.5,  //
                            3.0, 3.25, 3.75, 4.0},
                           {1, 1, 4, 4});
  CHECK_CLOSE(ops::upsample_bilinear2d(x, {4, 4}), expected, 1e-7, 0, "upsample 2x2 -> 4x4");
  CHECK_CLOSE(ops::upsample_bilinear2d(x, {4, 4}, std::array<double, 2>{2.0, 2.0}), expected, 1e-7, 0,
              "upsample 2x2 scale 2");
  // backward of dy = 1: every input pixel collects total weight 4 (the 16 outputs split evenly by symmetry)
  Tensor dx = ops::upsample_bilinear2d_backward(ones({1, 1, 4, 4}), x.shape());
  CHECK_CLOSE(dx, tensor({4, 4, 4, 4}, {1, 1, 2, 2}), 1e-6, 0, "upsample dx");
  // the same size is a copy
  CHECK_CLOSE(ops::upsample_bilinear2d(x, {2, 2}), x, 0, 0, "upsample identity");
}

TEST_CASE("upsample_bilinear2d: matches PyTorch fixtures") {
  for (const test::UpsampleCase& c : test::upsample_cases) {
    SUBCASE(c.name) {
      const std::string dir = std::string("upsample/") + c.name;
      Tensor x = test::fixture(dir + "_x.npy");
      REQUIRE_MESSAGE(x.shape() == c.x, c.name, ": stored x ", shape_str(x.shape()), " != case ", shape_str(c.x));
      Tensor y = ops::upsample_bilinear2d(x, case_size(c), c.scale);
      CHECK_CLOSE(y, test::fixture(dir + "_y.npy"), 1e-5, 0, upsample_label(c) + " forward");
      Tensor dx = ops::upsample_bilinear2d_backward(test::fixture(dir + "_dy.npy"), x.shape(), c.scale);
      CHECK_CLOSE(dx, test::fixture(dir + "_dx.npy"), 1e-5, 1e-5, upsample_label(c) + " dx");
      // the differentiable twin by scale_factor derives the same size
      if (c.scale) CHECK(fk::upsample_bilinear2d_scale(x, *c.scale).shape() == y.shape());
    }
  }
}

TEST_CASE("upsample_bilinear2d: backward is the adjoint of forward") {
  // <dy, up(x)> = <backward(dy), x> for random x, dy (float64), sizes up, down and by scale
  manual_seed(12);
  struct Row {
    Shape x;
    std::array<int64_t, 2> size;
    std::optional<std::array<double, 2>> scale;
  };
  const std::vector<Row> rows = {{{3, 4, 13, 17}, {29, 40}, std::nullopt},
                                 {{2, 3, 31, 20}, {7, 9}, std::nullopt},
                                 {{2, 2, 10, 12}, {15, 30}, std::array<double, 2>{1.5, 2.5}}};
  for (const Row& r : rows) {
    Tensor x = randn(r.x, DType::Float64);
    Tensor y = ops::upsample_bilinear2d(x, r.size, r.scale);
    Tensor dy = randn(y.shape(), DType::Float64);
    const double lhs = ops::sum(ops::mul(y, dy)).item();
    const double rhs = ops::sum(ops::mul(ops::upsample_bilinear2d_backward(dy, x.shape(), r.scale), x)).item();
    CHECK_MESSAGE(std::abs(lhs - rhs) <= 1e-10 * (1 + std::abs(lhs)), "upsample adjoint x=" << shape_str(r.x));
  }
}

TEST_CASE("upsample_bilinear2d: errors name the op and the shapes") {
  CHECK_THROWS_WITH_AS(ops::upsample_bilinear2d(zeros({3, 4, 4}), {8, 8}),
                       doctest::Contains("upsample_bilinear2d: x must be 4-d (N, C, H, W), got [3, 4, 4]"), Error);
  CHECK_THROWS_WITH_AS(ops::upsample_bilinear2d(zeros({1, 3, 4, 4}), {0, 8}),
                       doctest::Contains("upsample_bilinear2d: output size must be at least 1x1, got 0x8"), Error);
  CHECK_THROWS_WITH_AS(fk::upsample_bilinear2d_scale(zeros({1, 3, 4, 4}), {0.0, 2.0}),
                       doctest::Contains("upsample_bilinear2d: scale_factor must be positive"), Error);
  CHECK_THROWS_WITH_AS(ops::upsample_bilinear2d_backward(zeros({1, 2, 8, 8}), {1, 3, 4, 4}),
                       doctest::Contains("upsample_bilinear2d_backward: dy [1, 2, 8, 8] does not match x=[1, 3, 4, 4]"),
                       Error);
}
