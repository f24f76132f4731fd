// The per-index CUDA kernels of bilinear upsampling (cuda/upsample_kernels.h) run on the CPU with
// cuda::emulate, in float64 and float32, against the CPU ops (tensor/upsample.h) on every row of
// tests/cases/upsample.h: forward and the backward gather within 1e-12 (float64). Also checks that
// linear_tap_ranges covers every output that reads an input, by brute force.
#include <cmath>

#include "cases/upsample.h"
#include "cuda/upsample_kernels.h"
#include "test_util.h"

using namespace fk;

namespace {

// The output size of a case: given, or floor(H * scale) as torch.nn.functional.interpolate.
std::array<int64_t, 2> case_size(const test::UpsampleCase& c) {
  if (!c.scale) return c.size;
  return {int64_t(std::floor(double(c.x[2]) * (*c.scale)[0])), int64_t(std::floor(double(c.x[3]) * (*c.scale)[1]))};
}

// The geometry tensor/upsample.cpp computes for a case.
Upsample2dGeometry case_geometry(const test::UpsampleCase& c) {
  const auto size = case_size(c);
  Upsample2dGeometry g;
  g.planes = c.x[0] * c.x[1];
  g.H = c.x[2], g.W = c.x[3], g.OH = size[0], g.OW = size[1];
  g.ratio_h = c.scale ? 1.0 / (*c.scale)[0] : double(g.H) / double(g.OH);
  g.ratio_w = c.scale ? 1.0 / (*c.scale)[1] : double(g.W) / double(g.OW);
  return g;
}

template <class T>
void check_case(const test::UpsampleCase& c, double tol) {
  const std::string label = std::string(c.name) + (sizeof(T) == 8 ? " float64" : " float32");
  const Upsample2dGeometry g = case_geometry(c);
  const DType dt = dtype_of<T>::value;
  Tensor x = randn(c.x, dt);
  const Shape y_shape{c.x[0], c.x[1], g.OH, g.OW};
  Tensor y = full(y_shape, std::nan(""), dt);
  cuda::emulate(numel_of(y_shape), cuda::UpsampleBilinear2dForwardKernel<T>{x.data<T>(), y.data<T>(), g});
  CHECK_CLOSE(y, ops::upsample_bilinear2d(x, case_size(c), c.scale), tol, tol, label + " forward");

  Tensor dy = randn(y_shape, dt);
  const std::vector<int64_t> rh = cpu::linear_tap_ranges<T>(g.H, g.OH, g.ratio_h);
  const std::vector<int64_t> rw = cpu::linear_tap_ranges<T>(g.W, g.OW, g.ratio_w);
  Tensor dx = full(c.x, std::nan(""), dt);  // the gather assigns every element
  cuda::emulate(numel_of(c.x),
                cuda::UpsampleBilinear2dBackwardKernel<T>{dy.data<T>(), dx.data<T>(), rh.data(), rw.data(), g});
  CHECK_CLOSE(dx, ops::upsample_bilinear2d_backward(dy, c.x, c.scale), tol, tol, label + " backward");
}

}  // namespace

TEST_CASE("cuda upsample kernels: emulated on the CPU, equal to the CPU ops on every upsample case") {
  manual_seed(11);
  for (const test::UpsampleCase& c : test::upsample_cases) {
    SUBCASE(c.name) {
      check_case<double>(c, 1e-12);
      check_case<float>(c, 1e-5);
    }
  }
}

TEST_CASE("cuda upsample kernels: linear_tap_ranges holds every output that reads an input") {
  for (int64_t in = 1; in <= 12; ++in)
    for (int64_t out = 1; out <= 25; ++out)
      for (double ratio : {double(in) / double(out), 0.5, 1.0 / 1.7, 2.0, 1.0 / 2.3}) {
        const std::vector<int64_t> r = cpu::linear_tap_ranges<double>(in, out, ratio);
        for (int64_t o = 0; o < out; ++o) {
          const cpu::LinearTap<double> t = cpu::linear_tap<double>(o, in, out, ratio);
          for (int64_t i : {t.i0, t.i1}) {
            REQUIRE(i >= 0);
            REQUIRE(i < in);
            CHECK_MESSAGE((o >= r[size_t(i)] && o < r[size_t(in + i)]),
                          "in=" << in << " out=" << out << " ratio=" << ratio << ": output " << o << " reads " << i
                                << " outside [" << r[size_t(i)] << ", " << r[size_t(in + i)] << ")");
          }
        }
      }
}
