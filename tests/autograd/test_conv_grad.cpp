// Gradient tests of conv2d (autograd/conv.cpp, tensor/cpu/conv.cpp): a hand-worked backward through
// fk::conv2d, float64 gradchecks of x, weight and bias for every row of tests/cases/conv.h, and the
// skipped gradients (an input that does not require grad gets none computed).
#include "cases/conv.h"
#include "test_util.h"

using namespace fk;

TEST_CASE("conv2d: hand-worked backward through the graph") {
  // x = [[1,2,3],[4,5,6],[7,8,9]], w = [[1,2],[3,4]], loss = sum(y): dy = 1 everywhere
  Tensor x = tensor({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3}, DType::Float64).requires_grad_();
  Tensor w = tensor({1, 2, 3, 4}, {1, 1, 2, 2}, DType::Float64).requires_grad_();
  Tensor b = tensor({0.5}, DType::Float64).requires_grad_();
  sum(conv2d(x, w, b)).backward();
  // dx[i,j] = sum of the taps of w that cover (i,j); dw[a,b] = sum of the 2x2 block at (a,b); db = 4 outputs
  CHECK_CLOSE(x.grad(), tensor({1, 3, 2, 4, 10, 6, 3, 7, 4}, {1, 1, 3, 3}, DType::Float64), 0, 0, "dx");
  CHECK_CLOSE(w.grad(), tensor({12, 16, 24, 28}, {1, 1, 2, 2}, DType::Float64), 0, 0, "dweight");
  CHECK_CLOSE(b.grad(), tensor({4}, DType::Float64), 0, 0, "dbias");
}

TEST_CASE("conv2d: gradcheck of x, weight and bias") {
  for (const test::ConvCase& c : test::conv_cases) {
    SUBCASE(c.name) {
      manual_seed(21);
      std::vector<Tensor> inputs{test::leaf(c.x), test::leaf(c.w)};
      if (c.bias) inputs.push_back(test::leaf({c.w[0]}));
      auto f = [&](const std::vector<Tensor>& in) {
        return conv2d(in[0], in[1], c.bias ? in[2] : Tensor(), c.opts);
      };
      CHECK_GRADCHECK(f, inputs);
    }
  }
}

TEST_CASE("conv2d: only the gradients that inputs require are computed") {
  manual_seed(22);
  Tensor x = randn({2, 3, 5, 5}, DType::Float64);  // a network input: no gradient wanted
  Tensor w = test::leaf({4, 3, 3, 3});
  Tensor b = randn({4}, DType::Float64);  // frozen bias
  Tensor y = conv2d(x, w, b, {{1, 1}, {1, 1}, {1, 1}, 1});
  REQUIRE(y.requires_grad());
  sum(y).backward();
  CHECK_FALSE(x.grad().defined());
  CHECK_FALSE(b.grad().defined());
  // dw = sum over positions of x-windows: compare with the raw backward of dy = 1
  ops::Conv2dGrads g = ops::conv2d_backward(ones_like(y), x, w, true, {{1, 1}, {1, 1}, {1, 1}, 1});
  CHECK_CLOSE(w.grad(), g.dweight, 0, 0, "dweight");
  // without any input requiring grad no graph is recorded
  CHECK_FALSE(conv2d(x, w.detach(), b).requires_grad());
}
