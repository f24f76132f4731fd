// The nll_loss / cross_entropy cases (STYLE.md §5): one row per configuration, read by the PyTorch
// fixture test (tests/tensor/test_loss.cpp) and the float64 gradcheck (tests/autograd/test_loss_grad.cpp).
// tests/fixtures/make_norm_act_loss.py writes tests/fixtures/loss/<name>_*.npy for the same rows
// (input x, int64 target, loss, dx = d loss / d x): keep the two lists in step.
#pragma once

#include <vector>

#include "tensor/shape.h"

namespace fk::test {

struct LossCase {
  const char* name;
  bool cross_entropy;    // x holds logits (cross_entropy) or log-probabilities (nll_loss)
  int64_t N, C;
  int64_t ignore_index;  // targets equal to it are left out of sum and count
};

inline const std::vector<LossCase> loss_cases = {
    {"nll_basic", false, 6, 5, -100},
    {"nll_ignore", false, 8, 4, 2},         // some targets are class 2, ignored
    {"nll_ignore_neg", false, 5, 3, -1},    // two targets are -1, ignored
    {"nll_all_ignored", false, 3, 4, -100}, // every target ignored: NaN loss, zero gradient
    {"nll_n1", false, 1, 3, -100},
    {"ce_basic", true, 6, 5, -100},
    {"ce_ignore", true, 7, 4, 0},
    {"ce_large_logits", true, 4, 6, -100},  // logits around +-1000
    {"ce_n1", true, 1, 2, -100},
};

}  // namespace fk::test
