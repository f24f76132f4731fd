// The per-element and per-column functors of the CUDA activations (cuda/activation_kernels.h) and of
// the CUDA nll_loss (cuda/loss_kernels.h) run on the CPU with cuda::emulate, against the CPU ops of
// tensor/activation.cpp and tensor/loss.cpp; and Philox4x32-10 (tensor/philox.h) against Random123's
// published known-answer vectors. No GPU needed.
#include <cmath>
#include <limits>

#include "cuda/activation_kernels.h"
#include "cuda/loss_kernels.h"
#include "tensor/philox.h"
#include "cases/activation.h"
#include "test_util.h"

using namespace fk;

// ---- Philox

TEST_CASE("philox4x32_10: Random123 known-answer vectors") {
  // tests/kat_vectors of github.com/DEShawResearch/random123: counter (4 words), key (2 words), output
  struct Kat {
    Philox4x32 counter;
    uint32_t k0, k1;
    Philox4x32 expected;
  };
  const Kat kats[] = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}}},
      {{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
       0xffffffffu,
       0xffffffffu,
       {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}}},
      {{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
       0xa4093822u,
       0x299f31d0u,
       {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}}},
  };
  for (const Kat& k : kats) {
    Philox4x32 r = philox4x32_10(k.counter, k.k0, k.k1);
    for (int w = 0; w < 4; ++w) CHECK_MESSAGE(r.v[w] == k.expected.v[w], "word ", w, " of the block for key ", k.k0);
  }
}

TEST_CASE("philox_uniform: at least 0 and below 1, a function of (seed, index) only, and uniform") {
  CHECK(philox_uniform(5, 17) == philox_uniform(5, 17));
  CHECK(philox_uniform(5, 17) != philox_uniform(6, 17));
  CHECK(philox_uniform(5, 17) != philox_uniform(5, 18));
  CHECK(philox_uniform(5, uint64_t(1) << 32) != philox_uniform(5, 0));  // the index's high word counts
  // the first two words of the all-zero block, as 53 bits
  uint64_t bits = (uint64_t(0x6627e8d5u) << 32 | 0xe169c58du) >> 11;
  CHECK(philox_uniform(0, 0) == double(bits) / 9007199254740992.0);
  int64_t n = 100000, below_quarter = 0;
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    double u = philox_uniform(12345, uint64_t(i));
    REQUIRE((u >= 0 && u < 1));
    sum += u;
    below_quarter += u < 0.25;
  }
  CHECK(std::abs(sum / double(n) - 0.5) < 0.005);  // std of the mean: 0.29 / sqrt(n) = 0.0009
  CHECK(std::abs(double(below_quarter) / double(n) - 0.25) < 0.008);
}

// ---- PReLU

TEST_CASE("cuda kernels: PreluForward and PreluBackward match ops::prelu and prelu_backward") {
  manual_seed(311);
  for (const test::PreluCase& c : test::prelu_cases) {
    SUBCASE(c.name) {
      Tensor x = randn(c.x, DType::Float64), w = rand({c.weights}, DType::Float64), dy = randn(c.x, DType::Float64);
      int64_t C = c.weights, S = 1;
      if (C > 1)
        for (size_t d = 2; d < c.x.size(); ++d) S *= c.x[d];
      else
        S = x.numel();
      Tensor y = empty(c.x, DType::Float64), dx = empty(c.x, DType::Float64);
      cuda::emulate(x.numel(), cuda::PreluForward<double>{x.data<double>(), w.data<double>(), C, S, y.data<double>()});
      cuda::emulate(x.numel(), cuda::PreluBackward<double>{dy.data<double>(), x.data<double>(), w.data<double>(), C, S,
                                                           dx.data<double>()});
      CHECK_CLOSE(y, ops::prelu(x, w), 0, 0, std::string("PreluForward ") + c.name);
      CHECK_CLOSE(dx, ops::prelu_backward(dy, x, w).dx, 0, 0, std::string("PreluBackward ") + c.name);
    }
  }
}

// ---- softmax

namespace {
struct View {
  int64_t outer = 1, D = 1, inner = 1;
};
View softmax_view(const Shape& s, int64_t dim) {
  int64_t d = dim < 0 ? dim + int64_t(s.size()) : dim;
  View v;
  v.D = s[size_t(d)];
  for (int64_t i = 0; i < d; ++i) v.outer *= s[size_t(i)];
  for (int64_t i = d + 1; i < int64_t(s.size()); ++i) v.inner *= s[size_t(i)];
  return v;
}
}  // namespace

TEST_CASE("cuda kernels: SoftmaxColumns and SoftmaxBackwardColumns match the CPU softmax ops") {
  manual_seed(312);
  for (const test::SoftmaxCase& c : test::softmax_cases) {
    SUBCASE(c.name) {
      Tensor x = randn(c.x, DType::Float64);
      if (c.large) x = ops::mul(x, 1000.0);
      Tensor dy = randn(c.x, DType::Float64);
      View v = softmax_view(c.x, c.dim);
      for (bool log : {false, true}) {
        Tensor y = empty(c.x, DType::Float64), dx = empty(c.x, DType::Float64);
        cuda::emulate(v.outer * v.inner,
                      cuda::SoftmaxColumns<double>{x.data<double>(), v.D, v.inner, log, y.data<double>()});
        Tensor ref = log ? ops::log_softmax(x, c.dim) : ops::softmax(x, c.dim);
        // the column path rounds as the CPU's (D, inner) path (exact there); a contiguous row
        // (inner == 1) the CPU computes as e * (1 / sum), one rounding apart
        double tol = v.inner > 1 ? 0 : 1e-15;
        std::string label = std::string(log ? "log_" : "") + "SoftmaxColumns " + c.name;
        CHECK_CLOSE(y, ref, tol, tol, label);
        cuda::emulate(v.outer * v.inner, cuda::SoftmaxBackwardColumns<double>{dy.data<double>(), ref.data<double>(), v.D,
                                                                              v.inner, log, dx.data<double>()});
        Tensor dref = log ? ops::log_softmax_backward(dy, ref, c.dim) : ops::softmax_backward(dy, ref, c.dim);
        // the same formulas, but the compiler may fuse multiply-adds differently in the two loops
        CHECK_CLOSE(dx, dref, 1e-15, 1e-14, std::string(log ? "log_" : "") + "SoftmaxBackwardColumns " + c.name);
      }
    }
  }
}

TEST_CASE("cuda kernels: SoftmaxColumns of a column with a NaN is all NaN, of equal logits uniform") {
  double nan = std::numeric_limits<double>::quiet_NaN();
  double x[] = {1, 2, nan, 3, 3, 3, 3};
  double y[7];
  cuda::emulate(1, cuda::SoftmaxColumns<double>{x, 3, 1, false, y});
  for (int i = 0; i < 3; ++i) CHECK(std::isnan(y[i]));
  cuda::emulate(1, cuda::SoftmaxColumns<double>{x + 3, 4, 1, false, y + 3});
  for (int i = 3; i < 7; ++i) CHECK(y[i] == 0.25);
}

// ---- dropout

TEST_CASE("cuda kernels: DropoutForward gives ops::dropout's mask for the same seed") {
  for (DType dt : {DType::Float32, DType::Float64}) {
    SUBCASE(dtype_name(dt)) {
      Tensor x = randn({1000}, dt);
      manual_seed(77);
      auto [yref, mref] = ops::dropout(x, 0.3, true);
      manual_seed(77);
      uint64_t seed = default_generator().next_u64();  // what ops::dropout drew
      Tensor y = empty({1000}, dt), m = empty({1000}, dt);
      if (dt == DType::Float32)
        cuda::emulate(1000, cuda::DropoutForward<float>{x.data<float>(), seed, 0.7, float(1.0 / 0.7), y.data<float>(),
                                                        m.data<float>()});
      else
        cuda::emulate(1000, cuda::DropoutForward<double>{x.data<double>(), seed, 0.7, 1.0 / 0.7, y.data<double>(),
                                                         m.data<double>()});
      CHECK_CLOSE(m, mref, 0, 0, "DropoutForward mask");
      CHECK_CLOSE(y, yref, 0, 0, "DropoutForward y");
    }
  }
}

// ---- nll_loss

TEST_CASE("cuda kernels: NllPick, NllFinish and NllBackward match ops::nll_loss and its backward") {
  manual_seed(313);
  for (int64_t ignore : {-100, 2}) {
    SUBCASE(("ignore_index " + std::to_string(ignore)).c_str()) {
      int64_t N = 9, C = 4;
      Tensor logp = ops::log_softmax(randn({N, C}, DType::Float64), 1);
      Tensor target = randint(0, C, {N});
      target.data<int64_t>()[3] = 2;  // at least one ignored row when ignore_index is 2
      Tensor picked = empty({N}, DType::Float64), kept = empty({N}, DType::Float64);
      cuda::emulate(N, cuda::NllPick<double>{logp.data<double>(), target.data<int64_t>(), C, ignore,
                                             picked.data<double>(), kept.data<double>()});
      Tensor sum = ops::sum(picked), count = ops::sum(kept);
      double loss = 0;
      cuda::emulate(1, cuda::NllFinish<double>{sum.data<double>(), count.data<double>(), &loss});
      CHECK(loss == doctest::Approx(ops::nll_loss(logp, target, ignore).item()).epsilon(1e-14));
      double dloss = 0.7;
      Tensor dlogp = empty({N, C}, DType::Float64);
      cuda::emulate(N * C, cuda::NllBackward<double>{&dloss, count.data<double>(), target.data<int64_t>(), C, ignore,
                                                     dlogp.data<double>()});
      Tensor dref = ops::nll_loss_backward(scalar_tensor(dloss, DType::Float64), logp, target, ignore);
      CHECK_CLOSE(dlogp, dref, 0, 0, "NllBackward");
    }
  }
}

TEST_CASE("cuda kernels: NllFinish gives NaN when every target is ignored") {
  double sum = 0, kept = 0, loss = 0;
  cuda::emulate(1, cuda::NllFinish<double>{&sum, &kept, &loss});
  CHECK(std::isnan(loss));
}
