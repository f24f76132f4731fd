// Element-wise ops with NumPy broadcasting (torch.add, torch.mul, torch.exp, torch.where, ...).
// Binary ops broadcast their operands; both must share dtype and device. Comparisons return Bool.
#pragma once

#include <optional>

#include "tensor/tensor.h"

namespace fk::ops {

// binary, broadcasting
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
// dy where y > 0, else 0 (y: relu's output)
Tensor relu_backward(const Tensor& dy, const Tensor& y);

// comparisons -> Bool, broadcasting
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double b);
Tensor ne(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
Tensor le(const Tensor& a, double b);
Tensor gt(const Tensor& a, double b);
Tensor ge(const Tensor& a, double b);

// cond ? a : b, all three broadcast together (cond: Bool)
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// min(max(x, lo), hi); either bound may be absent (torch.clamp)
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi);

// in place (no graph, for optimisers and gradient accumulation): a op= b, b broadcast to a's shape
void add_(Tensor& a, const Tensor& b, double alpha = 1.0);  // a += alpha * b
void mul_(Tensor& a, double s);
void mul_(Tensor& a, const Tensor& b);
void copy_(Tensor& dst, const Tensor& src);  // src broadcast to dst, dtype converted
void fill_(Tensor& t, double value);

}  // namespace fk::ops
