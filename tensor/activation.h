// Activations that need more than an element-wise map: PReLU (per channel, dim 1), softmax and
// log_softmax along a dim (max subtracted first: exp never overflows), dropout with the seeded
// generator (torch.nn.functional.prelu / softmax / log_softmax / dropout).
#pragma once

#include "tensor/tensor.h"

namespace fk::ops {

// weight: 1 element (shared) or C elements for x's dim 1
Tensor prelu(const Tensor& x, const Tensor& weight);
struct PreluGrads {
  Tensor dx, dweight;
};
PreluGrads prelu_backward(const Tensor& dy, const Tensor& x, const Tensor& weight);

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
Tensor softmax_backward(const Tensor& dy, const Tensor& y, int64_t dim);      // y: softmax output
Tensor log_softmax_backward(const Tensor& dy, const Tensor& y, int64_t dim);  // y: log_softmax output

// y = x * mask / (1 - p), mask ~ Bernoulli(1 - p) from the default generator; identity when
// !training or p == 0. Returns y and the scaled mask (mask / (1 - p)) that backward multiplies by.
std::pair<Tensor, Tensor> dropout(const Tensor& x, double p, bool training);

}  // namespace fk::ops
