// batch_norm forward and backward on the GPU (cuda/norm.cu) vs the CPU kernels, every row of
// tests/cases/norm.h plus shapes whose channels hold more values than a block has threads, in
// float32 (1e-5 relative to the largest value) and float64 (1e-10); running stats included.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "cases/norm.h"
#include "tensor/creation.h"
#include "tensor/norm.h"
#include "tensor/shape_ops.h"
#include "test_util.h"

using namespace fk;

namespace {

Tensor gpu(const Tensor& t) { return t.defined() ? t.to(Device::cuda()) : t; }

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector<double>()) m = std::max(m, std::abs(v));
  return m;
}

// |a - b| <= tol * (max|ref| + |ref|): float32 sums over many values drift with the order of summation
void check_close(const Tensor& got, const Tensor& ref, double tol, const std::string& what) {
  REQUIRE(got.device().is_cuda());
  CHECK_CLOSE(got, ref, tol * std::max(1.0, max_abs(ref)), tol, what);
}

void run_case(const test::BatchNormCase& tc, DType dt) {
  const double tol = dt == DType::Float64 ? 1e-10 : 1e-5;
  const int64_t C = tc.x[1];
  std::string what = std::string(tc.name) + " (x=" + shape_str(tc.x) + ", " + dtype_name(dt) + ")";
  Tensor x = ops::add(ops::mul(randn(tc.x, dt), 2.0), 5.0);  // |mean| > std, as real activations
  Tensor w = tc.affine ? randn({C}, dt) : Tensor(), b = tc.affine ? randn({C}, dt) : Tensor();
  Tensor rm = randn({C}, dt), rv = ops::add(rand({C}, dt), 0.5);
  Tensor rm_g = gpu(rm), rv_g = gpu(rv);
  ops::BatchNormResult ref = ops::batch_norm(x, w, b, rm, rv, tc.training, tc.momentum, tc.eps);
  ops::BatchNormResult got = ops::batch_norm(gpu(x), gpu(w), gpu(b), rm_g, rv_g, tc.training, tc.momentum, tc.eps);
  check_close(got.y, ref.y, tol, what + " y");
  check_close(got.save_mean, ref.save_mean, tol, what + " save_mean");
  check_close(got.save_invstd, ref.save_invstd, tol, what + " save_invstd");
  check_close(rm_g, rm, tol, what + " running_mean");
  check_close(rv_g, rv, tol, what + " running_var");

  Tensor dy = randn(tc.x, dt);
  ops::BatchNormGrads gref = ops::batch_norm_backward(dy, x, w, ref.save_mean, ref.save_invstd, tc.training);
  ops::BatchNormGrads ggot = ops::batch_norm_backward(gpu(dy), gpu(x), gpu(w), got.save_mean, got.save_invstd,
                                                      tc.training);
  check_close(ggot.dx, gref.dx, tol, what + " dx");
  check_close(ggot.dweight, gref.dweight, tol, what + " dweight");
  check_close(ggot.dbias, gref.dbias, tol, what + " dbias");
}

}  // namespace

TEST_CASE("batch_norm: GPU forward and backward match the CPU (train and eval, running stats)") {
  manual_seed(101);
  for (DType dt : {DType::Float64, DType::Float32}) {
    for (const auto& tc : test::batch_norm_cases) {
      SUBCASE(tc.name) { run_case(tc, dt); }
    }
  }
}

TEST_CASE("batch_norm: GPU block reductions over more values than threads") {
  manual_seed(102);
  std::vector<test::BatchNormCase> big = {
      {"bn_big_train", {16, 3, 17, 19}, true, true, 0.1, 1e-5},  // 5168 values per channel
      {"bn_big_eval", {4, 70, 9, 9}, true, false, 0.1, 1e-5},
      {"bn_many_channels_nc", {300, 130}, false, true, 0.2, 1e-5},
  };
  for (DType dt : {DType::Float64, DType::Float32})
    for (const auto& tc : big) run_case(tc, dt);
}

TEST_CASE("batch_norm: GPU running stats through a strided view and without weight") {
  manual_seed(103);
  Tensor x = randn({5, 4, 3}, DType::Float64);
  Tensor stats = randn({2, 4}, DType::Float64);  // row 0: running mean; transposed view: strided var below
  Tensor rv_store = ops::add(rand({4, 2}, DType::Float64), 0.5);
  Tensor rm = ops::select(stats, 0, 0);
  Tensor rm_g_store = gpu(stats), rv_g_store = gpu(rv_store);
  Tensor rm_g = ops::select(rm_g_store, 0, 0);
  Tensor rv = ops::select(rv_store, 1, 1), rv_g = ops::select(rv_g_store, 1, 1);  // stride 2
  REQUIRE(rv_g.strides()[0] == 2);
  ops::batch_norm(x, Tensor(), Tensor(), rm, rv, true, 0.25, 1e-5);
  ops::batch_norm(gpu(x), Tensor(), Tensor(), rm_g, rv_g, true, 0.25, 1e-5);
  CHECK_CLOSE(rm_g_store, stats, 1e-12, 1e-10, "running_mean view");
  CHECK_CLOSE(rv_g_store, rv_store, 1e-12, 1e-10, "running_var strided view (column 0 untouched)");
}
