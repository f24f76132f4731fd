// Cases for the element-wise ops: shape pairs that exercise NumPy broadcasting, read by the
// forward tests (tests/tensor/test_elementwise.cpp) and the gradchecks (tests/autograd/).
#pragma once

#include <vector>

#include "tensor/shape.h"

namespace fk::test {

struct BroadcastCase {
  const char* name;
  Shape a, b;
};

inline const std::vector<BroadcastCase> kBroadcastCases = {
    {"same shape", {2, 3}, {2, 3}},
    {"row vector", {3, 4}, {4}},
    {"column", {3, 4}, {3, 1}},
    {"both ways", {3, 1}, {1, 4}},
    {"scalar tensor", {2, 3}, {}},
    {"NCHW + per-channel", {2, 3, 2, 2}, {3, 1, 1}},
    {"leading dims", {4}, {2, 3, 4}},
};

}  // namespace fk::test
