// Negative log-likelihood with mean reduction (torch.nn.functional.nll_loss): input (N,C) of
// log-probabilities, target (N) int64 class indices in [0, C); entries equal to ignore_index are
// left out of both sum and count. cross_entropy = nll_loss(log_softmax(x, 1)).
#pragma once

#include "tensor/tensor.h"

namespace fk::ops {

Tensor nll_loss(const Tensor& logp, const Tensor& target, int64_t ignore_index = -100);
Tensor nll_loss_backward(const Tensor& dloss, const Tensor& logp, const Tensor& target, int64_t ignore_index = -100);

}  // namespace fk::ops
