// Derivatives of the matrix products (torch.matmul, torch.bmm, F.linear), each a gemm with a
// transposed operand:  y = a b  =>  da = dy b^T,  db = a^T dy.
// Transposes are views, so gemm reads them in place (trans flag) and nothing is copied.
// Tests: tests/autograd/test_linalg_grad.cpp (float64 gradcheck on the cases in tests/cases/linalg.h).
#include "autograd/ops.h"

namespace fk {

Tensor matmul(const Tensor& a, const Tensor& b) {
  Tensor y = ops::matmul(a, b);
  return autograd::record("matmul", y, {a, b}, [a = autograd::saved(a), b = autograd::saved(b)](const Tensor& dy) {
    // work on the promoted matrices: a 1-d a is a row (1, K), a 1-d b a column (K, 1)
    Tensor a2 = a.dim() == 1 ? ops::unsqueeze(a, 0) : a;
    Tensor b2 = b.dim() == 1 ? ops::unsqueeze(b, 1) : b;
    Tensor dy2 = dy;
    if (a.dim() == 1) dy2 = ops::unsqueeze(dy2, dy2.dim() - (b.dim() == 1 ? 0 : 1));
    if (b.dim() == 1) dy2 = ops::unsqueeze(dy2, dy2.dim());
    // dy2: (batch..., M, N).  da = dy b^T summed over the batch dims a was broadcast along
    Tensor da = ops::sum_to(ops::matmul(dy2, ops::transpose(b2, -1, -2)), a2.shape());
    Tensor db;
    if (b2.dim() == 2) {
      // b was shared by every batch matrix: db = a^T dy with the batch folded into one (rows, K)^T (rows, N) gemm
      int64_t K = a2.size(-1), N = b2.size(-1);
      int64_t rows = numel_of(Shape(a2.shape().begin(), a2.shape().end() - 1));
      db = ops::matmul(ops::transpose(ops::reshape(a2, {rows, K}), 0, 1), ops::reshape(dy2, {rows, N}));
    } else {
      db = ops::sum_to(ops::matmul(ops::transpose(a2, -1, -2), dy2), b2.shape());
    }
    return autograd::Grads{ops::reshape(da, a.shape()), ops::reshape(db, b.shape())};
  });
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  Tensor y = ops::bmm(a, b);
  return autograd::record("bmm", y, {a, b}, [a = autograd::saved(a), b = autograd::saved(b)](const Tensor& dy) {
    // da = dy b^T, db = a^T dy, per batch matrix
    return autograd::Grads{ops::bmm(dy, ops::transpose(b, 1, 2)), ops::bmm(ops::transpose(a, 1, 2), dy)};
  });
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  Tensor y = ops::linear(x, weight, bias);
  std::vector<Tensor> inputs{x, weight};
  if (bias.defined()) inputs.push_back(bias);
  return autograd::record(
      "linear", y, inputs,
      [x = autograd::saved(x), w = autograd::saved(weight), has_bias = bias.defined()](const Tensor& dy) {
        // with every leading dim folded into rows: x (rows, in), dy (rows, out)
        int64_t in = w.size(1), out = w.size(0);
        int64_t rows = numel_of(Shape(x.shape().begin(), x.shape().end() - 1));
        Tensor dy2 = ops::reshape(dy, {rows, out});
        Tensor x2 = ops::reshape(x, {rows, in});
        autograd::Grads grads;
        grads.push_back(ops::reshape(ops::matmul(dy2, w), x.shape()));  // dx = dy W
        grads.push_back(ops::matmul(ops::transpose(dy2, 0, 1), x2));    // dW = dy^T x
        if (has_bias) grads.push_back(ops::sum(dy2, {0}));               // db = sum of dy over rows
        return grads;
      });
}

}  // namespace fk
