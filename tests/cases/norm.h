// The batch_norm cases (STYLE.md §5): one row per configuration, read by the PyTorch fixture test
// (tests/tensor/test_norm.cpp) and the float64 gradcheck (tests/autograd/test_norm_grad.cpp).
// tests/fixtures/make_norm_act_loss.py writes tests/fixtures/norm/<name>_*.npy for the same rows:
// keep the two lists in step (the fixture test checks the stored x has the row's shape).
#pragma once

#include <vector>

#include "tensor/shape.h"

namespace fk::test {

struct BatchNormCase {
  const char* name;
  Shape x;        // (N, C), (N, C, L) or (N, C, H, W)
  bool affine;    // weight and bias defined
  bool training;  // batch statistics (and running-stat update) vs running statistics
  double momentum;
  double eps;
};

inline const std::vector<BatchNormCase> batch_norm_cases = {
    {"bn_nc_train", {8, 5}, true, true, 0.1, 1e-5},
    {"bn_ncl_train", {4, 3, 6}, true, true, 0.1, 1e-5},
    {"bn_nchw_train", {2, 4, 5, 5}, true, true, 0.3, 1e-3},
    {"bn_nchw_train_plain", {3, 2, 4, 4}, false, true, 0.1, 1e-5},
    {"bn_two_values", {2, 3}, true, true, 0.1, 1e-5},          // N*H*W = 2, the fewest training allows
    {"bn_1x1_map", {2, 3, 1, 1}, true, true, 0.5, 1e-5},       // 1x1 spatial
    {"bn_offset_mean", {6, 3, 2, 2}, true, true, 0.1, 1e-5},   // |mean| = 10 >> std
    {"bn_nchw_eval", {2, 4, 5, 5}, true, false, 0.1, 1e-5},
    {"bn_nc_eval_plain", {5, 3}, false, false, 0.1, 1e-5},
    {"bn_eval_one_value", {1, 3}, true, false, 0.1, 1e-5},     // one value per channel is fine in eval
};

}  // namespace fk::test
