// The per-index functors of the CUDA conv2d (cuda/conv_kernels.h) run on the CPU through cuda::emulate,
// so their index arithmetic is tested on machines without a GPU: a conv computed as emulated im2col +
// CPU GEMM (+ the bias functor) must equal ops::conv2d, and dx computed as CPU GEMM + emulated col2im
// must equal ops::conv2d_backward's dx, for every row of tests/cases/conv.h, float64, within 1e-12.
// Both the per-image layout the GPU uses (1 image per column matrix) and whole-batch ones are checked.
#include <algorithm>
#include <string>
#include <vector>

#include "cases/conv.h"
#include "cuda/conv_kernels.h"
#include "cuda/launch.h"
#include "tensor/cpu/conv_math.h"
#include "tensor/creation.h"
#include "tensor/linalg.h"
#include "test_util.h"

using namespace fk;

namespace {

Conv2dGeometry geometry_of(const test::ConvCase& c) {
  Conv2dGeometry g;
  g.N = c.x[0], g.C = c.x[1], g.H = c.x[2], g.W = c.x[3];
  g.OC = c.w[0], g.KH = c.w[2], g.KW = c.w[3];
  g.SH = c.opts.stride[0], g.SW = c.opts.stride[1], g.PH = c.opts.padding[0], g.PW = c.opts.padding[1];
  g.DH = c.opts.dilation[0], g.DW = c.opts.dilation[1], g.groups = c.opts.groups;
  g.OH = cpu::conv_out_size(g.H, g.PH, g.DH, g.KH, g.SH);
  g.OW = cpu::conv_out_size(g.W, g.PW, g.DW, g.KW, g.SW);
  return g;
}

// y (N, OC, L) from chunks of NC images: emulated im2col, one CPU GEMM per group, permute, emulated bias.
Tensor conv_via_functors(const Conv2dGeometry& g, const Tensor& x, const Tensor& w, const Tensor& b, int64_t NC) {
  const int64_t L = g.OH * g.OW, G = g.groups, Cg = g.C / G, OCg = g.OC / G, Kg = Cg * g.KH * g.KW;
  Tensor y = zeros({g.N, g.OC, g.OH, g.OW}, DType::Float64);
  double* py = y.data<double>();
  for (int64_t n0 = 0; n0 < g.N; n0 += NC) {
    const int64_t NI = std::min(NC, g.N - n0), NL = NI * L;
    std::vector<double> col(size_t(g.C * g.KH * g.KW * NL), -1.0);  // -1: a slot the functor never wrote
    cuda::emulate(int64_t(col.size()), cuda::Im2colKernel<double>{g, x.data<double>() + n0 * g.C * g.H * g.W,
                                                                 col.data(), NI});
    std::vector<double> out(size_t(g.OC * NL));  // (OC, NI*L)
    for (int64_t gi = 0; gi < G; ++gi)
      cpu::gemm(false, false, OCg, NL, Kg, 1.0, w.data<double>() + gi * OCg * Kg, Kg, col.data() + gi * Kg * NL, NL,
                0.0, out.data() + gi * OCg * NL, NL);
    for (int64_t n = 0; n < NI; ++n)  // (OC, NI, L) -> (NI, OC, L)
      for (int64_t oc = 0; oc < g.OC; ++oc)
        for (int64_t l = 0; l < L; ++l) py[((n0 + n) * g.OC + oc) * L + l] = out[size_t((oc * NI + n) * L + l)];
  }
  if (b.defined()) cuda::emulate(y.numel(), cuda::AddBiasKernel<double>{b.data<double>(), py, g.OC, L});
  return y;
}

// dx (N, C, H, W) from chunks of NC images: dcol_g = w_g^T dy_g by CPU GEMM, then the emulated col2im.
Tensor dx_via_functors(const Conv2dGeometry& g, const Tensor& dy, const Tensor& w, int64_t NC) {
  const int64_t L = g.OH * g.OW, G = g.groups, Cg = g.C / G, OCg = g.OC / G, Kg = Cg * g.KH * g.KW;
  const int64_t CHW = g.C * g.H * g.W;
  Tensor dx = full({g.N, g.C, g.H, g.W}, -7.0, DType::Float64);  // the functor assigns every element
  const double* pdy = dy.data<double>();
  for (int64_t n0 = 0; n0 < g.N; n0 += NC) {
    const int64_t NI = std::min(NC, g.N - n0), NL = NI * L;
    std::vector<double> dyt(size_t(g.OC * NL));  // (OC, NI*L)
    for (int64_t n = 0; n < NI; ++n)
      for (int64_t oc = 0; oc < g.OC; ++oc)
        for (int64_t l = 0; l < L; ++l) dyt[size_t((oc * NI + n) * L + l)] = pdy[((n0 + n) * g.OC + oc) * L + l];
    std::vector<double> dcol(size_t(g.C * g.KH * g.KW * NL));
    for (int64_t gi = 0; gi < G; ++gi)
      cpu::gemm(true, false, Kg, NL, OCg, 1.0, w.data<double>() + gi * OCg * Kg, Kg, dyt.data() + gi * OCg * NL, NL,
                0.0, dcol.data() + gi * Kg * NL, NL);
    cuda::emulate(NI * CHW, cuda::Col2imKernel<double>{g, dcol.data(), dx.data<double>() + n0 * CHW, NI});
  }
  return dx;
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector<double>()) m = std::max(m, std::abs(v));
  return m;
}

}  // namespace

TEST_CASE("cuda conv kernels: emulated im2col + GEMM equals conv2d on every conv case") {
  manual_seed(11);
  for (const test::ConvCase& c : test::conv_cases) {
    SUBCASE(c.name) {
      const Conv2dGeometry g = geometry_of(c);
      Tensor x = randn(c.x, DType::Float64), w = randn(c.w, DType::Float64);
      Tensor b = c.bias ? randn({c.w[0]}, DType::Float64) : Tensor();
      Tensor ref = ops::conv2d(x, w, b, c.opts);
      REQUIRE(ref.shape() == Shape{g.N, g.OC, g.OH, g.OW});
      const double tol = 1e-12 * std::max(1.0, max_abs(ref));
      CHECK_CLOSE(conv_via_functors(g, x, w, b, 1), ref, tol, 0, std::string(c.name) + " im2col per image");
      CHECK_CLOSE(conv_via_functors(g, x, w, b, g.N), ref, tol, 0, std::string(c.name) + " im2col whole batch");
    }
  }
}

TEST_CASE("cuda conv kernels: emulated col2im gather equals conv2d_backward's dx on every conv case") {
  manual_seed(12);
  for (const test::ConvCase& c : test::conv_cases) {
    SUBCASE(c.name) {
      const Conv2dGeometry g = geometry_of(c);
      Tensor x = randn(c.x, DType::Float64), w = randn(c.w, DType::Float64);
      Tensor dy = randn({g.N, g.OC, g.OH, g.OW}, DType::Float64);
      Tensor ref = ops::conv2d_backward(dy, x, w, false, c.opts, {true, false, false}).dx;
      const double tol = 1e-12 * std::max(1.0, max_abs(ref));
      CHECK_CLOSE(dx_via_functors(g, dy, w, 1), ref, tol, 0, std::string(c.name) + " col2im per image");
      CHECK_CLOSE(dx_via_functors(g, dy, w, g.N), ref, tol, 0, std::string(c.name) + " col2im whole batch");
    }
  }
}

TEST_CASE("cuda conv kernels: im2col writes the padding as zeros and copies the rest") {
  // x (1,1,2,2) = [[1,2],[3,4]], 2x2 kernel, padding 1: a 3x3 output; col row (kh=0, kw=0) reads
  // x[oh-1, ow-1], so only its bottom-right 2x2 block is inside the input
  Conv2dGeometry g;
  g.N = 1, g.C = 1, g.H = 2, g.W = 2, g.OC = 1, g.KH = 2, g.KW = 2, g.PH = 1, g.PW = 1, g.OH = 3, g.OW = 3;
  const std::vector<double> x = {1, 2, 3, 4};
  std::vector<double> col(4 * 9, -1.0);
  cuda::emulate(int64_t(col.size()), cuda::Im2colKernel<double>{g, x.data(), col.data(), 1});
  const std::vector<double> row0(col.begin(), col.begin() + 9);
  CHECK(row0 == std::vector<double>{0, 0, 0, 0, 1, 2, 0, 3, 4});
  const std::vector<double> row3(col.begin() + 27, col.end());  // (kh=1, kw=1) reads x[oh, ow]
  CHECK(row3 == std::vector<double>{1, 2, 0, 3, 4, 0, 0, 0, 0});
}

TEST_CASE("cuda conv kernels: conv_out_pos inverts conv_in_pos") {
  // for every input i and tap k, conv_out_pos finds exactly the outputs o with conv_in_pos(o, k) == i
  int checked = 0;
  for (int64_t S = 1; S <= 3; ++S)
    for (int64_t P = 0; P <= 2; ++P)
      for (int64_t D = 1; D <= 2; ++D)
        for (int64_t K = 1; K <= 3; ++K) {
          const int64_t I = 7;
          if (D * (K - 1) + 1 > I + 2 * P) continue;
          const int64_t O = cpu::conv_out_size(I, P, D, K, S);
          for (int64_t i = 0; i < I; ++i)
            for (int64_t k = 0; k < K; ++k) {
              int64_t expect = -1;
              for (int64_t o = 0; o < O; ++o)
                if (cpu::conv_in_pos(o, k, S, P, D) == i) expect = o;
              int64_t got = -1;
              if (!cpu::conv_out_pos(i, k, S, P, D, O, got)) got = -1;
              CHECK_MESSAGE(got == expect, "S=", S, " P=", P, " D=", D, " K=", K, " i=", i, " k=", k);
              ++checked;
            }
        }
  CHECK(checked == 756);  // every (S, P, D, K, i, k) of the loops above was visited
}
