// cuBLAS-backed matmul, bmm and linear (see linalg.h). Operands are read in place when each matrix is
// row-major or column-major (a transposed view goes to cuBLAS as trans=true) and the batch matrices sit
// a constant stride apart (0 for a broadcast operand); anything else is copied to a contiguous tensor
// first. Tests: tests/cuda/test_linalg.cpp.
#include "cuda/linalg.h"

#include <algorithm>

#include "cuda/blas.h"
#include "cuda/launch.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"
#include "tensor/shape_ops.h"

namespace fk::cuda {

using ops::expand;
using ops::reshape;
using ops::unsqueeze;

namespace {

// How cuBLAS reads the (R, C) matrices of a 3-d operand (B, R, C).
struct Operand {
  Tensor t;            // the tensor whose memory is read (the input itself, or a contiguous copy)
  bool trans = false;  // stored column-major: passed as the transpose of a row-major matrix
  int64_t ld = 1;      // leading dimension of the stored layout
  int64_t batch_stride = 0;
};

// Row-major (column stride 1) or column-major (row stride 1) with a leading dimension at least the
// stored row's length; a size-1 dim's stride never matters. Otherwise a contiguous copy.
Operand operand(const Tensor& t3) {
  const int64_t R = t3.size(1), C = t3.size(2), sr = t3.strides()[1], sc = t3.strides()[2];
  const int64_t row_ld = std::max<int64_t>(C, 1), col_ld = std::max<int64_t>(R, 1);
  const int64_t sb = t3.size(0) == 1 ? 0 : t3.strides()[0];
  if ((sc == 1 || C == 1) && (R == 1 || sr >= row_ld)) return {t3, false, R == 1 ? row_ld : sr, sb};
  if ((sr == 1 || R == 1) && (C == 1 || sc >= col_ld)) return {t3, true, C == 1 ? col_ld : sc, sb};
  Tensor c = t3.contiguous();
  return {c, false, row_ld, t3.size(0) == 1 ? 0 : R * C};
}

// out (B, M, N) = a (B, M, K) x b (B, K, N) as one strided-batched GEMM; a and b may have stride-0
// (broadcast) batch dims.
Tensor batched_product(const Tensor& a3, const Tensor& b3) {
  const int64_t B = a3.size(0), M = a3.size(1), K = a3.size(2), N = b3.size(2);
  Tensor out = empty({B, M, N}, a3.dtype(), a3.device());
  const Operand oa = operand(a3), ob = operand(b3);
  const int device = a3.device().index;
  dispatch_float(a3.dtype(), "matmul", [&]<class T>() {
    gemm_strided_batched(oa.trans, ob.trans, M, N, K, T(1), ptr<T>(oa.t), oa.ld, oa.batch_stride, ptr<T>(ob.t),
                         ob.ld, ob.batch_stride, T(0), ptr<T>(out), N, M * N, B, device);
  });
  return out;
}

// y[r, o] = b[o] for every row r: linear's bias, before the GEMM adds x W^T (beta = 1).
template <class T>
struct FillRowsKernel {
  const T* b;
  T* y;
  int64_t cols;
  FK_HD_INLINE void operator()(int64_t i) const { y[i] = b[i % cols]; }
};

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  // promote 1-d operands to matrices: a row (1, K) on the left, a column (K, 1) on the right
  Tensor a2 = a.dim() == 1 ? unsqueeze(a, 0) : a;
  Tensor b2 = b.dim() == 1 ? unsqueeze(b, 1) : b;
  const int64_t M = a2.size(-2), K = a2.size(-1), N = b2.size(-1);
  Shape a_batch(a2.shape().begin(), a2.shape().end() - 2), b_batch(b2.shape().begin(), b2.shape().end() - 2);
  Shape batch = broadcast_shapes(a_batch, b_batch, "matmul");
  Shape out_shape = batch;  // batch, then M unless a was 1-d, then N unless b was 1-d
  if (a.dim() > 1) out_shape.push_back(M);
  if (b.dim() > 1) out_shape.push_back(N);

  Tensor out;
  if (b2.dim() == 2) {
    // (batch..., M, K) x (K, N): the batch folds into the rows of a single GEMM
    const int64_t rows = numel_of(batch) * M;
    out = batched_product(reshape(a2, {1, rows, K}), unsqueeze(b2, 0));
  } else {
    // broadcast both batches to `batch`, then flatten it (a copy only where a view cannot do it)
    const int64_t B = numel_of(batch);
    Shape full_a = batch, full_b = batch;
    full_a.insert(full_a.end(), {M, K});
    full_b.insert(full_b.end(), {K, N});
    out = batched_product(reshape(expand(a2, full_a), {B, M, K}), reshape(expand(b2, full_b), {B, K, N}));
  }
  return reshape(out, out_shape);
}

Tensor bmm(const Tensor& a, const Tensor& b) { return batched_product(a, b); }

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const int64_t in = weight.size(1), out_f = weight.size(0);
  const int64_t rows = numel_of(Shape(x.shape().begin(), x.shape().end() - 1));
  Shape out_shape = x.shape();
  out_shape.back() = out_f;
  Tensor y = empty(out_shape, x.dtype(), x.device());
  // y (rows, out) = x (rows, in) W^T (in, out) [+ b]: W (out, in) read with its layout flipped
  const Operand ox = operand(reshape(x, {1, rows, in})), ow = operand(unsqueeze(weight, 0));
  const int device = x.device().index;
  dispatch_float(x.dtype(), "linear", [&]<class T>() {
    if (bias.defined()) launch(rows * out_f, FillRowsKernel<T>{ptr<T>(bias.contiguous()), ptr<T>(y), out_f}, device);
    gemm(ox.trans, !ow.trans, rows, out_f, in, T(1), ptr<T>(ox.t), ox.ld, ptr<T>(ow.t), ow.ld,
         bias.defined() ? T(1) : T(0), ptr<T>(y), out_f, device);
  });
  return y;
}

}  // namespace fk::cuda
