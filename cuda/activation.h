// CUDA twins of the activation ops of tensor/activation.h (torch.nn.functional.prelu, softmax,
// log_softmax, dropout), with the same semantics; fk::ops checks the arguments, then routes CUDA
// tensors here. Kernels: cuda/activation_kernels.h (per element / per column, emulated on the CPU by
// tests/tensor/test_cuda_kernels_activation.cpp) and cuda/activation.cu (one block per softmax row).
// Shared math: tensor/cpu/activation_math.h. GPU-vs-CPU tests: tests/cuda/test_activation.cpp.
#pragma once

#include <cstdint>
#include <utility>

#include "tensor/activation.h"

namespace fk::cuda {

Tensor prelu(const Tensor& x, const Tensor& weight);
ops::PreluGrads prelu_backward(const Tensor& dy, const Tensor& x, const Tensor& weight);

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
Tensor softmax_backward(const Tensor& dy, const Tensor& y, int64_t dim);
Tensor log_softmax_backward(const Tensor& dy, const Tensor& y, int64_t dim);

// ops::dropout for 0 < p <= 1 in training, with the seed the public op drew from the default generator
// (so the generator advances alike on both devices): returns y and the scaled mask.
std::pair<Tensor, Tensor> dropout(const Tensor& x, double p, uint64_t seed);

}  // namespace fk::cuda
