// The CUDA element-wise ops (cuda/elementwise.h) and the copy primitive cuda::copy_strided
// (cuda/copy.h). Each op allocates its output on the input's device, picks the kernel shape
// (contiguous operands of one shape: plain index; otherwise StridedIndex with broadcast strides),
// and launches a functor of cuda/elementwise_kernels.h on the current stream; the per-element math
// is the functor of tensor/cpu/elementwise_math.h that the CPU ops call too.
// Tests: tests/cuda/test_elementwise.cpp (GPU vs CPU), tests/tensor/test_cuda_kernels_elementwise.cpp.
#include "cuda/elementwise.h"

#include <cmath>
#include <type_traits>

#include "cuda/copy.h"
#include "cuda/elementwise_kernels.h"
#include "cuda/launch.h"
#include "cuda/runtime.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"

namespace fk::cuda {

namespace ew = fk::elementwise;
using namespace elementwise_kernels;  // the functors of cuda/elementwise_kernels.h

namespace {

// The StridedIndex reading a tensor of shape `shape`/`strides` broadcast to `target`.
StridedIndex broadcast_index(const Tensor& t, const Shape& target) {
  return make_strided_index(target, broadcast_strides(t.shape(), t.strides(), target));
}

// The StridedIndex of t itself; a contiguous tensor is walked as one flat dim (one division per
// element instead of one per dim).
StridedIndex own_index(const Tensor& t) {
  if (t.is_contiguous()) return make_strided_index(Shape{t.numel()}, Shape{1});
  return make_strided_index(t.shape(), t.strides());
}

// y = f(a, b) over the broadcast shape of a and b; y has element type R (T, or bool for comparisons).
template <class T, class R, class F>
Tensor map_binary(const Tensor& a, const Tensor& b, DType out_dtype, const char* op, F f) {
  Shape out = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor y = empty(out, out_dtype, a.device());
  int dev = a.device().index;
  if (a.shape() == out && b.shape() == out && a.is_contiguous() && b.is_contiguous()) {
    launch(y.numel(), BinaryContiguousKernel<T, R, F>{ptr<T>(a), ptr<T>(b), ptr<R>(y), f}, dev);
  } else {
    launch(y.numel(),
           BinaryBroadcastKernel<T, R, F>{ptr<T>(a), ptr<T>(b), ptr<R>(y), broadcast_index(a, out),
                                          broadcast_index(b, out), f},
           dev);
  }
  return y;
}

template <class F>
Tensor binary_float(const Tensor& a, const Tensor& b, const char* op, F f) {
  check_same_type(a, b, op);
  Tensor y;
  dispatch_float(a.dtype(), op, [&]<class T>() { y = map_binary<T, T>(a, b, a.dtype(), op, f); });
  return y;
}

// y = f(x) on a contiguous copy of x (as the CPU map_unary).
template <class F>
Tensor unary_float(const Tensor& x_in, const char* op, F f) {
  Tensor x = x_in.contiguous();
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&]<class T>() {
    launch(x.numel(), UnaryKernel<T, T, F>{ptr<T>(x), ptr<T>(y), f}, x.device().index);
  });
  return y;
}

template <class F>
Tensor compare(const Tensor& a, const Tensor& b, const char* op, F f) {
  check_same_type(a, b, op);
  Tensor y;
  dispatch_all(a.dtype(), op, [&]<class T>() { y = map_binary<T, bool>(a, b, DType::Bool, op, f); });
  return y;
}

// a = f(a, b) in place, b broadcast to a's shape; a may be strided.
template <class T, class F>
void map_inplace(Tensor& a, const Tensor& b, F f) {
  int dev = a.device().index;
  if (a.is_contiguous() && b.is_contiguous() && a.shape() == b.shape()) {
    launch(a.numel(), InplaceContiguousKernel<T, F>{ptr<T>(a), ptr<T>(b), f}, dev);
  } else {
    launch(a.numel(),
           InplaceStridedKernel<T, F>{ptr<T>(a), ptr<T>(b), make_strided_index(a.shape(), a.strides()),
                                      broadcast_index(b, a.shape()), f},
           dev);
  }
}

// The dtypes copy_strided converts between (float16/bfloat16 are only copied as themselves).
bool convertible(DType t) {
  return t == DType::Float32 || t == DType::Float64 || t == DType::Int64 || t == DType::UInt8 || t == DType::Bool;
}

// Same-dtype strided copy: moves the element's bytes as an unsigned integer of its size.
template <class U>
void copy_bytes_strided(const Tensor& dst, const Tensor& src) {
  launch(dst.numel(),
         CopyStridedKernel<U, U>{static_cast<U*>(dst.raw_data()), static_cast<const U*>(src.raw_data()),
                                 own_index(dst), broadcast_index(src, dst.shape())},
         dst.device().index);
}

}  // namespace

// ---- the copy primitive
void copy_strided(const Tensor& dst, const Tensor& src) {
  FK_CHECK(dst.defined() && src.defined(), "copy_strided: undefined tensor");
  FK_CHECK(dst.device().is_cuda() && src.device() == dst.device(), "copy_strided: ", dst.str(), " <- ", src.str(),
           ": both tensors must be on one CUDA device");
  FK_CHECK(broadcast_shapes(dst.shape(), src.shape(), "copy_strided") == dst.shape(), "copy_strided: source ",
           shape_str(src.shape()), " cannot be broadcast to ", shape_str(dst.shape()));
  int64_t n = dst.numel();
  if (n == 0) return;
  int dev = dst.device().index;
  bool plain = dst.is_contiguous() && src.is_contiguous() && src.shape() == dst.shape();
  if (dst.dtype() == src.dtype()) {
    size_t es = dtype_size(dst.dtype());
    if (plain) {
      cuda::memcpy(dst.raw_data(), src.raw_data(), size_t(n) * es, CopyKind::DeviceToDevice, dev);
      return;
    }
    switch (es) {
      case 1: copy_bytes_strided<uint8_t>(dst, src); return;
      case 2: copy_bytes_strided<uint16_t>(dst, src); return;
      case 4: copy_bytes_strided<uint32_t>(dst, src); return;
      default: copy_bytes_strided<uint64_t>(dst, src); return;
    }
  }
  FK_CHECK(convertible(dst.dtype()) && convertible(src.dtype()), "copy_strided: no CUDA conversion from ",
           dtype_name(src.dtype()), " to ", dtype_name(dst.dtype()), " (convert float16/bfloat16 on the CPU)");
  dispatch_all(dst.dtype(), "copy_strided", [&]<class D>() {
    dispatch_all(src.dtype(), "copy_strided", [&]<class S>() {
      if constexpr (!std::is_same_v<D, S>) {  // equal dtypes took the byte copy above
        if (plain) {
          launch(n, CopyContiguousKernel<D, S>{ptr<D>(dst), ptr<S>(src)}, dev);
        } else {
          launch(n, CopyStridedKernel<D, S>{ptr<D>(dst), ptr<S>(src), own_index(dst), broadcast_index(src, dst.shape())},
                 dev);
        }
      }
    });
  });
}

// ---- binary arithmetic
Tensor add(const Tensor& a, const Tensor& b) { return binary_float(a, b, "add", ew::Add{}); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary_float(a, b, "sub", ew::Sub{}); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary_float(a, b, "mul", ew::Mul{}); }
Tensor div(const Tensor& a, const Tensor& b) { return binary_float(a, b, "div", ew::Div{}); }
Tensor pow(const Tensor& a, const Tensor& b) { return binary_float(a, b, "pow", ew::Pow{}); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary_float(a, b, "maximum", ew::Maximum{}); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary_float(a, b, "minimum", ew::Minimum{}); }

// ---- with a scalar
Tensor add(const Tensor& a, double b) { return unary_float(a, "add", ew::AddScalar{b}); }
Tensor sub(const Tensor& a, double b) { return unary_float(a, "sub", ew::SubScalar{b}); }
Tensor sub(double a, const Tensor& b) { return unary_float(b, "sub", ew::ScalarSub{a}); }
Tensor mul(const Tensor& a, double b) { return unary_float(a, "mul", ew::MulScalar{b}); }
Tensor div(const Tensor& a, double b) { return unary_float(a, "div", ew::DivScalar{b}); }
Tensor div(double a, const Tensor& b) { return unary_float(b, "div", ew::ScalarDiv{a}); }
Tensor pow(const Tensor& a, double e) {
  if (e == 2.0) return unary_float(a, "pow", ew::Square{});
  return unary_float(a, "pow", ew::PowScalar{e});
}

// ---- unary
Tensor neg(const Tensor& x) { return unary_float(x, "neg", ew::Neg{}); }
Tensor exp(const Tensor& x) { return unary_float(x, "exp", ew::Exp{}); }
Tensor log(const Tensor& x) { return unary_float(x, "log", ew::Log{}); }
Tensor sqrt(const Tensor& x) { return unary_float(x, "sqrt", ew::Sqrt{}); }
Tensor abs(const Tensor& x) { return unary_float(x, "abs", ew::Abs{}); }
Tensor sign(const Tensor& x) { return unary_float(x, "sign", ew::Sign{}); }
Tensor tanh(const Tensor& x) { return unary_float(x, "tanh", ew::Tanh{}); }
Tensor sigmoid(const Tensor& x) { return unary_float(x, "sigmoid", ew::Sigmoid{}); }
Tensor cos(const Tensor& x) { return unary_float(x, "cos", ew::Cos{}); }
Tensor sin(const Tensor& x) { return unary_float(x, "sin", ew::Sin{}); }
Tensor acos(const Tensor& x) { return unary_float(x, "acos", ew::Acos{}); }
Tensor relu(const Tensor& x) { return unary_float(x, "relu", ew::Relu{}); }
Tensor relu_backward(const Tensor& dy, const Tensor& y) {
  return binary_float(dy, y, "relu_backward", ew::ReluBackward{});
}

// ---- comparisons
Tensor eq(const Tensor& a, const Tensor& b) { return compare(a, b, "eq", ew::Eq{}); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare(a, b, "ne", ew::Ne{}); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare(a, b, "lt", ew::Lt{}); }
Tensor le(const Tensor& a, const Tensor& b) { return compare(a, b, "le", ew::Le{}); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare(a, b, "gt", ew::Gt{}); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare(a, b, "ge", ew::Ge{}); }

// ---- where / clamp
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_same_type(a, b, "where");
  FK_CHECK(cond.dtype() == DType::Bool && cond.device() == a.device(), "where: condition ", cond.str(),
           " must be a bool tensor on ", a.device().str());
  Shape out = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor y = empty(out, a.dtype(), a.device());
  dispatch_float(a.dtype(), "where", [&]<class T>() {
    launch(y.numel(),
           WhereKernel<T>{ptr<bool>(cond), ptr<T>(a), ptr<T>(b), ptr<T>(y), broadcast_index(cond, out),
                          broadcast_index(a, out), broadcast_index(b, out)},
           a.device().index);
  });
  return y;
}

Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  FK_CHECK(lo || hi, "clamp: at least one of min and max must be given");
  return unary_float(x, "clamp", ew::Clamp{lo ? *lo : -INFINITY, hi ? *hi : INFINITY});
}

// ---- in place
void add_(Tensor& a, const Tensor& b, double alpha) {
  check_same_type(a, b, "add_");
  dispatch_float(a.dtype(), "add_", [&]<class T>() {
    if (alpha == 1.0) map_inplace<T>(a, b, ew::Add{});
    else map_inplace<T>(a, b, ew::AddScaled<T>{T(alpha)});
  });
}

void mul_(Tensor& a, const Tensor& b) {
  check_same_type(a, b, "mul_");
  dispatch_float(a.dtype(), "mul_", [&]<class T>() { map_inplace<T>(a, b, ew::Mul{}); });
}

void copy_(Tensor& dst, const Tensor& src) {
  FK_CHECK(broadcast_shapes(dst.shape(), src.shape(), "copy_") == dst.shape(), "copy_: source ",
           shape_str(src.shape()), " cannot be broadcast to ", shape_str(dst.shape()));
  copy_strided(dst, src.device() == dst.device() ? src : src.to(dst.device()));
}

void fill_(Tensor& t, double value) {
  dispatch_all(t.dtype(), "fill_", [&]<class T>() {
    launch(t.numel(), FillKernel<T>{ptr<T>(t), own_index(t), ew::convert_value<T>(value)}, t.device().index);
  });
}

}  // namespace fk::cuda
