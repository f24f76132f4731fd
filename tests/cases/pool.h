// The pooling cases (STYLE.md §5): one row per configuration of max_pool2d, avg_pool2d or
// adaptive_avg_pool2d, read by the PyTorch fixture test (tests/tensor/test_pool.cpp) and the float64
// gradcheck (tests/autograd/test_pool_grad.cpp). tests/fixtures/make_conv_pool.py writes
// tests/fixtures/pool/<name>_{x,y,indices,dy,dx}.npy for the same rows: keep the two lists in step
// (the fixture test checks the stored x has the row's shape).
#pragma once

#include <array>
#include <vector>

#include "tensor/pool.h"

namespace fk::test {

enum class PoolKind { Max, Avg, AdaptiveAvg };

struct PoolCase {
  const char* name;
  PoolKind kind;
  Shape x;                  // (N, C, H, W) or (C, H, W)
  ops::Pool2dOptions opts;  // {kernel, stride, padding, dilation, ceil_mode, count_include_pad}
  std::array<int64_t, 2> output_size{0, 0};  // adaptive only
};

inline const std::vector<PoolCase> pool_cases = {
    // ---- max_pool2d
    {"max_k2s2", PoolKind::Max, {2, 3, 8, 8}, {{2, 2}, {0, 0}, {0, 0}, {1, 1}, false, true}},
    {"max_k3s2p1_resnet", PoolKind::Max, {2, 3, 9, 10}, {{3, 3}, {2, 2}, {1, 1}, {1, 1}, false, true}},
    // MTCNN PNet/RNet-style 3x3/2 ceil pool on odd and even sizes (the even one keeps a partial window)
    {"max_k3s2_ceil_odd", PoolKind::Max, {1, 2, 11, 11}, {{3, 3}, {2, 2}, {0, 0}, {1, 1}, true, true}},
    {"max_k3s2_ceil_even", PoolKind::Max, {1, 2, 12, 10}, {{3, 3}, {2, 2}, {0, 0}, {1, 1}, true, true}},
    {"max_k2s2_ceil_odd", PoolKind::Max, {1, 2, 11, 13}, {{2, 2}, {2, 2}, {0, 0}, {1, 1}, true, true}},
    // Caffe ResNet's 3x3/2 ceil pool (112 -> 56 there; 16 -> 8 here, a partial last window)
    {"max_k3s2_ceil_caffe", PoolKind::Max, {1, 3, 16, 16}, {{3, 3}, {2, 2}, {0, 0}, {1, 1}, true, true}},
    // ceil rule drops the last window: it would start in the right padding (H=5, k2 s2 p1: 4 -> 3)
    {"max_ceil_drops_last_pad", PoolKind::Max, {1, 2, 5, 5}, {{2, 2}, {2, 2}, {1, 1}, {1, 1}, true, true}},
    // stride > kernel, ceil: H=6 drops its last window (starts at 6 >= H), W=7 keeps it
    {"max_stride3_k2_ceil", PoolKind::Max, {1, 2, 6, 7}, {{2, 2}, {3, 3}, {0, 0}, {1, 1}, true, true}},
    {"max_stride3_k2", PoolKind::Max, {2, 2, 8, 9}, {{2, 2}, {3, 3}, {0, 0}, {1, 1}, false, true}},
    {"max_dilation2", PoolKind::Max, {1, 2, 9, 9}, {{3, 3}, {1, 1}, {1, 1}, {2, 2}, false, true}},
    {"max_dilation2_ceil", PoolKind::Max, {1, 2, 10, 9}, {{3, 2}, {2, 2}, {1, 1}, {2, 3}, true, true}},
    {"max_3d_input", PoolKind::Max, {3, 7, 7}, {{3, 3}, {2, 2}, {1, 1}, {1, 1}, false, true}},
    {"max_map_1x1", PoolKind::Max, {2, 3, 1, 1}, {{1, 1}, {0, 0}, {0, 0}, {1, 1}, false, true}},
    {"max_global_5x5", PoolKind::Max, {2, 3, 5, 5}, {{5, 5}, {0, 0}, {0, 0}, {1, 1}, false, true}},
    {"max_nonsquare_kernel", PoolKind::Max, {2, 2, 7, 9}, {{2, 3}, {2, 1}, {1, 1}, {1, 1}, false, true}},
    // ---- avg_pool2d
    {"avg_k2s2", PoolKind::Avg, {2, 3, 8, 8}, {{2, 2}, {0, 0}, {0, 0}, {1, 1}, false, true}},
    {"avg_k3s2p1_include_pad", PoolKind::Avg, {2, 3, 7, 7}, {{3, 3}, {2, 2}, {1, 1}, {1, 1}, false, true}},
    {"avg_k3s2p1_exclude_pad", PoolKind::Avg, {2, 3, 7, 7}, {{3, 3}, {2, 2}, {1, 1}, {1, 1}, false, false}},
    // ceil: the last window runs past the right padding, its divisor is clipped to the padded input
    {"avg_ceil_include_pad", PoolKind::Avg, {1, 2, 8, 8}, {{3, 3}, {2, 2}, {1, 1}, {1, 1}, true, true}},
    {"avg_ceil_exclude_pad", PoolKind::Avg, {1, 2, 8, 8}, {{3, 3}, {2, 2}, {1, 1}, {1, 1}, true, false}},
    {"avg_ceil_nopad", PoolKind::Avg, {1, 2, 7, 9}, {{2, 2}, {2, 2}, {0, 0}, {1, 1}, true, true}},
    {"avg_ceil_drops_last_pad", PoolKind::Avg, {1, 2, 5, 5}, {{2, 2}, {2, 2}, {1, 1}, {1, 1}, true, true}},
    {"avg_stride3_k2", PoolKind::Avg, {1, 2, 9, 8}, {{2, 2}, {3, 3}, {0, 0}, {1, 1}, false, true}},
    {"avg_3d_input", PoolKind::Avg, {3, 6, 6}, {{2, 2}, {0, 0}, {0, 0}, {1, 1}, false, true}},
    {"avg_global_7x7", PoolKind::Avg, {2, 4, 7, 7}, {{7, 7}, {0, 0}, {0, 0}, {1, 1}, false, true}},
    {"avg_nonsquare", PoolKind::Avg, {2, 2, 6, 9}, {{2, 3}, {1, 2}, {1, 1}, {1, 1}, true, false}},
    // ---- adaptive_avg_pool2d
    {"adaptive_global", PoolKind::AdaptiveAvg, {2, 3, 7, 7}, {}, {1, 1}},
    {"adaptive_overlapping", PoolKind::AdaptiveAvg, {2, 3, 7, 9}, {}, {3, 4}},
    {"adaptive_larger_output", PoolKind::AdaptiveAvg, {1, 2, 5, 5}, {}, {7, 6}},
    {"adaptive_3d_input", PoolKind::AdaptiveAvg, {3, 10, 10}, {}, {4, 4}},
    {"adaptive_map_1x1", PoolKind::AdaptiveAvg, {2, 3, 1, 1}, {}, {1, 1}},
    // ---- max_pool2d with 1x1 windows (the IR blocks' strided shortcut: a strided copy)
    {"max_k1s2_shortcut", PoolKind::Max, {2, 3, 7, 8}, {{1, 1}, {2, 2}, {0, 0}, {1, 1}, false, true}},
    {"max_k1s3_ceil", PoolKind::Max, {1, 2, 8, 7}, {{1, 1}, {3, 3}, {0, 0}, {1, 1}, true, true}},
};

}  // namespace fk::test
