// The CUDA twins of conv2d and conv2d_backward (tensor/conv.h), same signatures and results;
// tensor/conv.cpp checks the arguments, then routes CUDA tensors here. Two backends, chosen at run time:
//   cudnn   cudnnConvolutionForward / BackwardData / BackwardFilter / BackwardBias, algorithms picked by
//           cuDNN's heuristics once per shape and cached, workspace from the caching allocator;
//   native  im2col (cuda/conv_kernels.h) + cuBLAS GEMM per image, strided-batched over the groups;
//           dx by a gathering col2im (deterministic), dweight accumulated over the images, dbias a GEMV.
// Float32 runs without TF32 on both (cuBLAS default math, cuDNN FMA math), so it stays close to the CPU.
// The backend: set_conv_backend() when called with Cudnn or Native, else the environment variable
// FK_CONV=cudnn|native (unset: cudnn). Plain C++ declarations (no CUDA headers).
// Tests: tests/cuda/test_conv.cpp (both backends vs CPU), tests/tensor/test_cuda_kernels_conv.cpp.
#pragma once

#include <array>

#include "tensor/conv.h"

namespace fk::cuda {

enum class ConvBackend { FromEnv, Cudnn, Native };
// Pins the backend for the whole process (FromEnv: back to reading FK_CONV).
void set_conv_backend(ConvBackend backend);
// The backend the next conv runs on: Cudnn or Native. Throws for an FK_CONV value other than
// "cudnn" or "native".
ConvBackend conv_backend();

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opts);
ops::Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, bool has_bias,
                                 const Conv2dOptions& opts, std::array<bool, 3> output_mask);

}  // namespace fk::cuda
