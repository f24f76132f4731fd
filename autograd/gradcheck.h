// fk::autograd::gradcheck: compares the gradients backward() computes with central finite
// differences in float64 (torch.autograd.gradcheck, on a scalar projection of the output).
//
// For a random fixed g (same shape as f's output) it checks d/dx sum(f(x) * g) for every input
// that requires grad:  numeric = (F(x + eps) - F(x - eps)) / (2 eps),  pass when
// |analytic - numeric| <= atol + rtol * |numeric| everywhere. Every input's .grad is first set to
// a known random value and expected back as that value plus the gradient, which proves backward
// accumulates and catches a backward that writes nothing. A check where every analytic gradient is
// exactly 0 and every numeric one within atol of 0 proves nothing (a graph cut off from its inputs, a
// constant output): it fails unless allow_zero says zero is the right answer.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace fk::autograd {

struct GradcheckResult {
  bool ok = true;
  std::string message;  // on failure: input, shapes, first bad index, analytic vs numeric, max error
  explicit operator bool() const { return ok; }
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

// `inputs` must be contiguous float64 leaves; those with requires_grad are checked. `f` must be
// deterministic (reseed inside it if it draws random numbers).
GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, double eps = 1e-6,
                          double atol = 1e-5, double rtol = 1e-3, bool allow_zero = false);

}  // namespace fk::autograd
