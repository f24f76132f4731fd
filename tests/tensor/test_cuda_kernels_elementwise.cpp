// The CUDA element-wise kernels (cuda/elementwise_kernels.h) run on the CPU with cuda::emulate, on
// host pointers, and compared with the fk::ops CPU results: this checks their index arithmetic
// (broadcast strides, strided in-place targets, strided conversions) on machines without a GPU.
// The same math runs on a GPU in tests/cuda/test_elementwise.cpp.
#include <vector>

#include "cases/elementwise.h"
#include "cuda/elementwise_kernels.h"
#include "tensor/dispatch.h"
#include "tensor/ops.h"
#include "test_util.h"

using namespace fk;
namespace ew = fk::elementwise;
namespace kern = fk::cuda::elementwise_kernels;

// The StridedIndex that reads t broadcast to `target` (what cuda/elementwise.cu builds).
static cuda::StridedIndex bindex(const Tensor& t, const Shape& target) {
  return cuda::make_strided_index(target, broadcast_strides(t.shape(), t.strides(), target));
}

// Runs BinaryBroadcastKernel<double, double, F> over the broadcast shape of a and b.
template <class F>
static Tensor emulate_binary(const Tensor& a, const Tensor& b, F f) {
  Shape out = broadcast_shapes(a.shape(), b.shape(), "emulate");
  Tensor y = full(out, NAN, DType::Float64);
  cuda::emulate(y.numel(), kern::BinaryBroadcastKernel<double, double, F>{a.data<double>(), b.data<double>(),
                                                                         y.data<double>(), bindex(a, out),
                                                                         bindex(b, out), f});
  return y;
}

TEST_CASE("cuda elementwise kernels: broadcast binary kernel matches the CPU ops") {
  manual_seed(1);
  for (const auto& c : test::kBroadcastCases) {
    SUBCASE(c.name) {
      Tensor a = randn(c.a, DType::Float64), b = randn(c.b, DType::Float64);
      CHECK_CLOSE(emulate_binary(a, b, ew::Add{}), ops::add(a, b), 0, 0, std::string("add ") + c.name);
      CHECK_CLOSE(emulate_binary(a, b, ew::Sub{}), ops::sub(a, b), 0, 0, std::string("sub ") + c.name);
      CHECK_CLOSE(emulate_binary(a, b, ew::Div{}), ops::div(a, b), 0, 0, std::string("div ") + c.name);
      CHECK_CLOSE(emulate_binary(a, b, ew::Maximum{}), ops::maximum(a, b), 0, 0, std::string("maximum ") + c.name);
      CHECK_CLOSE(emulate_binary(a, b, ew::Minimum{}), ops::minimum(a, b), 0, 0, std::string("minimum ") + c.name);
      // the same with the operands swapped: the broadcast is now on the other side
      CHECK_CLOSE(emulate_binary(b, a, ew::Sub{}), ops::sub(b, a), 0, 0, std::string("sub swapped ") + c.name);
    }
  }
}

TEST_CASE("cuda elementwise kernels: broadcast kernel reads a transposed operand") {
  manual_seed(2);
  Tensor a = ops::transpose(randn({4, 3}, DType::Float64), 0, 1);  // [3, 4], strides {1, 3}
  Tensor b = randn({4}, DType::Float64);
  REQUIRE_FALSE(a.is_contiguous());
  CHECK_CLOSE(emulate_binary(a, b, ew::Mul{}), ops::mul(a, b), 0, 0, "mul transposed");
}

TEST_CASE("cuda elementwise kernels: contiguous binary and unary kernels match the CPU ops") {
  manual_seed(3);
  Tensor a = randn({5, 7}, DType::Float64), b = randn({5, 7}, DType::Float64);
  Tensor y = full({5, 7}, NAN, DType::Float64);
  cuda::emulate(y.numel(), kern::BinaryContiguousKernel<double, double, ew::Pow>{
                               ops::abs(a).data<double>(), b.data<double>(), y.data<double>(), {}});
  CHECK_CLOSE(y, ops::pow(ops::abs(a), b), 0, 0, "pow contiguous");

  Tensor u = full({5, 7}, NAN, DType::Float64);
  cuda::emulate(u.numel(), kern::UnaryKernel<double, double, ew::Sigmoid>{a.data<double>(), u.data<double>(), {}});
  CHECK_CLOSE(u, ops::sigmoid(a), 0, 0, "sigmoid");
  cuda::emulate(u.numel(), kern::UnaryKernel<double, double, ew::Clamp>{a.data<double>(), u.data<double>(),
                                                                        ew::Clamp{-0.5, 0.25}});
  CHECK_CLOSE(u, ops::clamp(a, -0.5, 0.25), 0, 0, "clamp");
}

TEST_CASE("cuda elementwise kernels: comparison kernel writes bools for every dtype") {
  Tensor a = tensor({0, 1, 2, 3, 4, 5}, {2, 3});
  Tensor b = tensor({1, 2, 4}, {3});
  for (DType t : {DType::Float32, DType::Float64, DType::Int64, DType::UInt8}) {
    SUBCASE(dtype_name(t)) {
      Tensor at = a.to(t), bt = b.to(t);
      Tensor y = empty({2, 3}, DType::Bool);
      dispatch_all(t, "test", [&]<class T>() {
        cuda::emulate(y.numel(), kern::BinaryBroadcastKernel<T, bool, ew::Le>{
                                     at.data<T>(), bt.data<T>(), y.data<bool>(), bindex(at, {2, 3}), bindex(bt, {2, 3}), {}});
      });
      CHECK(y.to_vector<uint8_t>() == std::vector<uint8_t>{1, 1, 1, 0, 0, 0});
      CHECK(y.to_vector<uint8_t>() == ops::le(at, bt).to_vector<uint8_t>());
    }
  }
}

TEST_CASE("cuda elementwise kernels: where kernel broadcasts all three operands") {
  manual_seed(4);
  Tensor cond = tensor({1, 0, 1}, {3, 1}).to(DType::Bool);  // both branches taken
  Tensor a = randn({1, 4}, DType::Float64), b = randn({}, DType::Float64);
  Shape out{3, 4};
  Tensor y = full(out, NAN, DType::Float64);
  cuda::emulate(y.numel(), kern::WhereKernel<double>{cond.data<bool>(), a.data<double>(), b.data<double>(),
                                                     y.data<double>(), bindex(cond, out), bindex(a, out),
                                                     bindex(b, out)});
  CHECK_CLOSE(y, ops::where(cond, a, b), 0, 0, "where");
  CHECK(y.to_vector<double>()[4] == b.item());  // row 1 takes b everywhere
}

TEST_CASE("cuda elementwise kernels: in-place kernels on a strided slice with a broadcast operand") {
  manual_seed(5);
  Tensor base = randn({6, 5}, DType::Float64);
  Tensor expect = base.clone();
  Tensor b = randn({5}, DType::Float64);
  // every other row: a [3, 5] view with strides {10, 1}
  Tensor view = ops::slice(base, 0, 0, 6, 2), expect_view = ops::slice(expect, 0, 0, 6, 2);
  cuda::emulate(view.numel(), kern::InplaceStridedKernel<double, ew::AddScaled<double>>{
                                  view.data<double>(), b.data<double>(),
                                  cuda::make_strided_index(view.shape(), view.strides()), bindex(b, view.shape()),
                                  ew::AddScaled<double>{-2.5}});
  ops::add_(expect_view, b, -2.5);
  CHECK_CLOSE(base, expect, test::kFmaTol, test::kFmaTol, "add_ on a slice (the rows in between must stay)");

  Tensor c = randn({6, 5}, DType::Float64), c_expect = c.clone();
  Tensor d = randn({6, 5}, DType::Float64);
  cuda::emulate(c.numel(), kern::InplaceContiguousKernel<double, ew::Mul>{c.data<double>(), d.data<double>(), {}});
  ops::mul_(c_expect, d);
  CHECK_CLOSE(c, c_expect, 0, 0, "mul_ contiguous");
}

// Runs the strided copy kernel dst <- src for the dtypes of dst and src.
static void emulate_copy(const Tensor& dst, const Tensor& src) {
  dispatch_all(dst.dtype(), "test", [&]<class D>() {
    dispatch_all(src.dtype(), "test", [&]<class S>() {
      cuda::emulate(dst.numel(), kern::CopyStridedKernel<D, S>{dst.data<D>(),
                                                               src.data<S>(),
                                                               cuda::make_strided_index(dst.shape(), dst.strides()),
                                                               bindex(src, dst.shape())});
    });
  });
}

TEST_CASE("cuda elementwise kernels: copy kernel converts every dtype pair like Tensor::to") {
  const std::vector<DType> dtypes = {DType::Float32, DType::Float64, DType::Int64, DType::UInt8, DType::Bool};
  // values every dtype can hold after the source conversion: 0, small positives, a fraction
  Tensor values = tensor({0, 1, 2.5, 7, 0, 200, 3, 1}, {2, 4}, DType::Float64);
  for (DType from : dtypes) {
    for (DType to : dtypes) {
      std::string name = std::string(dtype_name(from)) + " -> " + dtype_name(to);
      SUBCASE(name.c_str()) {
        Tensor src = ops::transpose(values.to(from), 0, 1);  // [4, 2], non-contiguous
        Tensor dst = empty({4, 2}, to);
        emulate_copy(dst, src);
        CHECK(dst.to_vector<double>() == src.contiguous().to(to).to_vector<double>());

        Tensor flat = empty({4, 2}, to);  // the contiguous kernel on the contiguous source
        Tensor csrc = src.contiguous();
        dispatch_all(to, "test", [&]<class D>() {
          dispatch_all(from, "test", [&]<class S>() {
            cuda::emulate(flat.numel(), kern::CopyContiguousKernel<D, S>{flat.data<D>(), csrc.data<S>()});
          });
        });
        CHECK(flat.to_vector<double>() == csrc.to(to).to_vector<double>());
      }
    }
  }
}

TEST_CASE("cuda elementwise kernels: copy kernel into a strided destination from a broadcast source") {
  Tensor base = zeros({4, 6}, DType::Float32);
  Tensor dst = ops::slice(base, 1, 1, 6, 2);  // [4, 3], strides {6, 2}
  Tensor src = tensor({1, -2, 3}, {3}, DType::Int64);
  emulate_copy(dst, src);
  CHECK(base.to_vector<float>() == std::vector<float>{0, 1, 0, -2, 0, 3, 0, 1, 0, -2, 0, 3,
                                                      0, 1, 0, -2, 0, 3, 0, 1, 0, -2, 0, 3});
}

TEST_CASE("cuda elementwise kernels: fill kernel writes only the strided view") {
  Tensor base = zeros({3, 4}, DType::Float64);
  Tensor view = ops::slice(base, 1, 0, 4, 3);  // columns 0 and 3
  cuda::emulate(view.numel(), kern::FillKernel<double>{view.data<double>(),
                                                       cuda::make_strided_index(view.shape(), view.strides()), 7.5});
  CHECK(base.to_vector<double>() == std::vector<double>{7.5, 0, 0, 7.5, 7.5, 0, 0, 7.5, 7.5, 0, 0, 7.5});
  CHECK(ew::convert_value<uint8_t>(300.0) == uint8_t(44));  // wraps through int64, as Tensor::to
  CHECK(ew::convert_value<bool>(-0.5f) == true);
}
