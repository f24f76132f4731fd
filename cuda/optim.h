// Fused CUDA optimiser updates, the twins of the CPU loops of tensor/cpu/optim.cpp, called by the ops
// of tensor/optim_update.h after their checks: one kernel launch per parameter tensor updates it and
// its state in place. Arguments are contiguous CUDA float32/float64 tensors of the parameter's dtype,
// shape and device (checked by the op);
// coefficients arrive in double and are rounded to the dtype once (optim::coefs_as). Also the in-place
// gradient clipping. Kernels: cuda/optim_kernels.h; math: tensor/cpu/optim_math.h.
// Tests: tests/cuda/test_optim.cpp.
#pragma once

#include "tensor/cpu/optim_math.h"
#include "tensor/tensor.h"

namespace fk::cuda {

// torch's SGD step for one parameter; buf undefined without momentum
void sgd_update(const Tensor& p, const Tensor& g, const Tensor& buf, bool first_step,
                const optim::SgdCoefs<double>& c);
// torch's Adam / AdamW step for one parameter; max_exp_avg_sq undefined without amsgrad
void adam_update(const Tensor& p, const Tensor& g, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                 const Tensor& max_exp_avg_sq, const optim::AdamCoefs<double>& c);
// g *= coef, in place (clip_grad_norm_)
void clip_scale_(const Tensor& g, double coef);
// g = clamp(g, -clip, clip), in place (clip_grad_value_)
void clip_value_(const Tensor& g, double clip);

}  // namespace fk::cuda
