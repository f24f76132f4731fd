// cuBLAS behind fk::cuda::gemm (see blas.h): the handle table and the row-major to column-major swap.
#include "cuda/blas.h"

#include <algorithm>
#include <climits>

#include "cuda/check.h"
#include "cuda/handles.h"
#include "cuda/launch.h"

namespace fk::cuda {

namespace {

// The device's cuBLAS handle, bound to the device's current stream.
cublasHandle_t handle_for(int device) {
  cublasHandle_t h = device_handle<cublasHandle_t>(device, [] {
    cublasHandle_t made = nullptr;
    FK_CUBLAS_CHECK(cublasCreate(&made));
    // no TF32: float32 products keep full float32 precision, close to the CPU's
    FK_CUBLAS_CHECK(cublasSetMathMode(made, CUBLAS_DEFAULT_MATH));
    return made;
  });
  FK_CUBLAS_CHECK(cublasSetStream(h, stream(device)));
  return h;
}

// cuBLAS takes int sizes; larger products are refused with the sizes named.
int as_int(int64_t v, const char* what) {
  FK_CHECK(v >= 0 && v <= INT_MAX, "gemm: ", what, "=", v, " does not fit cuBLAS's 32-bit sizes");
  return int(v);
}
// A leading dimension of 0 (an empty matrix: nothing is read) is still refused by cuBLAS.
int ld_int(int64_t ld) { return as_int(std::max<int64_t>(ld, 1), "leading dimension"); }
cublasOperation_t op(bool trans) { return trans ? CUBLAS_OP_T : CUBLAS_OP_N; }

// The float/double cuBLAS entry points under one name.
cublasStatus_t gemm_call(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                         const float* alpha, const float* A, int lda, const float* B, int ldb, const float* beta,
                         float* C, int ldc) {
  return cublasSgemm(h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
cublasStatus_t gemm_call(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                         const double* alpha, const double* A, int lda, const double* B, int ldb,
                         const double* beta, double* C, int ldc) {
  return cublasDgemm(h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
cublasStatus_t gemm_batched_call(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                 const float* alpha, const float* A, int lda, long long sa, const float* B, int ldb,
                                 long long sb, const float* beta, float* C, int ldc, long long sc, int batch) {
  return cublasSgemmStridedBatched(h, ta, tb, m, n, k, alpha, A, lda, sa, B, ldb, sb, beta, C, ldc, sc, batch);
}
cublasStatus_t gemm_batched_call(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                 const double* alpha, const double* A, int lda, long long sa, const double* B,
                                 int ldb, long long sb, const double* beta, double* C, int ldc, long long sc,
                                 int batch) {
  return cublasDgemmStridedBatched(h, ta, tb, m, n, k, alpha, A, lda, sa, B, ldb, sb, beta, C, ldc, sc, batch);
}

// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: B goes first, M and N swap.
template <class T>
void gemm_impl(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
               int64_t ldb, T beta, T* C, int64_t ldc, int device) {
  if (M == 0 || N == 0) return;
  FK_CUBLAS_CHECK(gemm_call(handle_for(device), op(tb), op(ta), as_int(N, "N"), as_int(M, "M"), as_int(K, "K"),
                            &alpha, B, ld_int(ldb), A, ld_int(lda), &beta, C, ld_int(ldc)));
}

template <class T>
void gemm_batched_impl(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
                       int64_t sa, const T* B, int64_t ldb, int64_t sb, T beta, T* C, int64_t ldc, int64_t sc,
                       int64_t batch, int device) {
  if (M == 0 || N == 0 || batch == 0) return;
  FK_CUBLAS_CHECK(gemm_batched_call(handle_for(device), op(tb), op(ta), as_int(N, "N"), as_int(M, "M"),
                                    as_int(K, "K"), &alpha, B, ld_int(ldb), sb, A, ld_int(lda), sa, &beta, C,
                                    ld_int(ldc), sc, as_int(batch, "batch")));
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int device) {
  gemm_impl(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, device);
}
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
          const double* B, int64_t ldb, double beta, double* C, int64_t ldc, int device) {
  gemm_impl(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, device);
}

void gemm_strided_batched(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                          int64_t lda, int64_t stride_a, const float* B, int64_t ldb, int64_t stride_b, float beta,
                          float* C, int64_t ldc, int64_t stride_c, int64_t batch, int device) {
  gemm_batched_impl(trans_a, trans_b, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b, beta, C, ldc, stride_c,
                    batch, device);
}
void gemm_strided_batched(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha,
                          const double* A, int64_t lda, int64_t stride_a, const double* B, int64_t ldb,
                          int64_t stride_b, double beta, double* C, int64_t ldc, int64_t stride_c, int64_t batch,
                          int device) {
  gemm_batched_impl(trans_a, trans_b, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b, beta, C, ldc, stride_c,
                    batch, device);
}

}  // namespace fk::cuda
