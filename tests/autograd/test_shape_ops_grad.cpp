// Float64 gradchecks of the shape ops over the cases of tests/cases/shape_ops.h, plus hand-worked
// gradients for the scatter-shaped backwards (expand sums, index_select adds repeated rows, pad crops)
// and to_dtype's float32 <-> float64 round trip.
#include "cases/shape_ops.h"
#include "test_util.h"

using namespace fk;
using V = std::vector<Tensor>;

TEST_CASE("shape ops: gradcheck") {
  manual_seed(21);
  for (const auto& c : test::shape_cases()) {
    SUBCASE(c.name) {
      std::vector<Tensor> inputs;
      for (const Shape& s : c.inputs) inputs.push_back(test::leaf(s));
      CHECK_GRADCHECK(c.f, inputs);
    }
  }
}

TEST_CASE("expand: gradient sums over the repeated dims") {
  Tensor x = tensor({1, 2}, {2, 1}).requires_grad_();
  Tensor y = expand(x, {3, 2, 4});
  y.backward(ones({3, 2, 4}));
  CHECK(x.grad().shape() == Shape{2, 1});
  CHECK(x.grad().to_vector<float>() == std::vector<float>{12, 12});
}

TEST_CASE("index_select: gradient adds every copy of a repeated row") {
  Tensor x = tensor({1, 2, 3, 4, 5, 6}, {3, 2}).requires_grad_();
  Tensor y = index_select(x, 0, tensor({2, 0, 2}, DType::Int64));
  y.backward(tensor({1, 2, 3, 4, 5, 6}, {3, 2}));
  // row 2 gets dy rows 0 and 2, row 0 gets dy row 1, row 1 nothing
  CHECK(x.grad().to_vector<float>() == std::vector<float>{3, 4, 0, 0, 6, 8});
}

TEST_CASE("slice/select: gradient is dy scattered into zeros") {
  Tensor x = zeros({2, 5}).requires_grad_();
  Tensor y = slice(x, 1, 0, 5, 2);  // columns 0, 2, 4
  y.backward(tensor({1, 2, 3, 4, 5, 6}, {2, 3}));
  CHECK(x.grad().to_vector<float>() == std::vector<float>{1, 0, 2, 0, 3, 4, 0, 5, 0, 6});
  Tensor z = zeros({2, 3}).requires_grad_();
  select(z, 0, -1).backward(tensor({7, 8, 9}));
  CHECK(z.grad().to_vector<float>() == std::vector<float>{0, 0, 0, 7, 8, 9});
}

TEST_CASE("pad: gradient crops the padding and zeroes the cropped part") {
  Tensor x = zeros({2, 3}).requires_grad_();
  Tensor y = pad(x, {1, -1}, 9.0);  // (2, 3): [9, x0, x1] per row
  y.backward(tensor({1, 2, 3, 4, 5, 6}, {2, 3}));
  CHECK(x.grad().to_vector<float>() == std::vector<float>{2, 3, 0, 5, 6, 0});
}

TEST_CASE("cat/stack: each input gets its piece of the gradient") {
  Tensor a = zeros({2, 1}).requires_grad_(), b = zeros({2, 2}).requires_grad_();
  cat({a, b}, 1).backward(tensor({1, 2, 3, 4, 5, 6}, {2, 3}));
  CHECK(a.grad().to_vector<float>() == std::vector<float>{1, 4});
  CHECK(b.grad().to_vector<float>() == std::vector<float>{2, 3, 5, 6});
  Tensor c = zeros({2}).requires_grad_(), d = zeros({2}).requires_grad_();
  stack({c, d}, 1).backward(tensor({1, 2, 3, 4}, {2, 2}));
  CHECK(c.grad().to_vector<float>() == std::vector<float>{1, 3});
  CHECK(d.grad().to_vector<float>() == std::vector<float>{2, 4});
}

TEST_CASE("to_dtype: gradient converts back to the input's dtype") {
  Tensor x = tensor({1, 2, 3}).requires_grad_();  // float32
  Tensor y = to_dtype(x, DType::Float64);
  CHECK(y.dtype() == DType::Float64);
  CHECK(y.requires_grad());
  y.backward(tensor({0.5, 0.25, 2}, DType::Float64));
  CHECK(x.grad().dtype() == DType::Float32);
  CHECK(x.grad().to_vector<float>() == std::vector<float>{0.5f, 0.25f, 2});
  // integer results carry no gradient
  CHECK_FALSE(to_dtype(x, DType::Int64).requires_grad());
}

TEST_CASE("views: a tensor used through two views gets both gradients") {
  Tensor x = tensor({1, 2, 3, 4}, {2, 2}).requires_grad_();
  Tensor y = add(reshape(x, {4}), reshape(transpose(x, 0, 1), {4}));  // x[i,j] + x[j,i]
  y.backward(tensor({1, 10, 100, 1000}));
  CHECK(x.grad().to_vector<float>() == std::vector<float>{2, 110, 110, 2000});
}
