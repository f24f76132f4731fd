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

TEST_CASE("conv2d: float32 training convs that keep x blocked give the float64 gradients") {
  // float32 CPU convs of 16+ channels convert x to the blocked layout once and keep that copy for
  // dweight (ops::conv2d_blocked_input_applies): x, weight and bias gradients through the graph,
  // stride 1 (dx on the blocked kernels) and 2 (dx on im2col + GEMM), dense and depthwise
  manual_seed(23);
  struct Case {
    int64_t C, OC, stride, groups;
    bool x_grad;
  };
  for (const Case c : {Case{32, 20, 1, 1, true}, Case{16, 32, 2, 1, true}, Case{32, 32, 2, 32, true},
                       Case{24, 24, 1, 24, false}}) {
    const Conv2dOptions opts{{c.stride, c.stride}, {1, 1}, {1, 1}, c.groups};
    Tensor x64 = randn({2, c.C, 9, 8}, DType::Float64), w64 = randn({c.OC, c.C / c.groups, 3, 3}, DType::Float64);
    Tensor b64 = randn({c.OC}, DType::Float64);
    Tensor x = x64.to(DType::Float32), w = w64.to(DType::Float32), b = b64.to(DType::Float32);
    REQUIRE(ops::conv2d_blocked_input_applies(x, w, opts));
    if (c.x_grad) x.requires_grad_(), x64.requires_grad_();
    w.requires_grad_(), b.requires_grad_(), w64.requires_grad_(), b64.requires_grad_();
    Tensor y = conv2d(x, w, b, opts), y64 = conv2d(x64, w64, b64, opts);
    Tensor dy64 = randn(y64.shape(), DType::Float64);
    sum(y * dy64.to(DType::Float32)).backward();
    sum(y64 * dy64).backward();
    std::string label = "C";  // (a chain of std::string + trips GCC 12's false -Wrestrict, bug 105329)
    label += std::to_string(c.C);
    label += c.stride == 1 ? " stride 1" : " stride 2";
    CHECK_CLOSE(y.to(DType::Float64), y64.detach(), 2e-4, 1e-4, "y " + label);
    CHECK_CLOSE(w.grad().to(DType::Float64), w64.grad(), 1e-3, 1e-4, "dweight " + label);
    CHECK_CLOSE(b.grad().to(DType::Float64), b64.grad(), 1e-3, 1e-4, "dbias " + label);
    if (c.x_grad) CHECK_CLOSE(x.grad().to(DType::Float64), x64.grad(), 1e-3, 1e-4, "dx " + label);
    else CHECK_FALSE(x.grad().defined());
  }
  // float64, or 3 input channels: the plain path
  CHECK_FALSE(ops::conv2d_blocked_input_applies(randn({1, 16, 5, 5}, DType::Float64),
                                                randn({16, 16, 3, 3}, DType::Float64), {}));
  CHECK_FALSE(ops::conv2d_blocked_input_applies(randn({1, 3, 5, 5}), randn({16, 3, 3, 3}), {}));
}

TEST_CASE("conv2d: gradcheck of dilated, strided depthwise convs (the direct depthwise dx)") {
  manual_seed(24);
  const Conv2dOptions opts[] = {{{1, 2}, {2, 1}, {2, 1}, 4}, {{2, 2}, {0, 0}, {1, 1}, 4}, {{1, 1}, {2, 2}, {1, 1}, 4}};
  for (const Conv2dOptions& o : opts) {
    std::vector<Tensor> inputs{test::leaf({2, 4, 7, 8}), test::leaf({4, 1, 3, 3}), test::leaf({4})};
    auto f = [&](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], o); };
    CHECK_GRADCHECK(f, inputs);
  }
}
