// The per-index CUDA kernels of pooling (cuda/pool_kernels.h) run on the CPU with cuda::emulate, in
// float64, against the CPU ops (tensor/pool.h) on every row of tests/cases/pool.h plus MTCNN's ceil
// pools: outputs and input gradients within 1e-12, max-pool indices exactly. This tests the GPU's
// index arithmetic (windows, ceil_mode, padding, dilation, the backward gathers) without a GPU.
#include "cases/pool.h"
#include "cuda/pool_kernels.h"
#include "tensor/cpu/pool_math.h"
#include "test_util.h"

using namespace fk;

namespace {

// The geometry the public op computes for a case (tensor/pool.cpp), rebuilt from the options.
Pool2dGeometry case_geometry(const test::PoolCase& c) {
  Pool2dGeometry g;
  const Shape& x = c.x;
  g.H = x[x.size() - 2], g.W = x[x.size() - 1];
  g.planes = x.size() == 4 ? x[0] * x[1] : x[0];
  if (c.kind == test::PoolKind::AdaptiveAvg) {
    g.OH = c.output_size[0], g.OW = c.output_size[1];
    return g;
  }
  const auto& o = c.opts;
  g.KH = o.kernel[0], g.KW = o.kernel[1];
  g.SH = o.stride[0] == 0 ? g.KH : o.stride[0];
  g.SW = o.stride[1] == 0 ? g.KW : o.stride[1];
  g.PH = o.padding[0], g.PW = o.padding[1];
  g.DH = o.dilation[0], g.DW = o.dilation[1];
  g.count_include_pad = o.count_include_pad;
  g.OH = cpu::pool_output_size(g.H, g.KH, g.SH, g.PH, g.DH, o.ceil_mode);
  g.OW = cpu::pool_output_size(g.W, g.KW, g.SW, g.PW, g.DW, o.ceil_mode);
  return g;
}

Shape pooled(const Shape& x, const Pool2dGeometry& g) {
  Shape s = x;
  s[s.size() - 2] = g.OH;
  s[s.size() - 1] = g.OW;
  return s;
}

// Runs the case's forward and backward functors and checks them against the CPU ops.
void check_case(const test::PoolCase& c) {
  const std::string label = c.name;
  const Pool2dGeometry g = case_geometry(c);
  Tensor x = randn(c.x, DType::Float64);
  const Shape y_shape = pooled(c.x, g);
  Tensor dy = randn(y_shape, DType::Float64);
  Tensor y = full(y_shape, std::nan(""), DType::Float64);  // every element must be assigned
  Tensor dx = zeros(c.x, DType::Float64);
  const int64_t n_out = numel_of(y_shape), n_in = numel_of(c.x);
  if (c.kind == test::PoolKind::Max) {
    auto [y_ref, i_ref] = ops::max_pool2d_with_indices(x, c.opts);
    REQUIRE_MESSAGE(y_ref.shape() == y_shape, label << ": geometry " << shape_str(y_shape) << " vs op "
                                                    << shape_str(y_ref.shape()));
    Tensor idx = full(y_shape, -7, DType::Int64);
    cuda::emulate(n_out, cuda::MaxPool2dForwardKernel<double>{x.data<double>(), y.data<double>(), idx.data<int64_t>(), g});
    CHECK_CLOSE(y, y_ref, 0, 0, label + " forward");
    CHECK_MESSAGE(idx.to_vector<int64_t>() == i_ref.to_vector<int64_t>(), label << ": indices differ");
    // the variant without indices writes the same values
    Tensor y2 = full(y_shape, std::nan(""), DType::Float64);
    cuda::emulate(n_out, cuda::MaxPool2dForwardKernel<double>{x.data<double>(), y2.data<double>(), nullptr, g});
    CHECK_CLOSE(y2, y_ref, 0, 0, label + " forward without indices");
    cuda::emulate(n_out, cuda::MaxPool2dBackwardKernel<double>{dy.data<double>(), i_ref.data<int64_t>(),
                                                               dx.data<double>(), g.OH * g.OW, g.H * g.W});
    CHECK_CLOSE(dx, ops::max_pool2d_backward(dy, i_ref, c.x), 1e-12, 1e-12, label + " backward");
  } else if (c.kind == test::PoolKind::Avg) {
    Tensor y_ref = ops::avg_pool2d(x, c.opts);
    REQUIRE(y_ref.shape() == y_shape);
    cuda::emulate(n_out, cuda::AvgPool2dForwardKernel<double>{x.data<double>(), y.data<double>(), g});
    CHECK_CLOSE(y, y_ref, 1e-12, 1e-12, label + " forward");
    dx = full(c.x, std::nan(""), DType::Float64);  // the gather assigns every element
    cuda::emulate(n_in, cuda::AvgPool2dBackwardKernel<double>{dy.data<double>(), dx.data<double>(), g});
    CHECK_CLOSE(dx, ops::avg_pool2d_backward(dy, c.x, c.opts), 1e-12, 1e-12, label + " backward");
  } else {
    Tensor y_ref = ops::adaptive_avg_pool2d(x, c.output_size);
    REQUIRE(y_ref.shape() == y_shape);
    cuda::emulate(n_out, cuda::AdaptiveAvgPool2dForwardKernel<double>{x.data<double>(), y.data<double>(), g});
    CHECK_CLOSE(y, y_ref, 1e-12, 1e-12, label + " forward");
    dx = full(c.x, std::nan(""), DType::Float64);
    cuda::emulate(n_in, cuda::AdaptiveAvgPool2dBackwardKernel<double>{dy.data<double>(), dx.data<double>(), g});
    CHECK_CLOSE(dx, ops::adaptive_avg_pool2d_backward(dy, c.x), 1e-12, 1e-12, label + " backward");
  }
}

}  // namespace

TEST_CASE("cuda pool kernels: emulated on the CPU, equal to the CPU ops on every pool case") {
  manual_seed(7);
  for (const test::PoolCase& c : test::pool_cases) {
    SUBCASE(c.name) { check_case(c); }
  }
}

TEST_CASE("cuda pool kernels: MTCNN's ceil_mode pools on odd and even maps") {
  manual_seed(8);
  const std::vector<test::PoolCase> cases = {
      {"pnet_k2s2_ceil_odd", test::PoolKind::Max, {2, 10, 23, 17}, {{2, 2}, {2, 2}, {0, 0}, {1, 1}, true, true}},
      {"rnet_k3s2_ceil_even", test::PoolKind::Max, {2, 28, 22, 22}, {{3, 3}, {2, 2}, {0, 0}, {1, 1}, true, true}},
      {"onet_k3s2_ceil_odd", test::PoolKind::Max, {1, 32, 47, 47}, {{3, 3}, {2, 2}, {0, 0}, {1, 1}, true, true}},
      {"avg_k3s2_ceil_pad", test::PoolKind::Avg, {2, 3, 10, 11}, {{3, 3}, {2, 2}, {1, 1}, {1, 1}, true, false}},
      {"adaptive_odd", test::PoolKind::AdaptiveAvg, {2, 3, 13, 11}, {}, {5, 4}},
  };
  for (const test::PoolCase& c : cases) {
    SUBCASE(c.name) { check_case(c); }
  }
}

TEST_CASE("cuda pool kernels: the avg backward gather finds exactly the windows that contain an input") {
  // brute force over every output window for many geometries: avg_outputs_of must cover them all
  for (int64_t in = 1; in <= 9; ++in)
    for (int64_t K = 1; K <= 4; ++K)
      for (int64_t S = 1; S <= 3; ++S)
        for (int64_t P = 0; P <= K / 2; ++P)
          for (bool ceil_mode : {false, true}) {
            if (K > in + 2 * P) continue;
            const int64_t out = cpu::pool_output_size(in, K, S, P, 1, ceil_mode);
            for (int64_t i = 0; i < in; ++i) {
              int64_t o0, o1;
              cpu::avg_outputs_of(i, K, S, P, out, o0, o1);
              for (int64_t o = 0; o < out; ++o) {
                const cpu::AvgWindow w = cpu::avg_window(o, K, S, P, in);
                const bool contains = i >= w.i0 && i < w.i1;
                if (contains) CHECK_MESSAGE((o >= o0 && o < o1), "in=" << in << " K=" << K << " S=" << S << " P=" << P
                                                                      << " i=" << i << " misses window " << o);
              }
            }
          }
}
