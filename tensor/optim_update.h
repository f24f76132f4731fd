// The optimisers' in-place updates as ops (layers/optim.h builds its steps on them): SGD and Adam /
// AdamW over a list of parameters, the gradient clipping of clip_grad_norm_ / clip_grad_value_, and
// zeroing a list of gradients. The per-element math is tensor/cpu/optim_math.h (torch.optim 1.13's
// single-tensor code path), coefficients computed in double and rounded to the dtype once.
// Each op checks its tensors (every list the same length; each tensor contiguous, float32/float64,
// with its parameter's dtype, shape and device; all on the CPU or all on GPUs), then on the CPU takes
// the elements of all the tensors as one range split evenly over the threads in one parallel region
// (tensor/cpu/optim.cpp: a group of ~160 IR-50 tensors, most of them BatchNorm vectors, is one pass,
// not 160 small loops), or on a GPU launches the fused kernel per tensor (cuda/optim.cu). Every element
// is computed on its own, so the bits do not depend on how the range is split.
// Tests: tests/layers/test_optim.cpp (PyTorch fixtures, through the optimisers),
// tests/layers/test_optim_fused.cpp (a group in one call vs one tensor at a time, bit for bit),
// tests/tensor/test_optim_update.cpp, tests/cuda/test_optim.cpp.
#pragma once

#include <vector>

#include "tensor/cpu/optim_math.h"
#include "tensor/tensor.h"

namespace fk::ops {

// torch's SGD step for each params[i] from grads[i]; momentum_buffers: one per parameter when
// c.use_momentum (first_step: each buffer takes the gradient), else empty.
void sgd_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                const std::vector<Tensor>& momentum_buffers, bool first_step, const optim::SgdCoefs<double>& c);
// torch's Adam / AdamW step; max_exp_avg_sq: one per parameter when c.amsgrad, else empty.
void adam_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                 const std::vector<Tensor>& exp_avg, const std::vector<Tensor>& exp_avg_sq,
                 const std::vector<Tensor>& max_exp_avg_sq, const optim::AdamCoefs<double>& c);
// g *= coef for each gradient (clip_grad_norm_), in place
void clip_scale_(const std::vector<Tensor>& grads, double coef);
// g = clamp(g, -clip, clip) for each gradient (clip_grad_value_), in place
void clip_value_(const std::vector<Tensor>& grads, double clip);
// Every tensor set to zero, in place: contiguous CPU tensors of any dtype in one parallel pass,
// others one by one.
void zero_(const std::vector<Tensor>& tensors);

}  // namespace fk::ops
