// CUDA vs CPU for the pooling ops (tensor/pool.h): every row of tests/cases/pool.h plus MTCNN's
// ceil_mode pools, forward and backward, float32 (rel 1e-5) and float64 (1e-12), max-pool indices
// exactly, contiguous and non-contiguous (transposed, sliced) inputs. Kernels: cuda/pool.cu.
#include <cmath>

#include "cases/pool.h"
#include "test_util.h"

using namespace fk;

namespace {

const Device kGpu = Device::cuda();

// One random input in three layouts, each as a CPU tensor and the same view of a GPU copy of its base:
// contiguous, transposed (the last two dims swapped back) and sliced (every other column of a wider map).
struct Layout {
  const char* name;
  Tensor cpu, gpu;
};
std::vector<Layout> layouts(const Shape& shape, DType dt) {
  std::vector<Layout> out;
  Tensor x = randn(shape, dt);
  out.push_back({"contiguous", x, x.to(kGpu)});
  Shape swapped = shape;
  std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
  Tensor t = randn(swapped, dt);
  out.push_back({"transposed", ops::transpose(t, -1, -2), ops::transpose(t.to(kGpu), -1, -2)});
  Shape wide = shape;
  wide.back() *= 2;
  Tensor w = randn(wide, dt);
  out.push_back({"sliced", ops::slice(w, -1, 0, wide.back(), 2), ops::slice(w.to(kGpu), -1, 0, wide.back(), 2)});
  return out;
}

std::string label(const test::PoolCase& c, DType dt, const char* layout, const char* what) {
  return std::string(c.name) + " " + dtype_name(dt) + " " + layout + " " + what + " x=" + shape_str(c.x);
}

void check_case(const test::PoolCase& c, DType dt) {
  const double tol = dt == DType::Float64 ? 1e-12 : 1e-5;
  for (const Layout& l : layouts(c.x, dt)) {
    const char* layout = l.name;
    const Tensor& x = l.cpu;
    const Tensor& xg = l.gpu;
    REQUIRE(xg.device().is_cuda());
    REQUIRE(xg.shape() == x.shape());
    if (std::string(layout) != "contiguous" && x.size(-1) > 1 && x.size(-2) > 1) CHECK_FALSE(xg.is_contiguous());
    CHECK_CLOSE(xg, x, 0, 0, label(c, dt, layout, "input copy"));
    if (c.kind == test::PoolKind::Max) {
      auto [y, idx] = ops::max_pool2d_with_indices(x, c.opts);
      auto [yg, idxg] = ops::max_pool2d_with_indices(xg, c.opts);
      CHECK(yg.device().is_cuda());
      CHECK_CLOSE(yg, y, 0, 0, label(c, dt, layout, "max_pool2d forward"));
      CHECK_MESSAGE(idxg.to_vector<int64_t>() == idx.to_vector<int64_t>(), label(c, dt, layout, "indices"));
      CHECK_CLOSE(ops::max_pool2d(xg, c.opts), y, 0, 0, label(c, dt, layout, "max_pool2d without indices"));
      Tensor dy = randn(y.shape(), dt);
      Tensor dx = ops::max_pool2d_backward(dy, idx, c.x);
      CHECK_CLOSE(ops::max_pool2d_backward(dy.to(kGpu), idxg, c.x), dx, tol, tol, label(c, dt, layout, "backward"));
    } else if (c.kind == test::PoolKind::Avg) {
      Tensor y = ops::avg_pool2d(x, c.opts);
      CHECK_CLOSE(ops::avg_pool2d(xg, c.opts), y, tol, tol, label(c, dt, layout, "avg_pool2d forward"));
      Tensor dy = randn(y.shape(), dt);
      // a transposed dy on the GPU as well
      Tensor dyg = ops::transpose(ops::transpose(dy, -1, -2).contiguous().to(kGpu), -1, -2);
      CHECK_CLOSE(ops::avg_pool2d_backward(dyg, c.x, c.opts), ops::avg_pool2d_backward(dy, c.x, c.opts), tol, tol,
                  label(c, dt, layout, "avg_pool2d backward"));
    } else {
      Tensor y = ops::adaptive_avg_pool2d(x, c.output_size);
      CHECK_CLOSE(ops::adaptive_avg_pool2d(xg, c.output_size), y, tol, tol, label(c, dt, layout, "adaptive forward"));
      Tensor dy = randn(y.shape(), dt);
      CHECK_CLOSE(ops::adaptive_avg_pool2d_backward(dy.to(kGpu), c.x), ops::adaptive_avg_pool2d_backward(dy, c.x), tol,
                  tol, label(c, dt, layout, "adaptive backward"));
    }
  }
}

}  // namespace

TEST_CASE("pool: GPU equals CPU on every pool case, forward and backward") {
  manual_seed(31);
  for (const test::PoolCase& c : test::pool_cases) {
    SUBCASE(c.name) {
      check_case(c, DType::Float32);
      check_case(c, DType::Float64);
    }
  }
}

TEST_CASE("max_pool2d: MTCNN's ceil_mode pools on the GPU keep the partial last window") {
  manual_seed(32);
  const std::vector<test::PoolCase> cases = {
      // PNet: 2x2 stride 2 ceil on an odd map (12x12 input -> 10x10 conv -> 5x5; odd pyramid levels)
      {"pnet_k2s2_ceil", test::PoolKind::Max, {2, 10, 23, 17}, {{2, 2}, {2, 2}, {0, 0}, {1, 1}, true, true}},
      // RNet / ONet: 3x3 stride 2 ceil (22 -> 11, 46 -> 23, 47 -> 23)
      {"rnet_k3s2_ceil", test::PoolKind::Max, {4, 28, 22, 22}, {{3, 3}, {2, 2}, {0, 0}, {1, 1}, true, true}},
      {"onet_k3s2_ceil", test::PoolKind::Max, {2, 32, 46, 47}, {{3, 3}, {2, 2}, {0, 0}, {1, 1}, true, true}},
      {"big_map", test::PoolKind::Max, {2, 16, 130, 97}, {{3, 3}, {2, 2}, {1, 1}, {1, 1}, true, true}},
      {"big_avg", test::PoolKind::Avg, {2, 16, 65, 63}, {{3, 3}, {2, 2}, {1, 1}, {1, 1}, true, false}},
  };
  for (const test::PoolCase& c : cases) {
    SUBCASE(c.name) {
      check_case(c, DType::Float32);
      check_case(c, DType::Float64);
    }
  }
  // the sizes PyTorch gives
  Tensor y = ops::max_pool2d(randn({1, 10, 23, 17}).to(kGpu), {{2, 2}, {2, 2}, {0, 0}, {1, 1}, true});
  CHECK(y.shape() == Shape{1, 10, 12, 9});
}

TEST_CASE("max_pool2d: overlapping windows accumulate on the GPU, NaN wins") {
  // the centre of a 3x3 map wins all four overlapping 2x2 stride-1 windows: its gradient is their sum
  Tensor xc = tensor({0, 0, 0, 0, 9, 0, 0, 0, 0}, {1, 1, 3, 3}).to(kGpu);
  auto [y, idx] = ops::max_pool2d_with_indices(xc, {{2, 2}, {1, 1}});
  CHECK(idx.to_vector<int64_t>() == std::vector<int64_t>{4, 4, 4, 4});
  Tensor dx = ops::max_pool2d_backward(tensor({1, 2, 3, 4}, {1, 1, 2, 2}).to(kGpu), idx, xc.shape());
  CHECK(dx.to_vector<float>() == std::vector<float>{0, 0, 0, 0, 10, 0, 0, 0, 0});
  Tensor xn = tensor({1, std::nan(""), 3, 4}, {1, 1, 2, 2}).to(kGpu);
  CHECK(std::isnan(ops::max_pool2d(xn, {{2, 2}}).item()));
}

TEST_CASE("max_pool2d_backward: indices on another device than dy is a clear error") {
  Tensor x = randn({1, 1, 4, 4}).to(kGpu);
  auto [y, idx] = ops::max_pool2d_with_indices(x, {{2, 2}});
  CHECK_THROWS_WITH_AS(ops::max_pool2d_backward(y, idx.to(Device::cpu()), x.shape()),
                       doctest::Contains("indices on cpu but dy on cuda:0"), Error);
}

TEST_CASE("pool: autograd through max_pool2d and avg_pool2d on the GPU matches the CPU") {
  manual_seed(33);
  Tensor x = randn({2, 3, 9, 9}, DType::Float64);
  Tensor g = randn({2, 3, 5, 5}, DType::Float64);
  auto grad_of = [&](Device dev) {
    Tensor xl = x.to(dev).requires_grad_();
    Tensor y = add(max_pool2d(xl, {{3, 3}, {2, 2}, {1, 1}}), avg_pool2d(xl, {{3, 3}, {2, 2}, {1, 1}, {1, 1}, true, false}));
    sum(mul(y, g.to(dev))).backward();
    return xl.grad();
  };
  Tensor gc = grad_of(Device::cpu()), gg = grad_of(kGpu);
  CHECK(gg.device().is_cuda());
  CHECK_CLOSE(gg, gc, 1e-12, 1e-12, "d(max_pool2d + avg_pool2d)/dx");
}
