// The prelu / softmax / log_softmax / normalize cases (STYLE.md §5): one row per configuration,
// read by the PyTorch fixture test (tests/tensor/test_activation.cpp) and the float64 gradcheck
// (tests/autograd/test_activation_grad.cpp). tests/fixtures/make_norm_act_loss.py writes
// tests/fixtures/activation/<name>_*.npy for the same rows: keep the two lists in step.
#pragma once

#include <vector>

#include "tensor/shape.h"

namespace fk::test {

struct PreluCase {
  const char* name;
  Shape x;
  int64_t weights;  // 1 (shared) or the channel count x.size(1)
};

inline const std::vector<PreluCase> prelu_cases = {
    {"prelu_nc_shared", {4, 6}, 1},          {"prelu_nc_channel", {4, 6}, 6},
    {"prelu_ncl_channel", {2, 4, 3}, 4},     {"prelu_nchw_shared", {2, 3, 4, 5}, 1},
    {"prelu_nchw_channel", {2, 3, 4, 5}, 3}, {"prelu_1d", {7}, 1},
};

struct SoftmaxCase {
  const char* name;
  Shape x;
  int64_t dim;
  bool large;  // logits around +-1000 (the fixture's rows): exp would overflow without the max shift
};

inline const std::vector<SoftmaxCase> softmax_cases = {
    {"softmax_1d", {7}, 0, false},
    {"softmax_2d_dim1", {4, 7}, 1, false},
    {"softmax_2d_dim0", {4, 7}, 0, false},
    {"softmax_3d_dim2", {2, 3, 5}, 2, false},
    {"softmax_3d_dim-2", {2, 3, 5}, -2, false},
    {"softmax_4d_dim1", {2, 3, 4, 5}, 1, false},
    {"softmax_4d_dim-1", {2, 3, 4, 5}, -1, false},
    {"softmax_4d_dim0", {2, 3, 4, 5}, 0, false},
    {"softmax_large", {4, 6}, 1, true},
};

struct NormalizeCase {
  const char* name;
  Shape x;
  int64_t dim;
  double eps;
  bool zero_slice;  // the fixture zeroes x[0] along dim 0 (one slice has norm 0 < eps)
};

inline const std::vector<NormalizeCase> normalize_cases = {
    {"normalize_2d", {4, 6}, 1, 1e-12, false},
    {"normalize_2d_zero_row", {3, 5}, 1, 1e-12, true},
    {"normalize_3d_dim0", {3, 4, 2}, 0, 1e-12, false},
    {"normalize_4d_dim1", {2, 3, 4, 4}, 1, 1e-12, false},
    {"normalize_big_eps", {4, 3}, -1, 1.0, false},  // x scaled by 0.3: most rows have norm < eps
};

}  // namespace fk::test
