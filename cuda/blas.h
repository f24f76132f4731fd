// Row-major matrix products on the GPU through cuBLAS, the twins of fk::cpu::gemm (tensor/linalg.h):
//   C (M,N) = alpha * op(A) op(B) + beta * C,  op(X) = X or X^T,  every matrix row-major with a leading
//   dimension (the distance between two rows), as in BLAS sgemm/dgemm.
// cuBLAS is column-major: a row-major C is a column-major C^T = op(B)^T op(A)^T, so the functions pass
// B before A and swap M and N. One cuBLAS handle per device, made on first use and bound to the
// device's current stream before every call. Math mode CUBLAS_DEFAULT_MATH: no TF32 tensor cores, so
// float32 results stay within float32 rounding of the CPU's (TF32 keeps only 10 mantissa bits).
// Plain C++ declarations (no CUDA headers). Tests: tests/cuda/test_linalg.cpp, tests/cuda/test_conv.cpp.
#pragma once

#include <cstdint>

namespace fk::cuda {

// One product on device pointers, on `device`'s current stream.
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int device = 0);
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
          const double* B, int64_t ldb, double beta, double* C, int64_t ldc, int device = 0);

// `batch` products at once: matrix i of A starts at A + i*stride_a (likewise B, C); a stride of 0
// reuses one matrix for every product (a broadcast operand).
void gemm_strided_batched(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                          int64_t lda, int64_t stride_a, const float* B, int64_t ldb, int64_t stride_b, float beta,
                          float* C, int64_t ldc, int64_t stride_c, int64_t batch, int device = 0);
void gemm_strided_batched(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha,
                          const double* A, int64_t lda, int64_t stride_a, const double* B, int64_t ldb,
                          int64_t stride_b, double beta, double* C, int64_t ldc, int64_t stride_c, int64_t batch,
                          int device = 0);

}  // namespace fk::cuda
