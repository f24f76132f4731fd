// fk::ops::margin_logits and its backward: the margin heads' transform of a cosine matrix (layers/heads.h),
// the functional form of insightface's in-place `logits[index, labels] = ...`:
//   logits[n, j] = s * phi(cos[n, j])  where j == labels[n],   s * cos[n, j]  elsewhere
//   dcos[n, j]   = dlogits[n, j] * s * (j == labels[n] ? phi'(cos[n, j]) : 1)
// phi per head in tensor/cpu/margin_math.h (ArcFace both variants, CosFace, SphereFace). The op checks
// the arguments (cos (N, C) float32/float64; labels (N) int64 on the same device, each in [-1, C); -1:
// no target in that row), allocates the output, then runs the CPU loops (tensor/cpu/margin.cpp) or,
// for tensors on a GPU, the CUDA kernels (cuda/heads.cu). Not differentiable itself: the autograd op
// is fk::margin_logits (layers/heads.h). Tests: tests/layers/test_heads.cpp (PyTorch fixtures, through
// the heads), tests/tensor/test_margin.cpp, tests/cuda/test_heads.cpp.
#pragma once

#include "tensor/cpu/margin_math.h"
#include "tensor/tensor.h"

namespace fk::ops {

Tensor margin_logits(const Tensor& cos, const Tensor& labels, const MarginParams& p);
Tensor margin_logits_backward(const Tensor& dlogits, const Tensor& cos, const Tensor& labels, const MarginParams& p);

}  // namespace fk::ops
