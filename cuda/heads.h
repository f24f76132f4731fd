// CUDA twins of the fused margin transform (ops::margin_logits, tensor/margin.h, which checks and calls them):
// one kernel writes the scaled, margin-adjusted logits from the cosine matrix, one applies its
// derivative. cos/dlogits are contiguous CUDA (N, C) float32/float64, labels contiguous int64 (N) on
// the same device, values in [-1, C). Kernels: cuda/heads_kernels.h; math: tensor/cpu/margin_math.h.
// Tests: tests/cuda/test_heads.cpp.
#pragma once

#include "tensor/cpu/margin_math.h"
#include "tensor/tensor.h"

namespace fk::cuda {

// logits (N, C): s * phi(cos) at each row's label, s * cos elsewhere
Tensor margin_logits_forward(const Tensor& cos, const Tensor& labels, const MarginParams& p);
// dcos (N, C): dlogits * s * (phi'(cos) at the label, 1 elsewhere)
Tensor margin_logits_backward(const Tensor& dlogits, const Tensor& cos, const Tensor& labels, const MarginParams& p);

}  // namespace fk::cuda
