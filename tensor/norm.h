// Batch normalisation (torch.nn.functional.batch_norm) over dim 1 of (N,C), (N,C,L) or (N,C,H,W).
// training: normalise with the batch mean and biased variance, and update the running stats as
//   running = (1 - momentum) * running + momentum * stat   (running_var gets the UNBIASED variance);
// eval: normalise with the running stats. weight/bias/running stats may be undefined.
#pragma once

#include "tensor/tensor.h"

namespace fk::ops {

struct BatchNormResult {
  Tensor y;
  Tensor save_mean;    // (C) mean used for normalising
  Tensor save_invstd;  // (C) 1/sqrt(var + eps) used for normalising
};

BatchNormResult batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                           Tensor running_var, bool training, double momentum = 0.1, double eps = 1e-5);

struct BatchNormGrads {
  Tensor dx, dweight, dbias;
};
// training: the statistics depend on x (full formula); eval: they are constants.
BatchNormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                                   const Tensor& save_mean, const Tensor& save_invstd, bool training);

// prelu(batch_norm(x), alpha) with alpha's C slopes, or relu(batch_norm(x)) when alpha is undefined,
// in one pass over memory (CPU only): the same statistics, running-stat update and output bits as the
// two ops; y (the batch-norm output) is not stored, backward recomputes it from x.
BatchNormResult batch_norm_act(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                               Tensor running_var, bool training, double momentum, double eps, const Tensor& alpha);
// batch_norm(x) + residual in one pass over memory (CPU only; residual of x's shape and type): the same
// statistics, running-stat update and output bits as the two ops, without storing the batch-norm
// output. Its gradients are batch_norm_backward's with dz as dy, and dz for the residual.
BatchNormResult batch_norm_add(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                               Tensor running_var, bool training, double momentum, double eps, const Tensor& residual);
struct BatchNormActGrads {
  Tensor dx, dweight, dbias, dalpha;  // dalpha undefined for ReLU
};
BatchNormActGrads batch_norm_act_backward(const Tensor& dz, const Tensor& x, const Tensor& weight, const Tensor& bias,
                                          const Tensor& alpha, const Tensor& save_mean, const Tensor& save_invstd,
                                          bool training);

}  // namespace fk::ops
