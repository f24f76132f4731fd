// The CUDA twins of the matrix products in tensor/linalg.h (torch.matmul, torch.bmm, F.linear), same
// signatures and results; tensor/linalg.cpp checks the arguments, then routes CUDA tensors here.
// Every product is one cuBLAS call (cuda/blas.h): matmul's batch dims are broadcast and flattened into
// one strided-batched GEMM, linear is one GEMM over all leading dims with the bias pre-filled (beta=1).
// Plain C++ declarations (no CUDA headers). Tests: tests/cuda/test_linalg.cpp (GPU vs CPU).
#pragma once

#include "tensor/tensor.h"

namespace fk::cuda {

Tensor matmul(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

}  // namespace fk::cuda
