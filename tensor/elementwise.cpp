// Element-wise ops (see elementwise.h): argument checks, output shape, then either the CUDA twin
// (cuda/elementwise.h, for tensors on a GPU) or the CPU loop kernels of tensor/cpu/map.h. The
// per-element formulas are the functors of tensor/cpu/elementwise_math.h, shared with the CUDA
// kernels. Arithmetic is float32/float64; comparisons accept every dtype.
#include "tensor/elementwise.h"

#include <cmath>

#include "cuda/elementwise.h"
#include "tensor/cpu/elementwise_math.h"
#include "tensor/cpu/map.h"
#include "tensor/dispatch.h"

namespace fk::ops {

namespace ew = fk::elementwise;

// ---- binary arithmetic
static void check_binary_float(const Tensor& a, const Tensor& b, const char* op) {
  check_float_input(a, op, "a");
  check_float_input(b, op, "b");
  check_same_type(a, b, op);
}

template <class F>
static Tensor binary_float(const Tensor& a, const Tensor& b, const char* op, F f) {
  Shape out = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor y;
  dispatch_float(a.dtype(), op, [&]<class T>() { y = cpu::map_binary<T, T>(a, b, out, a.dtype(), f); });
  return y;
}

Tensor add(const Tensor& a, const Tensor& b) {
  check_binary_float(a, b, "add");
  if constexpr (kWithCuda) {
    if (a.device().is_cuda()) return cuda::add(a, b);
  }
  return binary_float(a, b, "add", ew::Add{});
}
Tensor sub(const Tensor& a, const Tensor& b) {
  check_binary_float(a, b, "sub");
  if constexpr (kWithCuda) {
    if (a.device().is_cuda()) return cuda::sub(a, b);
  }
  return binary_float(a, b, "sub", ew::Sub{});
}
Tensor mul(const Tensor& a, const Tensor& b) {
  check_binary_float(a, b, "mul");
  if constexpr (kWithCuda) {
    if (a.device().is_cuda()) return cuda::mul(a, b);
  }
  return binary_float(a, b, "mul", ew::Mul{});
}
Tensor div(const Tensor& a, const Tensor& b) {
  check_binary_float(a, b, "div");
  if constexpr (kWithCuda) {
    if (a.device().is_cuda()) return cuda::div(a, b);
  }
  return binary_float(a, b, "div", ew::Div{});
}
Tensor pow(const Tensor& a, const Tensor& b) {
  check_binary_float(a, b, "pow");
  if constexpr (kWithCuda) {
    if (a.device().is_cuda()) return cuda::pow(a, b);
  }
  return binary_float(a, b, "pow", ew::Pow{});
}
// NaN propagates, as torch.maximum/minimum
Tensor maximum(const Tensor& a, const Tensor& b) {
  check_binary_float(a, b, "maximum");
  if constexpr (kWithCuda) {
    if (a.device().is_cuda()) return cuda::maximum(a, b);
  }
  return binary_float(a, b, "maximum", ew::Maximum{});
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  check_binary_float(a, b, "minimum");
  if constexpr (kWithCuda) {
    if (a.device().is_cuda()) return cuda::minimum(a, b);
  }
  return binary_float(a, b, "minimum", ew::Minimum{});
}

// ---- unary maps (and the scalar forms of the binary ops)
template <class F>
static Tensor unary_float(const Tensor& x, const char* op, F f) {
  Tensor y;
  dispatch_float(x.dtype(), op, [&]<class T>() { y = cpu::map_unary<T, T>(x, x.dtype(), f); });
  return y;
}

// The body of a unary op: check x, return cuda_call for a CUDA tensor, else map `functor` on the CPU.
#define FK_UNARY(x, name, cuda_call, functor)                \
  check_float_input(x, name, "x");                           \
  if constexpr (kWithCuda) {                                 \
    if (x.device().is_cuda()) return cuda_call;              \
  }                                                          \
  return unary_float(x, name, functor)

Tensor add(const Tensor& a, double b) { FK_UNARY(a, "add", cuda::add(a, b), ew::AddScalar{b}); }
Tensor sub(const Tensor& a, double b) { FK_UNARY(a, "sub", cuda::sub(a, b), ew::SubScalar{b}); }
Tensor sub(double a, const Tensor& b) { FK_UNARY(b, "sub", cuda::sub(a, b), ew::ScalarSub{a}); }
Tensor mul(const Tensor& a, double b) { FK_UNARY(a, "mul", cuda::mul(a, b), ew::MulScalar{b}); }
Tensor div(const Tensor& a, double b) { FK_UNARY(a, "div", cuda::div(a, b), ew::DivScalar{b}); }
Tensor div(double a, const Tensor& b) { FK_UNARY(b, "div", cuda::div(a, b), ew::ScalarDiv{a}); }
Tensor pow(const Tensor& a, double e) {
  if (e == 2.0) { FK_UNARY(a, "pow", cuda::pow(a, e), ew::Square{}); }  // exact and fast
  FK_UNARY(a, "pow", cuda::pow(a, e), ew::PowScalar{e});
}

Tensor neg(const Tensor& x) { FK_UNARY(x, "neg", cuda::neg(x), ew::Neg{}); }
Tensor exp(const Tensor& x) { FK_UNARY(x, "exp", cuda::exp(x), ew::Exp{}); }
Tensor log(const Tensor& x) { FK_UNARY(x, "log", cuda::log(x), ew::Log{}); }
Tensor sqrt(const Tensor& x) { FK_UNARY(x, "sqrt", cuda::sqrt(x), ew::Sqrt{}); }
Tensor abs(const Tensor& x) { FK_UNARY(x, "abs", cuda::abs(x), ew::Abs{}); }
Tensor sign(const Tensor& x) { FK_UNARY(x, "sign", cuda::sign(x), ew::Sign{}); }
Tensor tanh(const Tensor& x) { FK_UNARY(x, "tanh", cuda::tanh(x), ew::Tanh{}); }
// 1 / (1 + e^-x), written so neither branch overflows (ew::Sigmoid)
Tensor sigmoid(const Tensor& x) { FK_UNARY(x, "sigmoid", cuda::sigmoid(x), ew::Sigmoid{}); }
Tensor cos(const Tensor& x) { FK_UNARY(x, "cos", cuda::cos(x), ew::Cos{}); }
Tensor sin(const Tensor& x) { FK_UNARY(x, "sin", cuda::sin(x), ew::Sin{}); }
Tensor acos(const Tensor& x) { FK_UNARY(x, "acos", cuda::acos(x), ew::Acos{}); }
Tensor relu(const Tensor& x) { FK_UNARY(x, "relu", cuda::relu(x), ew::Relu{}); }

Tensor relu_backward(const Tensor& dy, const Tensor& y) {
  check_binary_float(dy, y, "relu_backward");
  if constexpr (kWithCuda) {
    if (dy.device().is_cuda()) return cuda::relu_backward(dy, y);
  }
  return binary_float(dy, y, "relu_backward", ew::ReluBackward{});
}

// ---- comparisons -> Bool
static void check_compare(const Tensor& a, const Tensor& b, const char* op) {
  FK_CHECK(a.defined() && b.defined(), op, ": undefined tensor");
  check_same_type(a, b, op);
}

template <class F>
static Tensor compare(const Tensor& a, const Tensor& b, const char* op, F f) {
  Shape out = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor y;
  dispatch_all(a.dtype(), op, [&]<class T>() { y = cpu::map_binary<T, bool>(a, b, out, DType::Bool, f); });
  return y;
}

#define FK_COMPARE(name, functor)                               \
  Tensor name(const Tensor& a, const Tensor& b) {               \
    check_compare(a, b, #name);                                 \
    if constexpr (kWithCuda) {                                  \
      if (a.device().is_cuda()) return cuda::name(a, b);        \
    }                                                           \
    return compare(a, b, #name, functor);                       \
  }
FK_COMPARE(eq, ew::Eq{})
FK_COMPARE(ne, ew::Ne{})
FK_COMPARE(lt, ew::Lt{})
FK_COMPARE(le, ew::Le{})
FK_COMPARE(gt, ew::Gt{})
FK_COMPARE(ge, ew::Ge{})
#undef FK_COMPARE

// a 0-d tensor holding v, of a's dtype and on a's device
static Tensor scalar_like(const Tensor& a, double v) {
  FK_CHECK(a.defined(), "comparison with an undefined tensor");
  return full({}, v, a.dtype(), a.device());
}
Tensor eq(const Tensor& a, double b) { return eq(a, scalar_like(a, b)); }
Tensor ne(const Tensor& a, double b) { return ne(a, scalar_like(a, b)); }
Tensor lt(const Tensor& a, double b) { return lt(a, scalar_like(a, b)); }
Tensor le(const Tensor& a, double b) { return le(a, scalar_like(a, b)); }
Tensor gt(const Tensor& a, double b) { return gt(a, scalar_like(a, b)); }
Tensor ge(const Tensor& a, double b) { return ge(a, scalar_like(a, b)); }

// ---- where / clamp
// Offset of flat output index i in a tensor read with (broadcast) strides `st`.
static int64_t offset_of(int64_t i, const Shape& shape, const Shape& st) {
  int64_t off = 0;
  for (size_t d = shape.size(); d-- > 0;) {
    off += (i % shape[d]) * st[d];
    i /= shape[d];
  }
  return off;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  FK_CHECK(cond.defined() && cond.dtype() == DType::Bool, "where: condition must be a bool tensor, got ", cond.str());
  check_float_input(a, "where", "a");
  check_float_input(b, "where", "b");
  check_same_type(a, b, "where");
  FK_CHECK(cond.device() == a.device(), "where: device mismatch, condition ", cond.str(), " vs ", a.str());
  Shape out = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  if constexpr (kWithCuda) {
    if (a.device().is_cuda()) return cuda::where(cond, a, b);
  }
  Shape sc = broadcast_strides(cond.shape(), cond.strides(), out);
  Shape sa = broadcast_strides(a.shape(), a.strides(), out);
  Shape sb = broadcast_strides(b.shape(), b.strides(), out);
  Tensor y = empty(out, a.dtype());
  dispatch_float(a.dtype(), "where", [&]<class T>() {
    const bool* cp = cond.data<bool>();
    const T* ap = a.data<T>();
    const T* bp = b.data<T>();
    T* yp = y.data<T>();
    parallel_for(y.numel(), cpu::kElementwiseGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i)
        yp[i] = cp[offset_of(i, out, sc)] ? ap[offset_of(i, out, sa)] : bp[offset_of(i, out, sb)];
    });
  });
  return y;
}

Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  FK_CHECK(lo || hi, "clamp: at least one of min and max must be given");
  double l = lo ? *lo : -INFINITY, h = hi ? *hi : INFINITY;
  // torch.clamp: min(max(x, lo), hi); NaN stays NaN
  FK_UNARY(x, "clamp", cuda::clamp(x, lo, hi), (ew::Clamp{l, h}));
}
#undef FK_UNARY

// ---- in place
static void check_inplace(const Tensor& a, const Tensor& b, const char* op) {
  check_float_input(a, op, "self");
  check_float_input(b, op, "other");
  check_same_type(a, b, op);
  FK_CHECK(broadcast_shapes(a.shape(), b.shape(), op) == a.shape(), op, ": ", shape_str(b.shape()),
           " cannot be broadcast to the in-place target ", shape_str(a.shape()));
}

void add_(Tensor& a, const Tensor& b, double alpha) {
  check_inplace(a, b, "add_");
  if constexpr (kWithCuda) {
    if (a.device().is_cuda()) return cuda::add_(a, b, alpha);
  }
  dispatch_float(a.dtype(), "add_", [&]<class T>() {
    if (alpha == 1.0) cpu::map_inplace<T>(a, b, ew::Add{});
    else cpu::map_inplace<T>(a, b, ew::AddScaled<T>{T(alpha)});
  });
}

void mul_(Tensor& a, const Tensor& b) {
  check_inplace(a, b, "mul_");
  if constexpr (kWithCuda) {
    if (a.device().is_cuda()) return cuda::mul_(a, b);
  }
  dispatch_float(a.dtype(), "mul_", [&]<class T>() { cpu::map_inplace<T>(a, b, ew::Mul{}); });
}

void mul_(Tensor& a, double s) {
  FK_CHECK(a.defined(), "mul_: undefined tensor");
  mul_(a, full({}, s, a.dtype(), a.device()));
}

void copy_(Tensor& dst, const Tensor& src) {
  FK_CHECK(dst.defined() && src.defined(), "copy_: undefined tensor");
  FK_CHECK(broadcast_shapes(dst.shape(), src.shape(), "copy_") == dst.shape(), "copy_: source ",
           shape_str(src.shape()), " cannot be broadcast to ", shape_str(dst.shape()));
  if constexpr (kWithCuda) {
    if (dst.device().is_cuda()) return cuda::copy_(dst, src);
  }
  Tensor s = src.to(Device::cpu()).to(dst.dtype());
  dispatch_all(dst.dtype(), "copy_", [&]<class T>() { cpu::map_inplace<T>(dst, s, [](T, T y) { return y; }); });
}

void fill_(Tensor& t, double value) {
  FK_CHECK(t.defined(), "fill_: undefined tensor");
  if constexpr (kWithCuda) {
    if (t.device().is_cuda()) return cuda::fill_(t, value);
  }
  copy_(t, full({}, value, t.dtype()));
}

}  // namespace fk::ops
