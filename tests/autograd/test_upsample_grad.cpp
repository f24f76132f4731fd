// Gradient tests of upsample_bilinear2d (autograd/upsample.cpp, tensor/cpu/upsample.cpp): float64
// gradchecks for every row of tests/cases/upsample.h, through both public overloads (by output
// size and by scale factor).
#include "cases/upsample.h"
#include "test_util.h"

using namespace fk;

TEST_CASE("upsample_bilinear2d: gradcheck for every case") {
  for (const test::UpsampleCase& c : test::upsample_cases) {
    SUBCASE(c.name) {
      manual_seed(41);
      Tensor x = test::leaf(c.x);
      auto f = [&](const std::vector<Tensor>& in) {
        return c.scale ? upsample_bilinear2d_scale(in[0], *c.scale) : upsample_bilinear2d(in[0], c.size);
      };
      CHECK_GRADCHECK(f, {x});
    }
  }
}

TEST_CASE("upsample_bilinear2d: hand-worked backward through the graph") {
  // 1x2 -> 1x4: source columns -0.25 -> 0, 0.25, 0.75, 1.25 -> (1, clamped); weights on x[0]: 1, .75, .25, 0
  Tensor x = tensor({1, 2}, {1, 1, 1, 2}, DType::Float64).requires_grad_();
  Tensor y = upsample_bilinear2d(x, std::array<int64_t, 2>{1, 4});
  CHECK_CLOSE(y, tensor({1, 1.25, 1.75, 2}, {1, 1, 1, 4}, DType::Float64), 1e-15, 0, "y");
  y.backward(tensor({1, 10, 100, 1000}, {1, 1, 1, 4}, DType::Float64));
  CHECK_CLOSE(x.grad(), tensor({1 + 7.5 + 25, 2.5 + 75 + 1000}, {1, 1, 1, 2}, DType::Float64), 1e-12, 0, "dx");
}
