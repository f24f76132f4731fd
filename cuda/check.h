// FK_CUDA_CHECK / FK_CUBLAS_CHECK / FK_CUDNN_CHECK: wrap every CUDA, cuBLAS and cuDNN call; a failure
// throws fk::Error carrying the call's text, file:line and the library's error string.
// Include only from .cu files (it needs the CUDA headers).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "tensor/error.h"

#define FK_CUDA_CHECK(call)                                                                               \
  do {                                                                                                    \
    cudaError_t fk_err_ = (call);                                                                         \
    if (fk_err_ != cudaSuccess)                                                                           \
      throw ::fk::Error(::fk::detail::concat(#call, " failed at ", __FILE__, ":", __LINE__, ": ",         \
                                             cudaGetErrorString(fk_err_)));                               \
  } while (0)

#define FK_CUBLAS_CHECK(call)                                                                             \
  do {                                                                                                    \
    cublasStatus_t fk_st_ = (call);                                                                       \
    if (fk_st_ != CUBLAS_STATUS_SUCCESS)                                                                  \
      throw ::fk::Error(::fk::detail::concat(#call, " failed at ", __FILE__, ":", __LINE__, ": ",         \
                                             cublasGetStatusString(fk_st_)));                             \
  } while (0)

#define FK_CUDNN_CHECK(call)                                                                              \
  do {                                                                                                    \
    cudnnStatus_t fk_st_ = (call);                                                                        \
    if (fk_st_ != CUDNN_STATUS_SUCCESS)                                                                   \
      throw ::fk::Error(::fk::detail::concat(#call, " failed at ", __FILE__, ":", __LINE__, ": ",         \
                                             cudnnGetErrorString(fk_st_)));                               \
  } while (0)
