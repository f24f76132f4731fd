// Derivatives of the element-wise ops. Each op runs its raw twin from tensor/elementwise.h and
// records a backward written with raw ops; gradients of broadcast inputs are summed back to the
// input's shape (sum_to), which is what makes broadcasting differentiable.
#include "autograd/ops.h"

namespace fk {

using autograd::Grads;
using autograd::record;
using autograd::saved;

Tensor add(const Tensor& a, const Tensor& b) {
  // da = dy, db = dy (each summed to its own shape)
  return record("add", ops::add(a, b), {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& dy) {
    return Grads{ops::sum_to(dy, sa), ops::sum_to(dy, sb)};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  // da = dy, db = -dy
  return record("sub", ops::sub(a, b), {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& dy) {
    return Grads{ops::sum_to(dy, sa), ops::sum_to(ops::neg(dy), sb)};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  // da = dy * b, db = dy * a
  return record("mul", ops::mul(a, b), {a, b}, [a = saved(a), b = saved(b)](const Tensor& dy) {
    return Grads{ops::sum_to(ops::mul(dy, b), a.shape()), ops::sum_to(ops::mul(dy, a), b.shape())};
  });
}

Tensor div(const Tensor& a, const Tensor& b) {
  // da = dy / b, db = -dy * a / b^2
  return record("div", ops::div(a, b), {a, b}, [a = saved(a), b = saved(b)](const Tensor& dy) {
    Tensor da = ops::div(dy, b);
    Tensor db = ops::neg(ops::div(ops::mul(da, a), b));
    return Grads{ops::sum_to(da, a.shape()), ops::sum_to(db, b.shape())};
  });
}

Tensor pow(const Tensor& a, const Tensor& b) {
  // da = dy * b * a^(b-1), db = dy * a^b * log(a) (0 where a == 0, as PyTorch)
  Tensor y = ops::pow(a, b);
  return record("pow", y, {a, b}, [a = saved(a), b = saved(b), y = saved(y)](const Tensor& dy) {
    Tensor da = ops::mul(dy, ops::mul(b, ops::pow(a, ops::sub(b, 1.0))));
    Tensor logs = ops::where(ops::eq(a, 0.0), zeros_like(a), ops::log(a));
    Tensor db = ops::mul(dy, ops::mul(y, logs));
    return Grads{ops::sum_to(da, a.shape()), ops::sum_to(db, b.shape())};
  });
}

// maximum/minimum: the winner gets dy; a tie splits it in halves (PyTorch's rule)
static Tensor extremum(const char* name, const Tensor& a, const Tensor& b, bool is_max) {
  Tensor y = is_max ? ops::maximum(a, b) : ops::minimum(a, b);
  return record(name, y, {a, b}, [a = saved(a), b = saved(b), is_max](const Tensor& dy) {
    Tensor half = ops::mul(dy, 0.5);
    Tensor a_wins = is_max ? ops::gt(a, b) : ops::lt(a, b);
    Tensor b_wins = is_max ? ops::lt(a, b) : ops::gt(a, b);
    Tensor tie = ops::eq(a, b);
    Tensor zero = zeros({}, dy.dtype(), dy.device());
    Tensor da = ops::where(a_wins, dy, ops::where(tie, half, zero));
    Tensor db = ops::where(b_wins, dy, ops::where(tie, half, zero));
    return Grads{ops::sum_to(da, a.shape()), ops::sum_to(db, b.shape())};
  });
}
Tensor maximum(const Tensor& a, const Tensor& b) { return extremum("maximum", a, b, true); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum("minimum", a, b, false); }

// ---- with a scalar
Tensor add(const Tensor& a, double b) {
  return record("add", ops::add(a, b), {a}, [](const Tensor& dy) { return Grads{dy}; });
}
Tensor sub(const Tensor& a, double b) {
  return record("sub", ops::sub(a, b), {a}, [](const Tensor& dy) { return Grads{dy}; });
}
Tensor sub(double a, const Tensor& b) {
  return record("rsub", ops::sub(a, b), {b}, [](const Tensor& dy) { return Grads{ops::neg(dy)}; });
}
Tensor mul(const Tensor& a, double b) {
  return record("mul", ops::mul(a, b), {a}, [b](const Tensor& dy) { return Grads{ops::mul(dy, b)}; });
}
Tensor div(const Tensor& a, double b) {
  return record("div", ops::div(a, b), {a}, [b](const Tensor& dy) { return Grads{ops::div(dy, b)}; });
}
Tensor div(double a, const Tensor& b) {
  // d(a/b)/db = -a / b^2 = -y / b
  Tensor y = ops::div(a, b);
  return record("rdiv", y, {b}, [b = saved(b), y = saved(y)](const Tensor& dy) {
    return Grads{ops::neg(ops::div(ops::mul(dy, y), b))};
  });
}
Tensor pow(const Tensor& a, double e) {
  // da = dy * e * a^(e-1)
  return record("pow", ops::pow(a, e), {a}, [a = saved(a), e](const Tensor& dy) {
    if (e == 0.0) return Grads{zeros_like(dy)};
    return Grads{ops::mul(dy, ops::mul(ops::pow(a, e - 1.0), e))};
  });
}

// ---- unary
Tensor neg(const Tensor& x) {
  return record("neg", ops::neg(x), {x}, [](const Tensor& dy) { return Grads{ops::neg(dy)}; });
}
Tensor exp(const Tensor& x) {
  Tensor y = ops::exp(x);  // dx = dy * y
  return record("exp", y, {x}, [y = saved(y)](const Tensor& dy) { return Grads{ops::mul(dy, y)}; });
}
Tensor log(const Tensor& x) {
  // dx = dy / x
  return record("log", ops::log(x), {x}, [x = saved(x)](const Tensor& dy) { return Grads{ops::div(dy, x)}; });
}
Tensor sqrt(const Tensor& x) {
  Tensor y = ops::sqrt(x);  // dx = dy / (2 y)
  return record("sqrt", y, {x}, [y = saved(y)](const Tensor& dy) {
    return Grads{ops::div(dy, ops::mul(y, 2.0))};
  });
}
Tensor abs(const Tensor& x) {
  // dx = dy * sign(x) (0 at 0)
  return record("abs", ops::abs(x), {x}, [x = saved(x)](const Tensor& dy) {
    return Grads{ops::mul(dy, ops::sign(x))};
  });
}
Tensor tanh(const Tensor& x) {
  Tensor y = ops::tanh(x);  // dx = dy * (1 - y^2)
  return record("tanh", y, {x}, [y = saved(y)](const Tensor& dy) {
    return Grads{ops::mul(dy, ops::sub(1.0, ops::mul(y, y)))};
  });
}
Tensor sigmoid(const Tensor& x) {
  Tensor y = ops::sigmoid(x);  // dx = dy * y * (1 - y)
  return record("sigmoid", y, {x}, [y = saved(y)](const Tensor& dy) {
    return Grads{ops::mul(dy, ops::mul(y, ops::sub(1.0, y)))};
  });
}
Tensor cos(const Tensor& x) {
  // dx = -dy * sin(x)
  return record("cos", ops::cos(x), {x}, [x = saved(x)](const Tensor& dy) {
    return Grads{ops::neg(ops::mul(dy, ops::sin(x)))};
  });
}
Tensor sin(const Tensor& x) {
  // dx = dy * cos(x)
  return record("sin", ops::sin(x), {x}, [x = saved(x)](const Tensor& dy) {
    return Grads{ops::mul(dy, ops::cos(x))};
  });
}
Tensor acos(const Tensor& x) {
  // dx = -dy / sqrt(1 - x^2)
  return record("acos", ops::acos(x), {x}, [x = saved(x)](const Tensor& dy) {
    return Grads{ops::neg(ops::div(dy, ops::sqrt(ops::sub(1.0, ops::mul(x, x)))))};
  });
}
Tensor relu(const Tensor& x) {
  Tensor y = ops::relu(x);  // dx = dy where y > 0
  return record("relu", y, {x}, [y = saved(y)](const Tensor& dy) { return Grads{ops::relu_backward(dy, y)}; });
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  // da = dy where cond, db = dy elsewhere
  return record("where", ops::where(cond, a, b), {cond, a, b},
                [c = saved(cond), sa = a.shape(), sb = b.shape()](const Tensor& dy) {
                  Tensor zero = zeros({}, dy.dtype(), dy.device());
                  return Grads{Tensor(), ops::sum_to(ops::where(c, dy, zero), sa),
                               ops::sum_to(ops::where(c, zero, dy), sb)};
                });
}

Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  // dx = dy where lo <= x <= hi (inclusive, as PyTorch)
  return record("clamp", ops::clamp(x, lo, hi), {x}, [x = saved(x), lo, hi](const Tensor& dy) {
    Tensor keep = ones_like(x);
    if (lo) keep = ops::mul(keep, ops::ge(x, *lo).to(x.dtype()));
    if (hi) keep = ops::mul(keep, ops::le(x, *hi).to(x.dtype()));
    return Grads{ops::mul(dy, keep)};
  });
}

// ---- operators
Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, double b) { return add(a, b); }
Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
Tensor operator/(const Tensor& a, double b) { return div(a, b); }
Tensor operator+(double a, const Tensor& b) { return add(b, a); }
Tensor operator-(double a, const Tensor& b) { return sub(a, b); }
Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
Tensor operator/(double a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }

}  // namespace fk
