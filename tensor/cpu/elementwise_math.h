// The per-element formulas of the element-wise ops (tensor/elementwise.h), as FK_HD functors that the
// CPU loops (tensor/cpu/map.h, called from tensor/elementwise.cpp) and the CUDA kernels
// (cuda/elementwise_kernels.h) both call, so the two backends compute the same arithmetic.
// Semantics follow torch: maximum/minimum/clamp/relu propagate NaN, sigmoid never overflows, and a
// dtype conversion goes through double like Tensor::to(DType) (bool: nonzero -> true).
// Tests: tests/tensor/test_elementwise.cpp (CPU), tests/tensor/test_cuda_kernels_elementwise.cpp
// (the CUDA functors emulated on the CPU), tests/cuda/test_elementwise.cpp (GPU vs CPU).
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "tensor/hd.h"

namespace fk::elementwise {

// ---- binary arithmetic: f(x, y) in the operands' type T
struct Add {
  template <class T> FK_HD_INLINE T operator()(T x, T y) const { return x + y; }
};
struct Sub {
  template <class T> FK_HD_INLINE T operator()(T x, T y) const { return x - y; }
};
struct Mul {
  template <class T> FK_HD_INLINE T operator()(T x, T y) const { return x * y; }
};
struct Div {
  template <class T> FK_HD_INLINE T operator()(T x, T y) const { return x / y; }
};
struct Pow {
  template <class T> FK_HD_INLINE T operator()(T x, T y) const { return T(std::pow(x, y)); }
};
// torch.maximum/minimum: a NaN in either operand gives NaN
struct Maximum {
  template <class T> FK_HD_INLINE T operator()(T x, T y) const { return std::isnan(x) || x > y ? x : y; }
};
struct Minimum {
  template <class T> FK_HD_INLINE T operator()(T x, T y) const { return std::isnan(x) || x < y ? x : y; }
};
// dy where relu's output y > 0, else 0
struct ReluBackward {
  template <class T> FK_HD_INLINE T operator()(T dy, T y) const { return y > 0 ? dy : T(0); }
};
// x + alpha * y (add_ with alpha != 1)
template <class T>
struct AddScaled {
  T alpha;
  FK_HD_INLINE T operator()(T x, T y) const { return x + alpha * y; }
};

// ---- a tensor with a scalar: computed in double, rounded once to T (as the CPU always did)
struct AddScalar {
  double s;
  template <class T> FK_HD_INLINE T operator()(T x) const { return T(x + s); }
};
struct SubScalar {  // x - s
  double s;
  template <class T> FK_HD_INLINE T operator()(T x) const { return T(x - s); }
};
struct ScalarSub {  // s - x
  double s;
  template <class T> FK_HD_INLINE T operator()(T x) const { return T(s - x); }
};
struct MulScalar {
  double s;
  template <class T> FK_HD_INLINE T operator()(T x) const { return T(x * s); }
};
struct DivScalar {  // x / s
  double s;
  template <class T> FK_HD_INLINE T operator()(T x) const { return T(x / s); }
};
struct ScalarDiv {  // s / x
  double s;
  template <class T> FK_HD_INLINE T operator()(T x) const { return T(s / x); }
};
struct PowScalar {
  double e;
  template <class T> FK_HD_INLINE T operator()(T x) const { return T(std::pow(x, e)); }
};
struct Square {  // pow(x, 2): exact and fast
  template <class T> FK_HD_INLINE T operator()(T x) const { return x * x; }
};

// ---- unary maps
struct Neg {
  template <class T> FK_HD_INLINE T operator()(T x) const { return -x; }
};
struct Exp {
  template <class T> FK_HD_INLINE T operator()(T x) const { return std::exp(x); }
};
struct Log {
  template <class T> FK_HD_INLINE T operator()(T x) const { return std::log(x); }
};
struct Sqrt {
  template <class T> FK_HD_INLINE T operator()(T x) const { return std::sqrt(x); }
};
struct Abs {
  template <class T> FK_HD_INLINE T operator()(T x) const { return std::abs(x); }
};
struct Sign {  // -1, 0 or 1 (NaN -> 0, as both comparisons are false)
  template <class T> FK_HD_INLINE T operator()(T x) const { return T((x > 0) - (x < 0)); }
};
struct Tanh {
  template <class T> FK_HD_INLINE T operator()(T x) const { return std::tanh(x); }
};
// 1 / (1 + e^-x), written so neither branch overflows: for x < 0 it is e^x / (1 + e^x)
struct Sigmoid {
  template <class T> FK_HD_INLINE T operator()(T x) const {
    if (x >= 0) return T(1) / (T(1) + std::exp(-x));
    T e = std::exp(x);
    return e / (T(1) + e);
  }
};
struct Cos {
  template <class T> FK_HD_INLINE T operator()(T x) const { return std::cos(x); }
};
struct Sin {
  template <class T> FK_HD_INLINE T operator()(T x) const { return std::sin(x); }
};
struct Acos {
  template <class T> FK_HD_INLINE T operator()(T x) const { return std::acos(x); }
};
struct Relu {  // NaN stays NaN, as torch.relu
  template <class T> FK_HD_INLINE T operator()(T x) const { return x > 0 || std::isnan(x) ? x : T(0); }
};
// torch.clamp: min(max(x, lo), hi), NaN stays NaN; an absent bound is -inf / +inf
struct Clamp {
  double lo, hi;
  template <class T> FK_HD_INLINE T operator()(T x) const {
    if (std::isnan(x)) return x;
    T m = x < T(lo) ? T(lo) : x;  // max(x, lo)
    return T(hi) < m ? T(hi) : m;  // min(m, hi)
  }
};

// ---- comparisons: any dtype -> bool
struct Eq {
  template <class T> FK_HD_INLINE bool operator()(T x, T y) const { return x == y; }
};
struct Ne {
  template <class T> FK_HD_INLINE bool operator()(T x, T y) const { return x != y; }
};
struct Lt {
  template <class T> FK_HD_INLINE bool operator()(T x, T y) const { return x < y; }
};
struct Le {
  template <class T> FK_HD_INLINE bool operator()(T x, T y) const { return x <= y; }
};
struct Gt {
  template <class T> FK_HD_INLINE bool operator()(T x, T y) const { return x > y; }
};
struct Ge {
  template <class T> FK_HD_INLINE bool operator()(T x, T y) const { return x >= y; }
};

// ---- dtype conversion of one value (Tensor::to(DType)'s rule): the same type is copied as is;
// to bool: nonzero -> true; to uint8: through int64 (wraps like a C cast of the integer part);
// otherwise through double.
template <class D, class S>
FK_HD_INLINE D convert_value(S v) {
  if constexpr (std::is_same_v<D, S>) {
    return v;
  } else if constexpr (std::is_same_v<D, bool>) {
    return v != S(0);
  } else if constexpr (std::is_same_v<D, uint8_t>) {
    return uint8_t(int64_t(double(v)));
  } else {
    return D(double(v));
  }
}

}  // namespace fk::elementwise
