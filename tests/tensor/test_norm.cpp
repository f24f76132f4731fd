// Forward tests of batch_norm (tensor/norm.cpp, tensor/cpu/norm.cpp): a hand-worked example, the
// PyTorch fixtures of tests/cases/norm.h (output and updated running stats after one training step,
// eval output), the parallel path against float64, non-contiguous inputs and the argument errors.
// Gradients: tests/autograd/test_norm_grad.cpp.
#include <cmath>

#include "cases/norm.h"
#include "test_util.h"

using namespace fk;

namespace {

Tensor norm_fixture(const std::string& name, const std::string& what) {
  return test::fixture("norm/" + name + "_" + what + ".npy");
}

}  // namespace

TEST_CASE("batch_norm: hand-worked training step with running-stat update") {
  // channel 0: 1,2,3,4 (mean 2.5, biased var 1.25, unbiased 5/3); channel 1: 10 times that
  Tensor x = tensor({1, 10, 2, 20, 3, 30, 4, 40}, {4, 2});
  Tensor w = tensor({1, 2}), b = tensor({0, 1});
  Tensor rm = tensor({0, 0}), rv = tensor({1, 1});
  auto r = ops::batch_norm(x, w, b, rm, rv, /*training=*/true, /*momentum=*/0.1, /*eps=*/0.0);
  // xhat = (x - 2.5) / sqrt(1.25) = +-1.3416408, +-0.4472136 in both channels; channel 1: 2 * xhat + 1
  Tensor y = tensor({-1.3416408, -1.6832816, -0.4472136, 0.1055728, 0.4472136, 1.8944272, 1.3416408, 3.6832816},
                    {4, 2});
  CHECK_CLOSE(r.y, y, 1e-6, 0, "batch_norm(x=[4,2]) y");
  CHECK_CLOSE(r.save_mean, tensor({2.5, 25}), 1e-6, 0, "save_mean");
  CHECK_CLOSE(r.save_invstd, tensor({1 / std::sqrt(1.25), 1 / std::sqrt(125.0)}), 1e-6, 0, "save_invstd");
  // running_mean = 0.9 * 0 + 0.1 * mean; running_var = 0.9 * 1 + 0.1 * unbiased var (5/3 and 500/3)
  CHECK_CLOSE(rm, tensor({0.25, 2.5}), 1e-6, 0, "running_mean");
  CHECK_CLOSE(rv, tensor({0.9 + 0.1 * 5.0 / 3.0, 0.9 + 0.1 * 500.0 / 3.0}), 1e-5, 0, "running_var");
}

TEST_CASE("batch_norm: hand-worked eval uses the running stats and leaves them alone") {
  Tensor x = tensor({1, 2, 3, 4}, {2, 2});
  Tensor rm = tensor({1, 2}), rv = tensor({4, 0.25});
  auto r = ops::batch_norm(x, Tensor(), tensor({0, 10}), rm, rv, /*training=*/false, 0.1, 0.0);
  // channel 0: (x - 1) / 2; channel 1: (x - 2) / 0.5 + 10
  CHECK_CLOSE(r.y, tensor({0, 10, 1, 14}, {2, 2}), 1e-6, 0, "batch_norm eval y");
  CHECK_CLOSE(rm, tensor({1, 2}), 0, 0, "running_mean unchanged");
  CHECK_CLOSE(rv, tensor({4, 0.25}), 0, 0, "running_var unchanged");
}

TEST_CASE("batch_norm: matches PyTorch (output and running stats)") {
  for (const auto& c : test::batch_norm_cases) {
    SUBCASE(c.name) {
      Tensor x = norm_fixture(c.name, "x");
      REQUIRE_MESSAGE(x.shape() == c.x, c.name, ": fixture x ", shape_str(x.shape()), " vs case ", shape_str(c.x),
                      " (rerun tests/fixtures/make_norm_act_loss.py)");
      Tensor w = c.affine ? norm_fixture(c.name, "weight") : Tensor();
      Tensor b = c.affine ? norm_fixture(c.name, "bias") : Tensor();
      Tensor rm = norm_fixture(c.name, "running_mean"), rv = norm_fixture(c.name, "running_var");
      auto r = ops::batch_norm(x, w, b, rm, rv, c.training, c.momentum, c.eps);
      std::string label = std::string("batch_norm(") + c.name + ", x=" + shape_str(c.x) + ")";
      CHECK_CLOSE(r.y, norm_fixture(c.name, "y"), 1e-5, 0, label + " y");
      CHECK_CLOSE(rm, norm_fixture(c.name, "running_mean_out"), 1e-5, 0, label + " running_mean");
      CHECK_CLOSE(rv, norm_fixture(c.name, "running_var_out"), 1e-5, 0, label + " running_var");
    }
  }
}

TEST_CASE("batch_norm: float32 on a large input (parallel path) agrees with float64") {
  manual_seed(3);
  Tensor x = randn({8, 64, 16, 16});
  Tensor w = rand({64}), b = randn({64});
  Tensor rm = zeros({64}), rv = ones({64});
  Tensor rm64 = zeros({64}, DType::Float64), rv64 = ones({64}, DType::Float64);
  auto r32 = ops::batch_norm(x, w, b, rm, rv, true);
  auto r64 = ops::batch_norm(x.to(DType::Float64), w.to(DType::Float64), b.to(DType::Float64), rm64, rv64, true);
  CHECK_CLOSE(r32.y, r64.y.to(DType::Float32), 1e-5, 0, "batch_norm(x=[8,64,16,16]) y");
  CHECK_CLOSE(rv, rv64.to(DType::Float32), 1e-6, 0, "batch_norm(x=[8,64,16,16]) running_var");
  // every channel is normalised: mean 0, biased variance 1 (up to eps) before the affine map
  auto plain = ops::batch_norm(x.to(DType::Float64), Tensor(), Tensor(), Tensor(), Tensor(), true);
  CHECK_CLOSE(ops::mean(plain.y, {0, 2, 3}), zeros({64}, DType::Float64), 1e-12, 0, "channel means");
  CHECK_CLOSE(ops::var(plain.y, {0, 2, 3}, false), ones({64}, DType::Float64), 1e-4, 0, "channel variances");
}

TEST_CASE("batch_norm: eval on a large input (parallel over N*C planes) matches the per-element formula") {
  // 37 channels: the planes of one thread's range start and end inside a run of channels
  manual_seed(4);
  const int64_t N = 5, C = 37, S = 23 * 19;
  Tensor x = randn({N, C, 23, 19});
  Tensor w = randn({C}), b = randn({C}), rm = randn({C}), rv = rand({C});
  for (int64_t c = 0; c < C; ++c) rv.data<float>()[c] += 0.5f;  // variances in [0.5, 1.5)
  auto r = ops::batch_norm(x, w, b, rm, rv, /*training=*/false, 0.1, 1e-5);
  Tensor expected = empty({N, C, 23, 19});
  const float *xp = x.data<float>(), *wp = w.data<float>(), *bp = b.data<float>();
  const float *mp = rm.data<float>(), *vp = rv.data<float>();
  float* ep = expected.data<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t s = 0; s < S; ++s) {
        const int64_t i = (n * C + c) * S + s;
        ep[i] = float((double(xp[i]) - mp[c]) / std::sqrt(double(vp[c]) + 1e-5) * wp[c] + bp[c]);
      }
  CHECK_CLOSE(r.y, expected, 1e-5, 1e-5, "batch_norm eval(x=[5,37,23,19]) y");
}

TEST_CASE("batch_norm: non-contiguous input gives the contiguous result") {
  Tensor x = test::fixture("norm/bn_nc_train_x.npy");  // (8, 5)
  // the same values stored transposed: a (5, 8) buffer viewed as (8, 5) with strides (1, 8)
  Tensor xt = empty({5, 8});
  auto v = x.to_vector<float>();
  for (int64_t n = 0; n < 8; ++n)
    for (int64_t c = 0; c < 5; ++c) xt.data<float>()[c * 8 + n] = v[size_t(n * 5 + c)];
  Tensor view(xt.storage(), {8, 5}, {1, 8}, 0, DType::Float32);
  REQUIRE(!view.is_contiguous());
  auto a = ops::batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true);
  auto b = ops::batch_norm(view, Tensor(), Tensor(), Tensor(), Tensor(), true);
  CHECK_CLOSE(b.y, a.y, 1e-6, 0, "batch_norm(non-contiguous x=[8,5])");
}

TEST_CASE("batch_norm: rejects bad arguments") {
  Tensor x = randn({4, 3, 2, 2});
  CHECK_THROWS_WITH_AS(ops::batch_norm(randn({3}), Tensor(), Tensor(), Tensor(), Tensor(), true),
                       doctest::Contains("batch_norm: x must be (N, C, ...)"), Error);
  CHECK_THROWS_WITH_AS(ops::batch_norm(x, randn({4}), Tensor(), Tensor(), Tensor(), true),
                       doctest::Contains("batch_norm: weight should contain 3 elements"), Error);
  CHECK_THROWS_WITH_AS(ops::batch_norm(x, Tensor(), Tensor(), zeros({2}), ones({3}), true),
                       doctest::Contains("running_mean should contain 3 elements"), Error);
  CHECK_THROWS_WITH_AS(ops::batch_norm(x, randn({3}, DType::Float64), Tensor(), Tensor(), Tensor(), true),
                       doctest::Contains("batch_norm: dtype mismatch"), Error);
  CHECK_THROWS_WITH_AS(ops::batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false),
                       doctest::Contains("must be defined in evaluation mode"), Error);
  CHECK_THROWS_WITH_AS(ops::batch_norm(randint(0, 3, {4, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true),
                       doctest::Contains("batch_norm: x has dtype int64"), Error);
  // one value per channel: the batch variance is undefined (PyTorch raises the same)
  CHECK_THROWS_WITH_AS(ops::batch_norm(randn({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true),
                       doctest::Contains("expected more than 1 value per channel when training, got input size [1, 3]"),
                       Error);
  CHECK_THROWS_WITH_AS(ops::batch_norm(randn({1, 3, 1, 1}), Tensor(), Tensor(), Tensor(), Tensor(), true),
                       doctest::Contains("more than 1 value per channel"), Error);
  // but eval with one value is fine
  CHECK_NOTHROW(ops::batch_norm(randn({1, 3, 1, 1}), Tensor(), Tensor(), zeros({3}), ones({3}), false));
}
