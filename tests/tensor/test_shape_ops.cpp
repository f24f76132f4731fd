// Forward tests of the shape ops: hand-worked values, the strides and storage sharing PyTorch gives
// (typed in from torch 1.13), reshape's view-or-copy rule, every dtype for the data movers, and errors.
// Gradients: tests/autograd/test_shape_ops_grad.cpp.
#include "cases/shape_ops.h"
#include "test_util.h"

using namespace fk;

namespace {

Tensor iota(const Shape& shape, DType dtype = DType::Float32) {
  return ops::reshape(arange(0, double(numel_of(shape)), 1, dtype), shape);
}
std::vector<float> values(const Tensor& t) { return t.to_vector<float>(); }
bool shares(const Tensor& a, const Tensor& b) { return a.storage() == b.storage(); }

}  // namespace

TEST_CASE("reshape: a view when the strides allow, like torch") {
  Tensor x = iota({2, 3, 4});
  SUBCASE("contiguous") {
    Tensor y = ops::reshape(x, {4, -1});
    CHECK(y.shape() == Shape{4, 6});
    CHECK(shares(x, y));
    CHECK(values(y) == values(x));
  }
  SUBCASE("permuted dims that stay evenly spaced") {
    // torch: x.permute(2,0,1).reshape(4,6).stride() == (1, 4), a view
    Tensor y = ops::reshape(ops::permute(x, {2, 0, 1}), {4, 6});
    CHECK(y.strides() == Shape{1, 4});
    CHECK(shares(x, y));
    CHECK(values(y) == values(ops::permute(x, {2, 0, 1})));
  }
  SUBCASE("sliced outer dims") {
    // torch: x[:, 1:].reshape(2, 8).stride() == (12, 1); x[:, :, 1:].reshape(6, 3).stride() == (4, 1)
    Tensor a = ops::reshape(ops::slice(x, 1, 1, 3), {2, 8});
    CHECK(a.strides() == Shape{12, 1});
    CHECK(a.offset() == 4);
    CHECK(shares(x, a));
    CHECK(values(a) == std::vector<float>{4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23});
    Tensor b = ops::reshape(ops::slice(x, 2, 1, 4), {6, 3});
    CHECK(b.strides() == Shape{4, 1});
    CHECK(shares(x, b));
  }
  SUBCASE("copies when a new dim would span two chunks") {
    Tensor t = ops::transpose(x, 0, 1);  // (3, 2, 4)
    Tensor y = ops::reshape(t, {3, 8});
    CHECK_FALSE(shares(x, y));
    CHECK(y.is_contiguous());
    CHECK(values(y) == std::vector<float>{0, 1, 2, 3, 12, 13, 14, 15, 4, 5, 6, 7, 16, 17, 18, 19, 8, 9, 10, 11, 20,
                                          21, 22, 23});
  }
  SUBCASE("size-1 and 0-d shapes") {
    Tensor s = ops::reshape(scalar_tensor(7), {1, 1});
    CHECK(s.shape() == Shape{1, 1});
    CHECK(ops::reshape(s, {}).item() == 7);
    CHECK(ops::reshape(zeros({2, 0, 3}), {6, 0}).shape() == Shape{6, 0});
  }
  SUBCASE("a write through the view reaches the base") {
    Tensor y = ops::reshape(x, {24});
    y.data<float>()[5] = 100;
    CHECK(x.to_vector<float>()[5] == 100);
  }
}

TEST_CASE("reshape/view: errors name the op and the shapes") {
  Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH_AS(ops::reshape(x, {4, 2}), doctest::Contains("reshape: shape [4, 2] is invalid for an input of 6"),
                       Error);
  CHECK_THROWS_WITH_AS(ops::reshape(x, {-1, -1}), doctest::Contains("only one dimension can be inferred"), Error);
  CHECK_THROWS_WITH_AS(ops::reshape(x, {-2, -3}), doctest::Contains("invalid size -2"), Error);
  CHECK_THROWS_WITH_AS(ops::reshape(zeros({0, 3}), {-1, 0}), doctest::Contains("0 elements"), Error);
  CHECK_THROWS_WITH_AS(ops::view(ops::transpose(x, 0, 1), {6}), doctest::Contains("use reshape"), Error);
  CHECK_THROWS_WITH_AS(ops::view(x, {5}), doctest::Contains("view: shape [5]"), Error);
}

TEST_CASE("view: never copies") {
  Tensor x = iota({2, 6});
  Tensor y = ops::view(x, {2, 2, 3});
  CHECK(shares(x, y));
  CHECK(y.strides() == Shape{6, 3, 1});
  Tensor t = ops::view(ops::transpose(x, 0, 1), {3, 2, 2});  // splitting the strided dim is fine
  CHECK(t.strides() == Shape{2, 1, 6});
}

TEST_CASE("flatten: merges a run of dims") {
  Tensor x = iota({2, 3, 4});
  CHECK(ops::flatten(x).shape() == Shape{24});
  CHECK(ops::flatten(x, 1).shape() == Shape{2, 12});
  CHECK(ops::flatten(x, 0, 1).shape() == Shape{6, 4});
  CHECK(ops::flatten(x, 1, 1).shape() == Shape{2, 3, 4});
  CHECK(ops::flatten(scalar_tensor(3)).shape() == Shape{1});
  CHECK_THROWS_WITH_AS(ops::flatten(x, 2, 1), doctest::Contains("flatten: start_dim 2 comes after end_dim 1"), Error);
  CHECK_THROWS_WITH_AS(ops::flatten(x, 3), doctest::Contains("flatten: dim 3 out of range"), Error);
}

TEST_CASE("permute/transpose: views with swapped strides") {
  Tensor x = iota({2, 3, 4});
  Tensor p = ops::permute(x, {2, 0, -2});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.strides() == Shape{1, 12, 4});
  CHECK(shares(x, p));
  CHECK(values(p).front() == 0);
  CHECK(values(p)[1] == 4);  // p[0, 0, 1] = x[0, 1, 0]
  Tensor t = ops::transpose(iota({2, 3}), 0, 1);
  CHECK(t.strides() == Shape{1, 3});
  CHECK(values(t) == std::vector<float>{0, 3, 1, 4, 2, 5});
  CHECK(ops::transpose(scalar_tensor(1), 0, -1).dim() == 0);
  CHECK_THROWS_WITH_AS(ops::permute(x, {0, 0, 1}), doctest::Contains("permute: dim 0 appears twice"), Error);
  CHECK_THROWS_WITH_AS(ops::permute(x, {0, 1}), doctest::Contains("permute: 2 dims given for a 3-d"), Error);
  CHECK_THROWS_WITH_AS(ops::transpose(x, 0, 3), doctest::Contains("transpose: dim 3 out of range"), Error);
}

TEST_CASE("squeeze/unsqueeze: strides as torch chooses them") {
  Tensor x = iota({2, 3, 4});
  // torch: x.unsqueeze(3).stride() == (12, 4, 1, 1); x.unsqueeze(0).stride() == (24, 12, 4, 1)
  CHECK(ops::unsqueeze(x, 3).strides() == Shape{12, 4, 1, 1});
  CHECK(ops::unsqueeze(x, 0).strides() == Shape{24, 12, 4, 1});
  // torch: x.transpose(1,2).unsqueeze(3).stride() == (12, 1, 4, 1); .unsqueeze(1).stride() == (12, 4, 1, 4)
  Tensor t = ops::transpose(x, 1, 2);
  CHECK(ops::unsqueeze(t, 3).strides() == Shape{12, 1, 4, 1});
  CHECK(ops::unsqueeze(t, 1).strides() == Shape{12, 4, 1, 4});
  CHECK(ops::unsqueeze(x, -1).shape() == Shape{2, 3, 4, 1});
  CHECK(ops::unsqueeze(scalar_tensor(1), 0).shape() == Shape{1});
  CHECK(ops::squeeze(zeros({2, 1, 3}), 1).shape() == Shape{2, 3});
  CHECK(ops::squeeze(zeros({2, 1, 3}), 0).shape() == Shape{2, 1, 3});  // not size 1: unchanged
  CHECK(ops::squeeze(scalar_tensor(1), 0).dim() == 0);
  CHECK_THROWS_WITH_AS(ops::unsqueeze(x, 4), doctest::Contains("unsqueeze: dim 4 out of range"), Error);
  CHECK_THROWS_WITH_AS(ops::squeeze(x, -4), doctest::Contains("squeeze: dim -4 out of range"), Error);
}

TEST_CASE("expand: stride 0 on repeated dims") {
  Tensor x = tensor({1, 2, 3}, {3, 1});
  Tensor y = ops::expand(x, {2, 3, -1});
  CHECK(y.shape() == Shape{2, 3, 1});
  Tensor z = ops::expand(x, {2, 3, 4});
  CHECK(z.strides() == Shape{0, 1, 0});
  CHECK(shares(x, z));
  CHECK(values(ops::slice(z, 0, 1, 2)) == std::vector<float>{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
  CHECK(ops::expand(zeros({3, 0}), {2, 3, 0}).shape() == Shape{2, 3, 0});
  CHECK(values(ops::expand(scalar_tensor(5), {2})) == std::vector<float>{5, 5});
  CHECK_THROWS_WITH_AS(ops::expand(zeros({2, 3}), {2, 4}),
                       doctest::Contains("expand: the expanded size 4 must match the existing size 3"), Error);
  CHECK_THROWS_WITH_AS(ops::expand(zeros({2, 3}), {-1, 2, 3}), doctest::Contains("new leading dim 0"), Error);
  CHECK_THROWS_WITH_AS(ops::expand(zeros({2, 3}), {3}), doctest::Contains("expand: the number of sizes"), Error);
}

TEST_CASE("slice: Python's x[start:end:step] along a dim") {
  Tensor x = iota({10});
  CHECK(values(ops::slice(x, 0, 2, 8, 3)) == std::vector<float>{2, 5});
  CHECK(values(ops::slice(x, 0, -3, 10)) == std::vector<float>{7, 8, 9});
  CHECK(values(ops::slice(x, 0, -100, 2)) == std::vector<float>{0, 1});  // clamped to 0
  CHECK(values(ops::slice(x, 0, 8, 100)) == std::vector<float>{8, 9});   // clamped to the end
  CHECK(ops::slice(x, 0, 7, 3).numel() == 0);                             // end before start: empty
  CHECK(ops::slice(x, 0, 12, 20).numel() == 0);
  Tensor m = iota({3, 4});
  Tensor s = ops::slice(m, 1, 1, 4, 2);  // columns 1 and 3
  CHECK(s.strides() == Shape{4, 2});
  CHECK(s.offset() == 1);
  CHECK(shares(m, s));
  CHECK(values(s) == std::vector<float>{1, 3, 5, 7, 9, 11});
  CHECK_THROWS_WITH_AS(ops::slice(x, 0, 0, 5, 0), doctest::Contains("slice: step must be positive"), Error);
  CHECK_THROWS_WITH_AS(ops::slice(scalar_tensor(1), 0, 0, 1), doctest::Contains("slice: cannot slice a 0-d"), Error);
}

TEST_CASE("select: removes the dim") {
  Tensor m = iota({3, 4});
  CHECK(values(ops::select(m, 0, 1)) == std::vector<float>{4, 5, 6, 7});
  CHECK(values(ops::select(m, 1, -1)) == std::vector<float>{3, 7, 11});
  CHECK(ops::select(ops::select(m, 0, 2), 0, 3).item() == 11);
  CHECK(shares(m, ops::select(m, 1, 0)));
  CHECK_THROWS_WITH_AS(ops::select(m, 1, 4), doctest::Contains("select: index 4 is out of range for dim 1 of size 4"),
                       Error);
  CHECK_THROWS_WITH_AS(ops::select(m, 0, -4), doctest::Contains("select: index -4"), Error);
}

TEST_CASE("index_select: rows picked by an int64 index") {
  Tensor m = iota({3, 4});
  Tensor idx = tensor({2, 0, 2}, DType::Int64);
  CHECK(values(ops::index_select(m, 0, idx)) == std::vector<float>{8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11});
  CHECK(values(ops::index_select(m, 1, idx)) == std::vector<float>{2, 0, 2, 6, 4, 6, 10, 8, 10});
  CHECK(values(ops::index_select(ops::transpose(m, 0, 1), 0, tensor({1}, DType::Int64))) ==
        std::vector<float>{1, 5, 9});
  CHECK(ops::index_select(m, 0, tensor(std::vector<double>{}, DType::Int64)).shape() == Shape{0, 4});
  CHECK(ops::index_select(m, 1, scalar_tensor(3, DType::Int64)).shape() == Shape{3, 1});  // 0-d index
  CHECK(ops::index_select(scalar_tensor(5), 0, tensor({0}, DType::Int64)).dim() == 0);     // torch: 0-d out
  CHECK(ops::index_select(iota({3}, DType::Int64), 0, tensor({1, 1}, DType::Int64)).to_vector<int64_t>() ==
        std::vector<int64_t>{1, 1});
  CHECK_THROWS_WITH_AS(ops::index_select(m, 0, tensor({3}, DType::Int64)),
                       doctest::Contains("index_select: index[0] = 3 is out of range for dim 0 of size 3"), Error);
  CHECK_THROWS_WITH_AS(ops::index_select(m, 0, tensor({-1}, DType::Int64)), doctest::Contains("index[0] = -1"), Error);
  CHECK_THROWS_WITH_AS(ops::index_select(m, 0, tensor({1})), doctest::Contains("index must be int64"), Error);
  CHECK_THROWS_WITH_AS(ops::index_select(m, 0, zeros({1, 1}, DType::Int64)), doctest::Contains("index must be 1-d"),
                       Error);
}

TEST_CASE("index_add: repeated indices accumulate") {
  Tensor base = ones({3, 2});
  Tensor src = tensor({1, 2, 3, 4, 5, 6}, {3, 2});
  Tensor out = ops::index_add(base, 0, tensor({2, 0, 2}, DType::Int64), src);
  CHECK(values(out) == std::vector<float>{4, 5, 1, 1, 7, 9});
  CHECK(values(base) == std::vector<float>{1, 1, 1, 1, 1, 1});  // base untouched
  CHECK_THROWS_WITH_AS(ops::index_add(base, 0, tensor({0, 1}, DType::Int64), src),
                       doctest::Contains("index_add: src [3, 2] must match base [3, 2] except in dim 0"), Error);
}

TEST_CASE("cat: joins along a dim") {
  Tensor a = iota({2, 2}), b = ops::add(iota({2, 3}), 10.0);
  SUBCASE("last dim") {
    Tensor y = ops::cat({a, b}, -1);
    CHECK(y.shape() == Shape{2, 5});
    CHECK(values(y) == std::vector<float>{0, 1, 10, 11, 12, 2, 3, 13, 14, 15});
  }
  SUBCASE("first dim, non-contiguous piece") {
    Tensor y = ops::cat({ops::transpose(a, 0, 1), a}, 0);
    CHECK(values(y) == std::vector<float>{0, 2, 1, 3, 0, 1, 2, 3});
  }
  SUBCASE("skips 1-d empty tensors, like torch") {
    Tensor y = ops::cat({zeros({0}), b, zeros({0})}, 1);
    CHECK(y.shape() == Shape{2, 3});
    CHECK(ops::cat({zeros({0}), zeros({0})}).shape() == Shape{0});
  }
  SUBCASE("int64 and bool") {
    Tensor i = ops::cat({iota({2}, DType::Int64), iota({1}, DType::Int64)});
    CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 0});
    Tensor m = ops::cat({ops::gt(a, 1.0), ops::gt(a, 2.0)}, 0);
    CHECK(m.dtype() == DType::Bool);
    CHECK(m.to_vector<uint8_t>() == std::vector<uint8_t>{0, 0, 1, 1, 0, 0, 0, 1});
  }
  SUBCASE("errors") {
    CHECK_THROWS_WITH_AS(ops::cat({a, a, zeros({3, 2})}, 1),
                         doctest::Contains("cat: tensor 2 has shape [3, 2] but tensor 0 has [2, 2]"), Error);
    CHECK_THROWS_WITH_AS(ops::cat({a, zeros({2, 2}, DType::Float64)}),
                         doctest::Contains("cat: tensor 1 has dtype float64 but tensor 0 has float32"), Error);
    CHECK_THROWS_WITH_AS(ops::cat({a, zeros({2, 2, 1})}), doctest::Contains("tensor 1 has shape [2, 2, 1]"), Error);
    CHECK_THROWS_WITH_AS(ops::cat({scalar_tensor(1)}), doctest::Contains("cat: tensor 0 is 0-d"), Error);
    CHECK_THROWS_WITH_AS(ops::cat({}), doctest::Contains("cat: expected a non-empty list"), Error);
    CHECK_THROWS_WITH_AS(ops::cat({a}, 2), doctest::Contains("cat: dim 2 out of range"), Error);
  }
}

TEST_CASE("stack: joins along a new dim") {
  Tensor a = iota({2, 3}), b = ops::add(iota({2, 3}), 10.0);
  CHECK(ops::stack({a, b}).shape() == Shape{2, 2, 3});
  Tensor y = ops::stack({a, b}, 1);
  CHECK(y.shape() == Shape{2, 2, 3});
  CHECK(values(y) == std::vector<float>{0, 1, 2, 10, 11, 12, 3, 4, 5, 13, 14, 15});
  Tensor z = ops::stack({a, b}, -1);
  CHECK(z.shape() == Shape{2, 3, 2});
  CHECK(values(z) == std::vector<float>{0, 10, 1, 11, 2, 12, 3, 13, 4, 14, 5, 15});
  CHECK(values(ops::stack({scalar_tensor(1), scalar_tensor(2)})) == std::vector<float>{1, 2});
  CHECK_THROWS_WITH_AS(ops::stack({a, zeros({3, 2})}),
                       doctest::Contains("stack: expects each tensor to be equal size, but got [2, 3] at entry 0 and "
                                         "[3, 2] at entry 1"),
                       Error);
  CHECK_THROWS_WITH_AS(ops::stack({a, b}, 3), doctest::Contains("stack: dim 3 out of range"), Error);
}

TEST_CASE("pad: F.pad constant mode, negative pads crop") {
  Tensor x = iota({2, 3});
  SUBCASE("last dim") {
    CHECK(values(ops::pad(x, {1, 2}, -1)) == std::vector<float>{-1, 0, 1, 2, -1, -1, -1, 3, 4, 5, -1, -1});
  }
  SUBCASE("pad and crop, as torch") {
    // torch: F.pad(torch.arange(6.).reshape(2,3), (1,-1,-1,2)) == [[0,3,4],[0,0,0],[0,0,0]]
    Tensor y = ops::pad(x, {1, -1, -1, 2});
    CHECK(y.shape() == Shape{3, 3});
    CHECK(values(y) == std::vector<float>{0, 3, 4, 0, 0, 0, 0, 0, 0});
  }
  SUBCASE("NCHW spatial padding of a non-contiguous input") {
    Tensor t = ops::transpose(iota({1, 1, 2, 2}), 2, 3);  // [[0, 2], [1, 3]]
    Tensor y = ops::pad(t, {1, 0, 0, 1});
    CHECK(y.shape() == Shape{1, 1, 3, 3});
    CHECK(values(y) == std::vector<float>{0, 0, 2, 0, 1, 3, 0, 0, 0});
  }
  SUBCASE("crop to nothing, int64, no pads") {
    CHECK(ops::pad(x, {-2, -1}).shape() == Shape{2, 0});
    CHECK(ops::pad(iota({2}, DType::Int64), {1, 0}, 7).to_vector<int64_t>() == std::vector<int64_t>{7, 0, 1});
    CHECK(values(ops::pad(x, {})) == values(x));
  }
  SUBCASE("errors") {
    CHECK_THROWS_WITH_AS(ops::pad(x, {1, 1, 1}), doctest::Contains("pad: padding length 3 must be even"), Error);
    CHECK_THROWS_WITH_AS(ops::pad(x, {1, 1, 1, 1, 1, 1}), doctest::Contains("pad: 6 padding values are too many"),
                         Error);
    CHECK_THROWS_WITH_AS(ops::pad(x, {-2, -2}),
                         doctest::Contains("pad: dim 1 of size 3 padded by (-2, -2) gives a negative size"), Error);
  }
}

TEST_CASE("to_dtype: converts values") {
  Tensor x = tensor({1.5, -2});
  Tensor y = to_dtype(x, DType::Float64);
  CHECK(y.dtype() == DType::Float64);
  CHECK(y.to_vector<double>() == std::vector<double>{1.5, -2});
  CHECK(to_dtype(x, DType::Int64).to_vector<int64_t>() == std::vector<int64_t>{1, -2});
}

TEST_CASE("slice_backward/select_backward: dy lands in the sliced region of zeros") {
  Tensor dy = tensor({1, 2, 3, 4}, {2, 2});
  CHECK(values(ops::slice_backward(dy, {2, 5}, 1, 1, 5, 2)) == std::vector<float>{0, 1, 0, 2, 0, 0, 3, 0, 4, 0});
  CHECK(values(ops::select_backward(tensor({5, 6}), {3, 2}, 0, 1)) == std::vector<float>{0, 0, 5, 6, 0, 0});
  CHECK_THROWS_WITH_AS(ops::slice_backward(dy, {2, 5}, 1, 0, 5), doctest::Contains("slice_backward: gradient [2, 2]"),
                       Error);
}
