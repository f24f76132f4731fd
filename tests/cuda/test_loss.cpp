// CUDA vs CPU: nll_loss and its backward (cuda/loss.cu), and cross_entropy through autograd, on
// the rows of tests/cases/loss.h (ignore_index, all targets ignored, N = 1, logits around +-1000).
// float64 must agree to 1e-10, float32 to 1e-6 relative (the sum runs in double on both devices).
#include <cmath>

#include "cases/loss.h"
#include "tensor/shape_ops.h"
#include "test_util.h"

using namespace fk;

namespace {
Tensor gpu(const Tensor& t) { return t.to(Device::cuda()); }
Tensor host(const Tensor& t) { return t.to(Device::cpu()); }
const DType kFloatTypes[] = {DType::Float32, DType::Float64};
double tol(DType dt) { return dt == DType::Float64 ? 1e-10 : 1e-6; }

// targets in [0, C), with a few set to ignore_index when it names a class or -1; all ignored for
// the "all_ignored" row
Tensor make_target(const test::LossCase& c) {
  Tensor t = randint(0, c.C, {c.N});
  int64_t* p = t.data<int64_t>();
  if (std::string(c.name).find("all_ignored") != std::string::npos)
    for (int64_t n = 0; n < c.N; ++n) p[n] = c.ignore_index;
  else if (c.ignore_index != -100 && c.N > 2)
    p[1] = p[c.N - 1] = c.ignore_index;
  return t;
}
}  // namespace

TEST_CASE("nll_loss, cross_entropy: GPU matches CPU forward and backward on every case row") {
  for (DType dt : kFloatTypes) {
    SUBCASE(dtype_name(dt)) {
      manual_seed(601);
      for (const test::LossCase& c : test::loss_cases) {
        Tensor x = randn({c.N, c.C}, dt);
        if (std::string(c.name).find("large") != std::string::npos) x = ops::mul(x, 1000.0);
        Tensor logp = c.cross_entropy ? ops::log_softmax(x, 1) : x;
        Tensor target = make_target(c);
        std::string label = std::string(c.name) + " " + dtype_name(dt);
        double t = tol(dt);
        Tensor loss = ops::nll_loss(gpu(logp), gpu(target), c.ignore_index);
        CHECK(loss.device().is_cuda());
        CHECK(loss.dim() == 0);
        CHECK_CLOSE(host(loss), ops::nll_loss(logp, target, c.ignore_index), t, t, "nll_loss " + label);
        Tensor dloss = scalar_tensor(0.75, dt);
        CHECK_CLOSE(host(ops::nll_loss_backward(gpu(dloss), gpu(logp), gpu(target), c.ignore_index)),
                    ops::nll_loss_backward(dloss, logp, target, c.ignore_index), t, t, "nll_loss_backward " + label);
        // through autograd: cross_entropy on logits, or nll_loss on log-probabilities
        Tensor xc = x.clone().requires_grad_(), xg = gpu(x).requires_grad_();
        Tensor lc = c.cross_entropy ? fk::cross_entropy(xc, target, c.ignore_index)
                                    : fk::nll_loss(xc, target, c.ignore_index);
        Tensor lg = c.cross_entropy ? fk::cross_entropy(xg, gpu(target), c.ignore_index)
                                    : fk::nll_loss(xg, gpu(target), c.ignore_index);
        CHECK_CLOSE(host(lg), lc, t, t, "autograd loss " + label);
        lc.backward();
        lg.backward();
        CHECK_CLOSE(host(xg.grad()), xc.grad(), t, t, "autograd dx " + label);
      }
    }
  }
}

TEST_CASE("nll_loss: non-contiguous log-probabilities, and errors for bad targets on the GPU") {
  manual_seed(602);
  Tensor x = randn({5, 8}, DType::Float64);
  Tensor logp = ops::transpose(ops::log_softmax(x, 0), 0, 1);  // (8, 5), not contiguous
  Tensor logpg = ops::transpose(gpu(ops::log_softmax(x, 0)), 0, 1);
  REQUIRE(!logpg.is_contiguous());
  Tensor target = randint(0, 5, {8});
  CHECK_CLOSE(host(ops::nll_loss(logpg, gpu(target))), ops::nll_loss(logp, target), 1e-12, 1e-12,
              "nll_loss of a transposed input");
  Tensor bad = tensor({0, 7, 1, 0, 0, 0, 0, 0}, DType::Int64);
  CHECK_THROWS_WITH_AS(ops::nll_loss(logpg, gpu(bad)), doctest::Contains("nll_loss: target 7 at index 1"), Error);
  CHECK_THROWS_WITH_AS(ops::nll_loss(logpg, target), doctest::Contains("nll_loss: target is on cpu but logp is on cuda"),
                       Error);
}
