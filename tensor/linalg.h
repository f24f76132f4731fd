// Matrix products through one GEMM (tensor/cpu/gemm.cpp: Eigen, routed to OpenBLAS).
// matmul follows torch.matmul: 1-d/2-d/batched with broadcast batch dims; bmm is strictly 3-d.
#pragma once

#include "tensor/tensor.h"

namespace fk::ops {

Tensor matmul(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);  // (B,M,K) x (B,K,N) -> (B,M,N)
// y = x W^T + b; x (..., in), weight (out, in), bias (out) or undefined (torch.nn.functional.linear)
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

}  // namespace fk::ops

namespace fk::cpu {
// C (M,N) = alpha * op(A) op(B) + beta * C, row-major with leading dimensions (BLAS sgemm/dgemm).
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
          const double* B, int64_t ldb, double beta, double* C, int64_t ldc);
}  // namespace fk::cpu
