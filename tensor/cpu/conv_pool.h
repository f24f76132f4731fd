// A thin first convolution with its PReLU and a 2x2 max pool in one pass (MTCNN PNet's conv1 +
// prelu1 + pool1):  y = max_pool2d(prelu(conv2d(x, w) + b), kernel 2, stride 2, ceil_mode=True),
// the conv KxK, stride 1, no padding, at most 16 output channels. It reads the planar image (N, C, H, W)
// as it comes from the resampler and writes the pooled map straight in the blocked layout
// (N, 1, PH, PW, 16), PH = ceil((H - K + 1) / 2): no layout conversion of the input, and the conv
// output is never stored (each pooled pixel computes its 2x2 conv outputs in registers, one 16-lane
// vector of output channels each). NaN wins the max as in PyTorch; PReLU is x > 0 ? x : a * x.
// Compiled for AVX-512 and for the baseline ISA (conv_pool_kernel.h), chosen at run time like
// conv2d_blocked. Tests: tests/tensor/test_conv_pool.cpp (against conv2d + prelu + max_pool2d).
#pragma once

#include <cstdint>

namespace fk::cpu {

struct ConvPoolGeometry {
  int64_t N = 0, C = 0, H = 0, W = 0;  // the planar input
  int64_t K = 3;                        // square kernel, stride 1, no padding
  int64_t OC = 0;                       // <= 16
  bool generic_isa = false;             // force the baseline kernel (tests)
  int64_t conv_h() const { return H - K + 1; }
  int64_t conv_w() const { return W - K + 1; }
  int64_t pooled_h() const { return (conv_h() + 1) / 2; }
  int64_t pooled_w() const { return (conv_w() + 1) / 2; }
};

// w (OC, C, K, K) as in PyTorch -> packed (C, K, K, 16), the lanes past OC zero.
void pack_conv_pool_weights(const ConvPoolGeometry& g, const float* w, float* packed);

// x (N, C, H, W) contiguous; packed from pack_conv_pool_weights; bias and slope: 16 floats each (zero
// past OC; slope may be null for no activation); y: N * PH * PW * 16 floats. One OpenMP region over
// (image, pooled row) unless called inside one.
void conv_prelu_maxpool2(const ConvPoolGeometry& g, const float* x, const float* packed, const float* bias,
                         const float* slope, float* y);

// The per-ISA halves: pooled rows [begin, end) of (image, pooled row).
void conv_pool_rows_avx512(const ConvPoolGeometry& g, const float* x, const float* packed, const float* bias,
                           const float* slope, float* y, int64_t begin, int64_t end);
void conv_pool_rows_generic(const ConvPoolGeometry& g, const float* x, const float* packed, const float* bias,
                            const float* slope, float* y, int64_t begin, int64_t end);

}  // namespace fk::cpu
