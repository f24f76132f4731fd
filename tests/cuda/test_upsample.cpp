// CUDA vs CPU for bilinear upsampling (tensor/upsample.h, align_corners=False): every row of
// tests/cases/upsample.h (by size and by scale_factor) plus a large map, forward and backward,
// float32 (rel 1e-5) and float64 (1e-12), contiguous and non-contiguous inputs. Kernels: cuda/upsample.cu.
#include <cmath>

#include "cases/upsample.h"
#include "test_util.h"

using namespace fk;

namespace {

const Device kGpu = Device::cuda();

std::array<int64_t, 2> case_size(const test::UpsampleCase& c) {
  if (!c.scale) return c.size;
  return {int64_t(std::floor(double(c.x[2]) * (*c.scale)[0])), int64_t(std::floor(double(c.x[3]) * (*c.scale)[1]))};
}

void check_case(const test::UpsampleCase& c, DType dt) {
  const double tol = dt == DType::Float64 ? 1e-12 : 1e-5;
  const std::string label = std::string(c.name) + " " + dtype_name(dt) + " x=" + shape_str(c.x);
  const auto size = case_size(c);
  // contiguous input
  Tensor x = randn(c.x, dt);
  Tensor y = ops::upsample_bilinear2d(x, size, c.scale);
  Tensor yg = ops::upsample_bilinear2d(x.to(kGpu), size, c.scale);
  CHECK(yg.device().is_cuda());
  CHECK_CLOSE(yg, y, tol, tol, label + " forward");
  // a transposed (non-contiguous) input on the GPU
  Tensor t = randn({c.x[0], c.x[1], c.x[3], c.x[2]}, dt);
  CHECK_CLOSE(ops::upsample_bilinear2d(ops::transpose(t.to(kGpu), 2, 3), size, c.scale),
              ops::upsample_bilinear2d(ops::transpose(t, 2, 3), size, c.scale), tol, tol, label + " transposed forward");
  // backward, dy contiguous and sliced
  Tensor dy = randn(y.shape(), dt);
  CHECK_CLOSE(ops::upsample_bilinear2d_backward(dy.to(kGpu), c.x, c.scale),
              ops::upsample_bilinear2d_backward(dy, c.x, c.scale), tol, tol, label + " backward");
  Tensor wide = randn({y.size(0), y.size(1), y.size(2), 2 * y.size(3)}, dt);
  CHECK_CLOSE(ops::upsample_bilinear2d_backward(ops::slice(wide.to(kGpu), 3, 1, 2 * y.size(3), 2), c.x, c.scale),
              ops::upsample_bilinear2d_backward(ops::slice(wide, 3, 1, 2 * y.size(3), 2), c.x, c.scale), tol, tol,
              label + " sliced backward");
}

}  // namespace

TEST_CASE("upsample_bilinear2d: GPU equals CPU on every upsample case, forward and backward") {
  manual_seed(41);
  for (const test::UpsampleCase& c : test::upsample_cases) {
    SUBCASE(c.name) {
      check_case(c, DType::Float32);
      check_case(c, DType::Float64);
    }
  }
}

TEST_CASE("upsample_bilinear2d: GPU equals CPU on large maps, up and down") {
  manual_seed(42);
  const std::vector<test::UpsampleCase> cases = {
      {"big_up", {2, 8, 37, 53}, {111, 100}, std::nullopt},
      {"big_down", {2, 8, 120, 90}, {31, 47}, std::nullopt},
      {"big_scale", {1, 4, 33, 29}, {0, 0}, std::array<double, 2>{2.5, 1.3}},
  };
  for (const test::UpsampleCase& c : cases) {
    SUBCASE(c.name) {
      check_case(c, DType::Float32);
      check_case(c, DType::Float64);
    }
  }
}

TEST_CASE("upsample_bilinear2d: hand-worked 2x2 -> 4x4 on the GPU") {
  Tensor x = tensor({1, 2, 3, 4}, {1, 1, 2, 2}).to(kGpu);
  Tensor expected = tensor({1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4}, {1, 1, 4, 4});
  CHECK_CLOSE(ops::upsample_bilinear2d(x, {4, 4}), expected, 1e-7, 0, "upsample 2x2 -> 4x4 on cuda");
  // every input pixel receives a quarter of the 16 ones: 4 each
  CHECK_CLOSE(ops::upsample_bilinear2d_backward(ones({1, 1, 4, 4}).to(kGpu), {1, 1, 2, 2}), full({1, 1, 2, 2}, 4.0),
              1e-6, 0, "upsample backward of ones");
}
