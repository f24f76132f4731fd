// The conv2d cases (STYLE.md §5): one row per configuration, read by the PyTorch fixture test
// (tests/tensor/test_conv.cpp) and the float64 gradcheck (tests/autograd/test_conv_grad.cpp).
// tests/fixtures/make_conv_pool.py writes tests/fixtures/conv/<name>_{x,w,b,y,dy,dx,dw,db}.npy for
// the same rows: keep the two lists in step (the fixture test checks the stored x has the row's shape).
// Shapes stay small: gradcheck runs two forwards per input element.
#pragma once

#include <vector>

#include "tensor/conv.h"

namespace fk::test {

struct ConvCase {
  const char* name;
  Shape x;    // (N, C, H, W)
  Shape w;    // (OC, C/groups, KH, KW)
  bool bias;  // bias (OC) defined
  ops::Conv2dOptions opts;  // {stride, padding, dilation, groups}
};

inline const std::vector<ConvCase> conv_cases = {
    {"basic_3x3_pad1", {2, 3, 7, 7}, {4, 3, 3, 3}, true, {{1, 1}, {1, 1}, {1, 1}, 1}},
    {"one_image", {1, 4, 6, 5}, {3, 4, 3, 3}, true, {{1, 1}, {1, 1}, {1, 1}, 1}},       // N == 1: no permute
    {"stem_7x7_s2_p3", {2, 3, 11, 9}, {4, 3, 7, 7}, true, {{2, 2}, {3, 3}, {1, 1}, 1}},  // ResNet stem, non-square
    {"pointwise_nobias", {2, 8, 5, 6}, {6, 8, 1, 1}, false, {{1, 1}, {0, 0}, {1, 1}, 1}},  // 1x1 s1: no im2col
    {"pointwise_groups", {2, 4, 5, 5}, {6, 2, 1, 1}, true, {{1, 1}, {0, 0}, {1, 1}, 2}},
    {"pointwise_stride2", {2, 8, 7, 7}, {6, 8, 1, 1}, false, {{2, 2}, {0, 0}, {1, 1}, 1}},  // ResNet downsample
    {"dilation2_pad2", {1, 3, 9, 8}, {4, 3, 3, 3}, true, {{1, 1}, {2, 2}, {2, 2}, 1}},
    {"groups2", {2, 4, 6, 6}, {6, 2, 3, 3}, true, {{1, 1}, {1, 1}, {1, 1}, 2}},
    {"depthwise_s2", {2, 6, 8, 7}, {6, 1, 3, 3}, false, {{2, 2}, {1, 1}, {1, 1}, 6}},  // groups == C
    {"stride3_gt_kernel2", {1, 3, 10, 9}, {2, 3, 2, 2}, true, {{3, 3}, {0, 0}, {1, 1}, 1}},
    {"map_1x1", {3, 5, 1, 1}, {4, 5, 1, 1}, true, {{1, 1}, {0, 0}, {1, 1}, 1}},  // 1x1 input maps
    {"output_1x1", {2, 3, 3, 3}, {4, 3, 3, 3}, true, {{1, 1}, {0, 0}, {1, 1}, 1}},
    {"kernel_3x3_on_1x1_pad1", {2, 3, 1, 1}, {2, 3, 3, 3}, true, {{1, 1}, {1, 1}, {1, 1}, 1}},
    {"asymmetric", {2, 3, 6, 9}, {4, 3, 3, 2}, true, {{2, 1}, {1, 0}, {1, 2}, 1}},  // per-axis everything
};

}  // namespace fk::test
