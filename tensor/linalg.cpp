// Matrix products (see linalg.h): torch.matmul, torch.bmm and torch.nn.functional.linear, each one
// call (or one call per batch matrix) of fk::cpu::gemm (tensor/cpu/gemm.cpp, OpenBLAS underneath).
//
//   matmul: 1-d x 1-d is a dot product (0-d); a 1-d left operand is read as a row (1,K) and a 1-d right
//   operand as a column (K,1), the added dim is removed from the result; dims before the last two are
//   batch dims and broadcast against each other.
//
// No operand is copied when its matrices are row-major or column-major with any leading dimension (a
// transposed contiguous matrix goes to gemm as trans=true); anything else is made contiguous once.
// CUDA tensors go to cuda/linalg.cu after the argument checks.
// Tests: tests/tensor/test_linalg.cpp (PyTorch fixtures), tests/autograd/test_linalg_grad.cpp,
// tests/cuda/test_linalg.cpp (GPU vs CPU).
#include "tensor/linalg.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "cuda/linalg.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"
#include "tensor/iterate.h"
#include "tensor/shape_ops.h"

namespace fk::ops {

namespace {

// How gemm reads one (R, C) matrix whose elements sit at row stride sr and column stride sc.
struct Layout {
  bool trans = false;
  int64_t ld = 1;
};

// Row-major (sc == 1) or column-major (sr == 1, passed as a transposed row-major matrix); a size-1 dim's
// stride never matters. Nothing when gemm cannot read the matrix in place.
std::optional<Layout> gemm_layout(int64_t R, int64_t C, int64_t sr, int64_t sc) {
  int64_t row_ld = std::max<int64_t>(C, 1), col_ld = std::max<int64_t>(R, 1);  // BLAS: ld >= the stored row
  if (R == 0 || C == 0) return Layout{false, row_ld};                           // nothing is read
  if ((sc == 1 || C == 1) && (R == 1 || sr >= row_ld)) return Layout{false, R == 1 ? row_ld : sr};
  if ((sr == 1 || R == 1) && (C == 1 || sc >= col_ld)) return Layout{true, C == 1 ? col_ld : sc};
  return std::nullopt;
}

// The operand itself, or a contiguous copy when its last two dims are not gemm-readable.
Tensor gemm_ready(const Tensor& t) {
  int64_t n = t.dim();
  if (gemm_layout(t.shape()[size_t(n - 2)], t.shape()[size_t(n - 1)], t.strides()[size_t(n - 2)],
                  t.strides()[size_t(n - 1)]))
    return t;
  return t.contiguous();
}

Layout layout_of(const Tensor& t) {
  int64_t n = t.dim();
  return *gemm_layout(t.shape()[size_t(n - 2)], t.shape()[size_t(n - 1)], t.strides()[size_t(n - 2)],
                      t.strides()[size_t(n - 1)]);
}

// out (batch..., M, N) = a (batch..., M, K) x b (batch..., K, N), where a and b are gemm-ready views
// whose batch dims have already been broadcast (stride 0 on repeated batch dims: nothing is copied).
template <class T>
void batched_gemm(const Tensor& a, const Tensor& b, Tensor& out) {
  int64_t nd = out.dim();
  int64_t M = out.shape()[size_t(nd - 2)], N = out.shape()[size_t(nd - 1)], K = a.shape()[size_t(nd - 1)];
  Layout la = layout_of(a), lb = layout_of(b);
  Shape batch(out.shape().begin(), out.shape().end() - 2);
  Shape sa(a.strides().begin(), a.strides().end() - 2), sb(b.strides().begin(), b.strides().end() - 2);
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* pc = out.data<T>();
  int64_t i = 0;
  // one gemm per batch matrix, serially: OpenBLAS threads each call itself
  for_each_offset2(batch, sa, sb, [&](int64_t oa, int64_t ob) {
    cpu::gemm(la.trans, lb.trans, M, N, K, T(1), pa + oa, la.ld, pb + ob, lb.ld, T(0), pc + i * M * N, N);
    ++i;
  });
}

void check_operands(const Tensor& a, const Tensor& b, const char* op) {
  check_float_input(a, op, "a");
  check_float_input(b, op, "b");
  check_same_type(a, b, op);
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_operands(a, b, "matmul");
  FK_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both arguments need at least 1 dim, got ", shape_str(a.shape()),
           " and ", shape_str(b.shape()));
  // promote 1-d operands to matrices: a row (1, K) on the left, a column (K, 1) on the right
  Tensor a2 = a.dim() == 1 ? unsqueeze(a, 0) : a;
  Tensor b2 = b.dim() == 1 ? unsqueeze(b, 1) : b;
  int64_t M = a2.size(-2), K = a2.size(-1), N = b2.size(-1);
  FK_CHECK(b2.size(-2) == K, "matmul: shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
           " cannot be multiplied (", M, "x", K, " and ", b2.size(-2), "x", N, ")");
  if constexpr (kWithCuda) {  // after the shape checks, which hold on every device
    if (a.device().is_cuda()) return cuda::matmul(a, b);
  }
  Shape a_batch(a2.shape().begin(), a2.shape().end() - 2), b_batch(b2.shape().begin(), b2.shape().end() - 2);
  Shape batch = broadcast_shapes(a_batch, b_batch, "matmul");

  // the final shape: batch, then M unless a was 1-d, then N unless b was 1-d
  Shape out_shape = batch;
  if (a.dim() > 1) out_shape.push_back(M);
  if (b.dim() > 1) out_shape.push_back(N);
  Tensor out = empty(out_shape, a.dtype());

  dispatch_float(a.dtype(), "matmul", [&]<class T>() {
    if (b2.dim() == 2) {
      // (batch..., M, K) x (K, N): fold the batch into the rows of a single gemm
      int64_t rows = numel_of(batch) * M;
      Tensor af = gemm_ready(reshape(a2, {rows, K}));
      Tensor bf = gemm_ready(b2);
      Tensor o = reshape(out, {rows, N});
      batched_gemm<T>(af, bf, o);
      return;
    }
    Shape full_a = batch, full_b = batch, full_o = batch;
    full_a.insert(full_a.end(), {M, K});
    full_b.insert(full_b.end(), {K, N});
    full_o.insert(full_o.end(), {M, N});
    Tensor ae = expand(gemm_ready(a2), full_a);
    Tensor be = expand(gemm_ready(b2), full_b);
    Tensor o = reshape(out, full_o);
    batched_gemm<T>(ae, be, o);
  });
  return out;
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  check_operands(a, b, "bmm");
  FK_CHECK(a.dim() == 3 && b.dim() == 3, "bmm: both arguments must be 3-d (B, M, K) and (B, K, N), got ",
           shape_str(a.shape()), " and ", shape_str(b.shape()));
  FK_CHECK(a.size(0) == b.size(0) && a.size(2) == b.size(1), "bmm: shapes ", shape_str(a.shape()), " and ",
           shape_str(b.shape()), " cannot be multiplied (expected (B, M, K) and (B, K, N))");
  if constexpr (kWithCuda) {
    if (a.device().is_cuda()) return cuda::bmm(a, b);
  }
  Tensor out = empty({a.size(0), a.size(1), b.size(2)}, a.dtype());
  dispatch_float(a.dtype(), "bmm", [&]<class T>() { batched_gemm<T>(gemm_ready(a), gemm_ready(b), out); });
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_float_input(x, "linear", "x");
  check_float_input(weight, "linear", "weight");
  check_same_type(x, weight, "linear");
  FK_CHECK(weight.dim() == 2, "linear: weight must be 2-d (out_features, in_features), got ",
           shape_str(weight.shape()));
  FK_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: x ", shape_str(x.shape()),
           " and weight ", shape_str(weight.shape()), " cannot be multiplied (x's last dim must be in_features=",
           weight.size(1), ")");
  int64_t in = weight.size(1), out_f = weight.size(0);
  if (bias.defined()) {
    check_float_input(bias, "linear", "bias");
    check_same_type(x, bias, "linear");
    FK_CHECK(bias.dim() == 1 && bias.size(0) == out_f, "linear: bias ", shape_str(bias.shape()),
             " must be 1-d of out_features=", out_f, " (weight=", shape_str(weight.shape()), ")");
  }
  if constexpr (kWithCuda) {
    if (x.device().is_cuda()) return cuda::linear(x, weight, bias);
  }
  Shape out_shape = x.shape();
  out_shape.back() = out_f;
  Tensor y = empty(out_shape, x.dtype());
  // x: (rows, in), y: (rows, out) = x W^T + b, one gemm over every leading dim
  int64_t rows = numel_of(Shape(x.shape().begin(), x.shape().end() - 1));
  Tensor x2 = gemm_ready(reshape(x, {rows, in}));
  Tensor w = gemm_ready(weight);
  dispatch_float(x.dtype(), "linear", [&]<class T>() {
    T* py = y.data<T>();
    if (bias.defined()) {
      // y starts as the bias in every row, and gemm adds x W^T on top (beta = 1)
      std::vector<T> b = bias.to_vector<T>();
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t o = 0; o < out_f; ++o) py[r * out_f + o] = b[size_t(o)];
    }
    Layout lx = layout_of(x2), lw = layout_of(w);
    // op(B) must be W^T (in, out): W's own layout flips
    cpu::gemm(lx.trans, !lw.trans, rows, out_f, in, T(1), x2.data<T>(), lx.ld, w.data<T>(), lw.ld,
              bias.defined() ? T(1) : T(0), py, out_f);
  });
  return y;
}

}  // namespace fk::ops
