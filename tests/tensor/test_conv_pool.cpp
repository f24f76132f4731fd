// The fused thin conv + PReLU + 2x2 ceil-mode max pool (tensor/cpu/conv_pool.h), MTCNN PNet's first
// stage, against ops::conv2d, ops::prelu and ops::max_pool2d (ceil_mode) in sequence: the PNet shape
// (3 -> 10 channels, 3x3: the compile-time kernel) and other channel counts and kernel sizes (the
// general loop), odd and even sizes (a partial pool window at the bottom / right edge), a batch, no
// activation, both the AVX-512 and the baseline-ISA kernels, a NaN winning its window, and a too
// small input refused with a message.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "tensor/activation.h"
#include "tensor/blocked.h"
#include "tensor/conv.h"
#include "tensor/cpu/conv_pool.h"
#include "tensor/pool.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace fk;

namespace {

struct Case {
  int64_t N, C, H, W, K, OC;
  bool prelu;
};

// runs the fused kernel on x (N, C, H, W) and returns its output as (N, OC, PH, PW)
Tensor fused(const Case& c, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& a, bool generic) {
  cpu::ConvPoolGeometry g;
  g.N = c.N;
  g.C = c.C;
  g.H = c.H;
  g.W = c.W;
  g.K = c.K;
  g.OC = c.OC;
  g.generic_isa = generic;
  std::vector<float> packed(size_t(c.C * c.K * c.K * 16)), bias(16, 0.0f), slope(16, 0.0f);
  cpu::pack_conv_pool_weights(g, w.contiguous().data<float>(), packed.data());
  const std::vector<float> bv = b.to_vector<float>(), av = a.to_vector<float>();
  std::copy(bv.begin(), bv.end(), bias.begin());
  std::copy(av.begin(), av.end(), slope.begin());
  BlockedTensor y = empty_blocked(c.N, c.OC, g.pooled_h(), g.pooled_w());
  cpu::conv_prelu_maxpool2(g, x.contiguous().data<float>(), packed.data(), bias.data(), c.prelu ? slope.data() : nullptr,
                           y.mutable_ptr());
  return to_nchw(y);
}

Tensor reference(const Case& c, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& a) {
  Tensor h = ops::conv2d(x, w, b);
  if (c.prelu) h = ops::prelu(h, a);
  Pool2dOptions p;
  p.kernel = {2, 2};
  p.ceil_mode = true;
  return ops::max_pool2d(h, p);
}

}  // namespace

TEST_CASE("conv_pool: conv + PReLU + 2x2 ceil max pool in one pass equals the three ops in sequence") {
  manual_seed(3);
  const std::vector<Case> cases = {
      {1, 3, 12, 12, 3, 10, true},  // PNet's smallest input
      {2, 3, 37, 50, 3, 10, true},  // odd conv output: partial pool windows at both edges
      {1, 3, 24, 17, 3, 16, true},  // all 16 lanes
      {2, 2, 9, 11, 2, 5, true},    // the general loop: other C and K
      {1, 1, 8, 8, 3, 7, false},    // no activation
  };
  for (const Case& c : cases)
    for (bool generic : {false, true}) {
      CAPTURE(c.C);
      CAPTURE(c.H);
      CAPTURE(c.W);
      CAPTURE(generic);
      Tensor x = randn({c.N, c.C, c.H, c.W}), w = randn({c.OC, c.C, c.K, c.K}), b = randn({c.OC}),
             a = randn({c.OC}) * 0.25;
      CHECK_CLOSE(fused(c, x, w, b, a, generic), reference(c, x, w, b, a), 1e-5, 1e-5, "fused conv + prelu + pool");
    }
}

TEST_CASE("conv_pool: a NaN in the input wins its pooled window, too small inputs are refused") {
  Case c{1, 3, 14, 14, 3, 10, true};
  Tensor x = randn({1, 3, 14, 14}), w = randn({10, 3, 3, 3}), b = randn({10}), a = randn({10});
  x.data<float>()[5 * 14 + 5] = std::numeric_limits<float>::quiet_NaN();  // channel 0, row 5, column 5
  const std::vector<float> y = fused(c, x, w, b, a, false).to_vector<float>();
  // conv rows / columns 3..5 read it: pooled rows / columns 1 and 2 of every channel are NaN, row 0 is not
  CHECK(std::isnan(y[size_t(1 * 6 + 1)]));
  CHECK(std::isnan(y[size_t(9 * 36 + 2 * 6 + 2)]));
  CHECK_FALSE(std::isnan(y[0]));
  cpu::ConvPoolGeometry g;
  g.N = 1;
  g.C = 3;
  g.H = 2;
  g.W = 8;
  g.OC = 10;
  std::vector<float> buf(16 * 27);
  CHECK_THROWS_WITH_AS(cpu::conv_prelu_maxpool2(g, buf.data(), buf.data(), buf.data(), nullptr, buf.data()),
                       doctest::Contains("conv_prelu_maxpool2: input 2x8 is smaller than the 3x3 kernel"), Error);
  g.H = 8;
  g.OC = 17;
  CHECK_THROWS_WITH_AS(cpu::conv_prelu_maxpool2(g, buf.data(), buf.data(), buf.data(), nullptr, buf.data()),
                       doctest::Contains("needs 1..16 output channels, got 17"), Error);
}
