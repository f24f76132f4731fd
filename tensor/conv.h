// 2-d convolution (torch.nn.functional.conv2d): x (N,C,H,W), weight (OC, C/groups, KH, KW), bias (OC)
// or undefined. OH = floor((H + 2*pad - dil*(KH-1) - 1) / stride) + 1. Computed as im2col + GEMM.
#pragma once

#include <array>

#include "tensor/blocked.h"
#include "tensor/tensor.h"

namespace fk {

// The options struct lives in namespace fk (fk::ops names it through a using-declaration): were it
// in fk::ops, argument-dependent lookup would find ops::conv2d next to fk::conv2d and make an
// unqualified `conv2d(x, w, b, opts)` under `using namespace fk` ambiguous.
struct Conv2dOptions {
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> dilation{1, 1};
  int64_t groups = 1;
};

}  // namespace fk

namespace fk::ops {

using fk::Conv2dOptions;

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opts = {});

struct Conv2dGrads {
  Tensor dx, dweight, dbias;  // dbias undefined when there was no bias
};
// output_mask {dx, dweight, dbias}: a false entry skips that gradient (left undefined), e.g. dx of a
// network's first conv (torch's output_mask of convolution_backward).
Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, bool has_bias,
                            const Conv2dOptions& opts, std::array<bool, 3> output_mask = {true, true, true});

// Training on the CPU's blocked kernels (tensor/cpu/conv_blocked_nchw.h) from an input already in the
// blocked layout: the autograd conv2d converts x once, runs the forward on it and keeps it, in place
// of x, for the weight gradient (one layout conversion less per conv and step, the same memory).
// Whether both the forward and the weight gradient of this conv run there (float32 CPU tensors):
bool conv2d_blocked_input_applies(const Tensor& x, const Tensor& weight, const Conv2dOptions& opts);
// conv2d and conv2d_backward with x given as xb; y and the gradients as above (NCHW). Only where
// conv2d_blocked_input_applies.
Tensor conv2d(const BlockedTensor& xb, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opts);
Conv2dGrads conv2d_backward(const Tensor& dy, const BlockedTensor& xb, const Tensor& weight, bool has_bias,
                            const Conv2dOptions& opts, std::array<bool, 3> output_mask);

}  // namespace fk::ops
