// Element-wise ops (see elementwise.h): argument checks, output shape, dtype dispatch to the loop
// kernels of tensor/cpu/map.h. Arithmetic is float32/float64; comparisons accept every dtype.
#include "tensor/elementwise.h"

#include <cmath>

#include "tensor/cpu/map.h"
#include "tensor/dispatch.h"

namespace fk::ops {

// ---- binary arithmetic
template <class F>
static Tensor binary_float(const Tensor& a, const Tensor& b, const char* op, F f) {
  check_float_input(a, op, "a");
  check_float_input(b, op, "b");
  check_same_type(a, b, op);
  Shape out = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor y;
  dispatch_float(a.dtype(), op, [&]<class T>() { y = cpu::map_binary<T, T>(a, b, out, a.dtype(), f); });
  return y;
}

Tensor add(const Tensor& a, const Tensor& b) { return binary_float(a, b, "add", [](auto x, auto y) { return x + y; }); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary_float(a, b, "sub", [](auto x, auto y) { return x - y; }); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary_float(a, b, "mul", [](auto x, auto y) { return x * y; }); }
Tensor div(const Tensor& a, const Tensor& b) { return binary_float(a, b, "div", [](auto x, auto y) { return x / y; }); }
Tensor pow(const Tensor& a, const Tensor& b) {
  return binary_float(a, b, "pow", [](auto x, auto y) { return decltype(x)(std::pow(x, y)); });
}
// NaN propagates, as torch.maximum/minimum
Tensor maximum(const Tensor& a, const Tensor& b) {
  return binary_float(a, b, "maximum", [](auto x, auto y) { return std::isnan(x) || x > y ? x : y; });
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return binary_float(a, b, "minimum", [](auto x, auto y) { return std::isnan(x) || x < y ? x : y; });
}

// ---- unary maps (and the scalar forms of the binary ops)
template <class F>
static Tensor unary_float(const Tensor& x, const char* op, F f) {
  check_float_input(x, op, "x");
  Tensor y;
  dispatch_float(x.dtype(), op, [&]<class T>() { y = cpu::map_unary<T, T>(x, x.dtype(), f); });
  return y;
}

Tensor add(const Tensor& a, double b) { return unary_float(a, "add", [b](auto x) { return decltype(x)(x + b); }); }
Tensor sub(const Tensor& a, double b) { return unary_float(a, "sub", [b](auto x) { return decltype(x)(x - b); }); }
Tensor sub(double a, const Tensor& b) { return unary_float(b, "sub", [a](auto x) { return decltype(x)(a - x); }); }
Tensor mul(const Tensor& a, double b) { return unary_float(a, "mul", [b](auto x) { return decltype(x)(x * b); }); }
Tensor div(const Tensor& a, double b) { return unary_float(a, "div", [b](auto x) { return decltype(x)(x / b); }); }
Tensor div(double a, const Tensor& b) { return unary_float(b, "div", [a](auto x) { return decltype(x)(a / x); }); }
Tensor pow(const Tensor& a, double e) {
  if (e == 2.0) return unary_float(a, "pow", [](auto x) { return x * x; });  // exact and fast
  return unary_float(a, "pow", [e](auto x) { return decltype(x)(std::pow(x, e)); });
}

Tensor neg(const Tensor& x) { return unary_float(x, "neg", [](auto v) { return -v; }); }
Tensor exp(const Tensor& x) { return unary_float(x, "exp", [](auto v) { return std::exp(v); }); }
Tensor log(const Tensor& x) { return unary_float(x, "log", [](auto v) { return std::log(v); }); }
Tensor sqrt(const Tensor& x) { return unary_float(x, "sqrt", [](auto v) { return std::sqrt(v); }); }
Tensor abs(const Tensor& x) { return unary_float(x, "abs", [](auto v) { return std::abs(v); }); }
Tensor sign(const Tensor& x) {
  return unary_float(x, "sign", [](auto v) { return decltype(v)((v > 0) - (v < 0)); });
}
Tensor tanh(const Tensor& x) { return unary_float(x, "tanh", [](auto v) { return std::tanh(v); }); }
// 1 / (1 + e^-x), written so neither branch overflows
Tensor sigmoid(const Tensor& x) {
  return unary_float(x, "sigmoid", [](auto v) {
    using T = decltype(v);
    if (v >= 0) return T(1) / (T(1) + std::exp(-v));
    T e = std::exp(v);
    return e / (T(1) + e);
  });
}
Tensor cos(const Tensor& x) { return unary_float(x, "cos", [](auto v) { return std::cos(v); }); }
Tensor sin(const Tensor& x) { return unary_float(x, "sin", [](auto v) { return std::sin(v); }); }
Tensor acos(const Tensor& x) { return unary_float(x, "acos", [](auto v) { return std::acos(v); }); }
Tensor relu(const Tensor& x) {
  return unary_float(x, "relu", [](auto v) { return v > 0 || std::isnan(v) ? v : decltype(v)(0); });
}

Tensor relu_backward(const Tensor& dy, const Tensor& y) {
  return binary_float(dy, y, "relu_backward", [](auto g, auto out) { return out > 0 ? g : decltype(g)(0); });
}

// ---- comparisons -> Bool
template <class F>
static Tensor compare(const Tensor& a, const Tensor& b, const char* op, F f) {
  FK_CHECK(a.defined() && b.defined(), op, ": undefined tensor");
  check_cpu(a, op);
  check_same_type(a, b, op);
  Shape out = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor y;
  dispatch_all(a.dtype(), op, [&]<class T>() { y = cpu::map_binary<T, bool>(a, b, out, DType::Bool, f); });
  return y;
}

Tensor eq(const Tensor& a, const Tensor& b) { return compare(a, b, "eq", [](auto x, auto y) { return x == y; }); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare(a, b, "ne", [](auto x, auto y) { return x != y; }); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare(a, b, "lt", [](auto x, auto y) { return x < y; }); }
Tensor le(const Tensor& a, const Tensor& b) { return compare(a, b, "le", [](auto x, auto y) { return x <= y; }); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare(a, b, "gt", [](auto x, auto y) { return x > y; }); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare(a, b, "ge", [](auto x, auto y) { return x >= y; }); }

static Tensor scalar_like(const Tensor& a, double v) {
  FK_CHECK(a.defined(), "comparison with an undefined tensor");
  return full({}, v, a.dtype());
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
  check_cpu(cond, "where");
  check_float_input(a, "where", "a");
  check_float_input(b, "where", "b");
  check_same_type(a, b, "where");
  Shape out = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
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
  return unary_float(x, "clamp", [l, h](auto v) {
    using T = decltype(v);
    if (std::isnan(v)) return v;
    return std::min(std::max(v, T(l)), T(h));
  });
}

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
  dispatch_float(a.dtype(), "add_", [&]<class T>() {
    T al = T(alpha);
    if (alpha == 1.0) cpu::map_inplace<T>(a, b, [](T x, T y) { return x + y; });
    else cpu::map_inplace<T>(a, b, [al](T x, T y) { return x + al * y; });
  });
}

void mul_(Tensor& a, const Tensor& b) {
  check_inplace(a, b, "mul_");
  dispatch_float(a.dtype(), "mul_", [&]<class T>() { cpu::map_inplace<T>(a, b, [](T x, T y) { return x * y; }); });
}

void mul_(Tensor& a, double s) { mul_(a, full({}, s, a.dtype())); }

void copy_(Tensor& dst, const Tensor& src) {
  FK_CHECK(dst.defined() && src.defined(), "copy_: undefined tensor");
  check_cpu(dst, "copy_");
  Tensor s = src.to(Device::cpu()).to(dst.dtype());
  FK_CHECK(broadcast_shapes(dst.shape(), s.shape(), "copy_") == dst.shape(), "copy_: source ", shape_str(s.shape()),
           " cannot be broadcast to ", shape_str(dst.shape()));
  dispatch_all(dst.dtype(), "copy_", [&]<class T>() { cpu::map_inplace<T>(dst, s, [](T, T y) { return y; }); });
}

void fill_(Tensor& t, double value) { copy_(t, full({}, value, t.dtype())); }

}  // namespace fk::ops
