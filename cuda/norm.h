// CUDA twins of the batch-norm ops of tensor/norm.h (torch.nn.functional.batch_norm), with the same
// semantics and arguments already checked by fk::ops::batch_norm / batch_norm_backward, which route
// CUDA tensors here. Kernels: cuda/norm_kernels.h (per element) and cuda/norm.cu (per-channel block
// reductions); shared math: tensor/cpu/norm_math.h. Tests: tests/cuda/test_norm.cpp (GPU vs CPU) and
// tests/tensor/test_cuda_kernels_norm.cpp (the functors emulated on the CPU).
#pragma once

#include "tensor/norm.h"

namespace fk::cuda {

ops::BatchNormResult batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                                Tensor running_var, bool training, double momentum, double eps);

ops::BatchNormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                                        const Tensor& save_mean, const Tensor& save_invstd, bool training);

}  // namespace fk::cuda
