// The upsample_bilinear2d cases (STYLE.md §5): by output size or by scale factor, read by the
// PyTorch fixture test (tests/tensor/test_upsample.cpp) and the float64 gradcheck
// (tests/autograd/test_upsample_grad.cpp). tests/fixtures/make_conv_pool.py writes
// tests/fixtures/upsample/<name>_{x,y,dy,dx}.npy for the same rows: keep the two lists in step.
#pragma once

#include <array>
#include <optional>
#include <vector>

#include "tensor/shape.h"

namespace fk::test {

struct UpsampleCase {
  const char* name;
  Shape x;                                      // (N, C, H, W)
  std::array<int64_t, 2> size;                  // output size (when no scale_factor)
  std::optional<std::array<double, 2>> scale;  // scale_factor: output floor(H * s), ratio 1/s
};

inline const std::vector<UpsampleCase> upsample_cases = {
    {"up_size_2x", {2, 3, 4, 5}, {8, 10}, std::nullopt},
    {"up_size_fractional", {1, 2, 5, 7}, {8, 11}, std::nullopt},
    {"down_size", {1, 2, 9, 9}, {4, 5}, std::nullopt},
    {"mixed_size", {1, 2, 6, 4}, {3, 9}, std::nullopt},  // down in H, up in W
    {"from_1x1", {1, 2, 1, 1}, {3, 4}, std::nullopt},
    {"to_1x1", {1, 2, 4, 4}, {1, 1}, std::nullopt},
    {"scale_2", {1, 2, 4, 6}, {0, 0}, std::array<double, 2>{2.0, 2.0}},
    {"scale_fractional", {1, 2, 5, 7}, {0, 0}, std::array<double, 2>{1.7, 2.3}},  // ratio 1/1.7, not 5/8
    {"scale_down_half", {1, 2, 9, 9}, {0, 0}, std::array<double, 2>{0.5, 0.5}},   // ratio 2, not 9/4
    {"scale_same_size", {1, 1, 5, 5}, {0, 0}, std::array<double, 2>{1.1, 1.1}},   // floor(5.5) = 5: a copy
};

}  // namespace fk::test
