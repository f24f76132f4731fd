// CUDA twins of nll_loss and its backward (tensor/loss.h, torch.nn.functional.nll_loss with
// reduction='mean' and ignore_index), same semantics; fk::ops checks the arguments (targets in range)
// and routes CUDA tensors here. Kernels: cuda/loss_kernels.h (emulated on the CPU by
// tests/tensor/test_cuda_kernels_activation.cpp) and cuda/loss.cu. GPU-vs-CPU tests: tests/cuda/test_loss.cpp.
#pragma once

#include "tensor/loss.h"

namespace fk::cuda {

Tensor nll_loss(const Tensor& logp, const Tensor& target, int64_t ignore_index);
Tensor nll_loss_backward(const Tensor& dloss, const Tensor& logp, const Tensor& target, int64_t ignore_index);

}  // namespace fk::cuda
