// The per-output functors of the CUDA reductions (cuda/reduce_kernels.h) run on the CPU with
// cuda::emulate, against the CPU reductions of tensor/reduce.cpp; and the max/min combine rule of
// tensor/cpu/reduce_math.h that the GPU's block reduction uses. No GPU needed.
#include <cmath>
#include <limits>

#include "cuda/reduce_kernels.h"
#include "tensor/shape_ops.h"
#include "test_util.h"

using namespace fk;

namespace {
// The (outer, R, inner) shapes the CUDA reductions see: rows (inner 1), columns, a single output.
struct ColumnCase {
  int64_t outer, R, inner;
};
const ColumnCase column_cases[] = {{1, 1, 1}, {1, 37, 1}, {5, 9, 1}, {3, 7, 4}, {1, 300, 6}, {4, 1, 5}, {2, 513, 3}};

std::string case_label(const ColumnCase& c) {
  return "(outer, R, inner) = (" + std::to_string(c.outer) + ", " + std::to_string(c.R) + ", " +
         std::to_string(c.inner) + ")";
}
}  // namespace

TEST_CASE("cuda kernels: SumColumns and VarColumns match ops::sum, mean and var over the middle dim") {
  manual_seed(301);
  for (const ColumnCase& c : column_cases) {
    SUBCASE(case_label(c).c_str()) {
      Tensor x = randn({c.outer, c.R, c.inner}, DType::Float64);
      Tensor s = empty({c.outer, c.inner}, DType::Float64), m = empty({c.outer, c.inner}, DType::Float64);
      Tensor vu = empty({c.outer, c.inner}, DType::Float64), vb = empty({c.outer, c.inner}, DType::Float64);
      int64_t n = c.outer * c.inner;
      const double* xp = x.data<double>();
      cuda::emulate(n, cuda::SumColumns<double>{xp, c.R, c.inner, 1.0, s.data<double>()});
      cuda::emulate(n, cuda::SumColumns<double>{xp, c.R, c.inner, double(c.R), m.data<double>()});
      cuda::emulate(n, cuda::VarColumns<double>{xp, c.R, c.inner, true, vu.data<double>()});
      cuda::emulate(n, cuda::VarColumns<double>{xp, c.R, c.inner, false, vb.data<double>()});
      CHECK_CLOSE(s, ops::sum(x, {1}), 1e-12, 1e-12, "SumColumns " + case_label(c));
      CHECK_CLOSE(m, ops::mean(x, {1}), 1e-12, 1e-12, "SumColumns(mean) " + case_label(c));
      CHECK_CLOSE(vu, ops::var(x, {1}, true), 1e-12, 1e-12, "VarColumns(unbiased) " + case_label(c));
      CHECK_CLOSE(vb, ops::var(x, {1}, false), 1e-12, 1e-12, "VarColumns(biased) " + case_label(c));
    }
  }
}

TEST_CASE("cuda kernels: SumColumns over an empty run gives 0 for sum and NaN for mean") {
  double dummy = 0, s = -1, m = -1;
  cuda::emulate(1, cuda::SumColumns<double>{&dummy, 0, 1, 1.0, &s});
  cuda::emulate(1, cuda::SumColumns<double>{&dummy, 0, 1, 0.0, &m});
  CHECK(s == 0);
  CHECK(std::isnan(m));
}

TEST_CASE("cuda kernels: ExtremeColumns matches ops::max and ops::min with indices") {
  manual_seed(302);
  for (const ColumnCase& c : column_cases) {
    SUBCASE(case_label(c).c_str()) {
      // small integers: many ties, so the first-index rule is exercised
      Tensor x = randint(0, 4, {c.outer, c.R, c.inner}).to(DType::Float64);
      int64_t n = c.outer * c.inner;
      Tensor vmax = empty({c.outer, c.inner}, DType::Float64), vmin = empty({c.outer, c.inner}, DType::Float64);
      Tensor imax = empty({c.outer, c.inner}, DType::Int64), imin = empty({c.outer, c.inner}, DType::Int64);
      cuda::emulate(n, cuda::ExtremeColumns<double, true>{x.data<double>(), c.R, c.inner, vmax.data<double>(),
                                                          imax.data<int64_t>()});
      cuda::emulate(n, cuda::ExtremeColumns<double, false>{x.data<double>(), c.R, c.inner, vmin.data<double>(),
                                                           imin.data<int64_t>()});
      auto [rmax, rimax] = ops::max(x, 1);
      auto [rmin, rimin] = ops::min(x, 1);
      CHECK_CLOSE(vmax, rmax, 0, 0, "ExtremeColumns<max> values " + case_label(c));
      CHECK(imax.to_vector<int64_t>() == rimax.to_vector<int64_t>());
      CHECK_CLOSE(vmin, rmin, 0, 0, "ExtremeColumns<min> values " + case_label(c));
      CHECK(imin.to_vector<int64_t>() == rimin.to_vector<int64_t>());
    }
  }
}

TEST_CASE("cuda kernels: ExtremeColumns propagates the first NaN and keeps the first tie") {
  double nan = std::numeric_limits<double>::quiet_NaN();
  // 3 columns of R = 4 (inner = 3): column 0 = {1, 7, 7, 2}, column 1 = {3, nan, 9, nan}, column 2 = {5, 5, 5, 5}
  double x[] = {1, 3, 5, 7, nan, 5, 7, 9, 5, 2, nan, 5};
  double v[3];
  int64_t idx[3];
  cuda::emulate(3, cuda::ExtremeColumns<double, true>{x, 4, 3, v, idx});
  CHECK(v[0] == 7);
  CHECK(idx[0] == 1);
  CHECK(std::isnan(v[1]));
  CHECK(idx[1] == 1);
  CHECK(v[2] == 5);
  CHECK(idx[2] == 0);
  cuda::emulate(3, cuda::ExtremeColumns<double, false>{x, 4, 3, v, nullptr});  // values only
  CHECK(v[0] == 1);
  CHECK(std::isnan(v[1]));
}

TEST_CASE("cuda kernels: extreme_combine picks the same winner in any order") {
  using C = cpu::ExtremeCandidate<double>;
  double nan = std::numeric_limits<double>::quiet_NaN();
  auto win = [](C a, C b) { return cpu::extreme_combine<true>(a, b).index; };
  CHECK(win(C{1, 0}, C{2, 5}) == 5);
  CHECK(win(C{2, 5}, C{1, 0}) == 5);
  CHECK(win(C{2, 7}, C{2, 3}) == 3);  // tie: the smaller index, whichever side it is on
  CHECK(win(C{2, 3}, C{2, 7}) == 3);
  CHECK(win(C{nan, 9}, C{100, 1}) == 9);  // NaN beats any number
  CHECK(win(C{100, 1}, C{nan, 9}) == 9);
  CHECK(win(C{nan, 9}, C{nan, 4}) == 4);  // two NaNs: the first
  CHECK(win(C{0, -1}, C{-5, 2}) == 2);    // an empty slot loses
  CHECK(win(C{-5, 2}, C{0, -1}) == 2);
  CHECK(cpu::extreme_combine<false>(C{1, 0}, C{-2, 5}).index == 5);
  // a tree over 8 candidates, each pair combined in reverse order, gives the sequential scan's answer
  // (the first max, at index 2)
  double vals[] = {3, 1, 8, 8, 4, 0, 8, 2};
  C level[8];
  for (int i = 0; i < 8; ++i) level[i] = C{vals[i], i};
  for (int width = 8; width > 1; width /= 2)
    for (int i = 0; i < width / 2; ++i) level[i] = cpu::extreme_combine<true>(level[2 * i + 1], level[2 * i]);
  CHECK(level[0].index == 2);
  CHECK(level[0].value == 8);
}

TEST_CASE("cuda kernels: IndexScatter matches ops::index_reduce_backward") {
  manual_seed(303);
  for (int64_t dim : {0, 1, 2}) {
    SUBCASE(("dim " + std::to_string(dim)).c_str()) {
      Shape xs{3, 4, 5};
      Tensor x = randn(xs, DType::Float64);
      auto [v, idx] = ops::max(x, dim);
      Tensor dy = randn(v.shape(), DType::Float64);
      int64_t outer = 1, inner = 1;
      for (int64_t d = 0; d < dim; ++d) outer *= xs[size_t(d)];
      for (int64_t d = dim + 1; d < 3; ++d) inner *= xs[size_t(d)];
      Tensor dx = zeros(xs, DType::Float64);
      cuda::emulate(outer * inner, cuda::IndexScatter<double>{dy.data<double>(), idx.data<int64_t>(),
                                                              xs[size_t(dim)], inner, dx.data<double>()});
      CHECK_CLOSE(dx, ops::index_reduce_backward(dy, idx, xs, dim, false), 0, 0, "IndexScatter");
      CHECK(ops::sum(dx).item() == doctest::Approx(ops::sum(dy).item()));
    }
  }
}

TEST_CASE("cuda kernels: CastFromDouble rounds to float") {
  double in[] = {1.0 / 3.0, -2.5, 1e300};
  float out[3];
  cuda::emulate(3, cuda::CastFromDouble<float>{in, out});
  CHECK(out[0] == float(1.0 / 3.0));
  CHECK(out[1] == -2.5f);
  CHECK(std::isinf(out[2]));
}
