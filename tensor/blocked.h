// The inference engine's activations: float32 tensors in the blocked channel layout NCHW16c
// (tensor/cpu/conv_blocked.h), and the few ops that work on it besides the fused convolutions of
// layers/fuse.h. A model prepared for inference converts its input once (to_blocked), runs every
// convolution, pooling and concatenation on this layout, and converts once at the end (to_nchw).
// Tests: tests/tensor/test_conv_blocked.cpp.
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace fk {

struct BlockedTensor {
  Tensor data;           // (N, ceil(C / 16), H, W, 16) float32, contiguous; channels >= C are zero
  int64_t channels = 0;  // C
  int64_t N() const { return data.size(0); }
  int64_t H() const { return data.size(2); }
  int64_t W() const { return data.size(3); }
  int64_t blocks() const { return data.size(1); }
  const float* ptr() const { return data.data<float>(); }
  float* mutable_ptr() const { return data.data<float>(); }
};

// An uninitialised blocked tensor of C channels (its kernel writes every element, padding included).
BlockedTensor empty_blocked(int64_t N, int64_t C, int64_t H, int64_t W);
// x: (N, C, H, W) float32 on the CPU (any strides) -> blocked
BlockedTensor to_blocked(const Tensor& x);
// -> (N, C, H, W) float32, contiguous
Tensor to_nchw(const BlockedTensor& x);

// torch.nn.functional.max_pool2d(kernel k, stride s, padding p, ceil_mode) on the blocked layout
// (the window rule of tensor/pool.h: padding never wins, a ceil-mode window must start inside).
BlockedTensor max_pool2d(const BlockedTensor& x, int64_t k, int64_t s, int64_t p, bool ceil_mode);
// torch.cat(dim=1): every part but the last must have a multiple of 16 channels.
BlockedTensor cat_channels(const std::vector<BlockedTensor>& parts);

}  // namespace fk
