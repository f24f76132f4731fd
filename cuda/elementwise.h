// The CUDA twins of the element-wise ops of tensor/elementwise.h: same signatures, semantics and
// return values as fk::ops (NumPy broadcasting, NaN rules, comparisons -> Bool, in-place forms).
// tensor/elementwise.cpp checks the arguments and routes a CUDA input here (under `if constexpr (kWithCuda)`, tensor/dispatch.h); these
// functions take all their operands on that input's CUDA device. Implemented in
// cuda/elementwise.cu with the functors of cuda/elementwise_kernels.h; tests:
// tests/cuda/test_elementwise.cpp (GPU vs CPU) and tests/tensor/test_cuda_kernels_elementwise.cpp.
#pragma once

#include <optional>

#include "tensor/tensor.h"

namespace fk::cuda {

// binary, broadcasting (float32/float64)
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
// with a scalar
Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor sub(double a, const Tensor& b);
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);
Tensor div(double a, const Tensor& b);
Tensor pow(const Tensor& a, double exponent);

// unary
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor acos(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor relu_backward(const Tensor& dy, const Tensor& y);

// comparisons -> Bool, broadcasting, every dtype (the scalar forms of fk::ops build a 0-d tensor on
// the input's device and call these)
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi);

// in place; `a` may be a strided view
void add_(Tensor& a, const Tensor& b, double alpha);
void mul_(Tensor& a, const Tensor& b);
void copy_(Tensor& dst, const Tensor& src);  // src may live on the CPU: it is moved to dst's device first
void fill_(Tensor& t, double value);         // float32/float64/int64/uint8/bool

}  // namespace fk::cuda
