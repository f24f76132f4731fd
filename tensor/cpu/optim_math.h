// The per-element updates of the optimisers (layers/optim.h; torch.optim 1.13's single-tensor code
// path), shared by the CPU loops (tensor/cpu/optim.cpp) and the fused CUDA kernels (cuda/optim_kernels.h),
// and the element-wise gradient clipping of clip_grad_norm_ / clip_grad_value_.
// Coefficients are computed once per parameter in double (as torch passes Python floats) and rounded
// to T once (coefs_as<T>).
// Tests: tests/layers/test_optim.cpp (PyTorch fixtures), tests/layers/test_cuda_kernels_optim_heads.cpp
// (the CUDA functors emulated), tests/cuda/test_optim.cpp (GPU vs CPU).
#pragma once

#include <cmath>
#include <cstdint>

#include "tensor/hd.h"

namespace fk::optim {

template <class T>
struct SgdCoefs {
  T lr, weight_decay, momentum, one_minus_dampening;
  bool use_weight_decay, use_momentum, nesterov;
};

// torch's _single_tensor_sgd, one element: d = g + wd*p; buf = d on the first step, else
// buf = momentum*buf + (1 - dampening)*d; d = nesterov ? d + momentum*buf : buf; p -= lr*d.
template <class T>
FK_HD_INLINE void sgd_update_element(T& p, T g, T& buf, bool first_step, const SgdCoefs<T>& c) {
  T d = g;
  if (c.use_weight_decay) d = d + c.weight_decay * p;
  if (c.use_momentum) {
    buf = first_step ? d : buf * c.momentum + c.one_minus_dampening * d;
    d = c.nesterov ? d + c.momentum * buf : buf;
  }
  p = p + (-c.lr) * d;
}

template <class T>
struct AdamCoefs {
  T beta1, one_minus_beta1, beta2, one_minus_beta2, eps;
  T weight_decay;           // Adam: added to the gradient (L2); unused by AdamW
  T decoupled_decay;        // AdamW: p *= 1 - lr*weight_decay before the update; 1 for Adam
  T bias_correction2_sqrt;  // sqrt(1 - beta2^step)
  T neg_step_size;          // -lr / (1 - beta1^step)
  bool use_weight_decay, amsgrad;
};

// torch's _single_tensor_adam / _adamw, one element:
//   (AdamW) p *= 1 - lr*wd;  (Adam) g += wd*p
//   m = beta1*m + (1-beta1)*g;  v = beta2*v + (1-beta2)*g*g;  (amsgrad) vmax = max(vmax, v)
//   p += -lr/(1-beta1^t) * m / (sqrt(v or vmax)/sqrt(1-beta2^t) + eps)
template <class T>
FK_HD_INLINE void adam_update_element(T& p, T g, T& m, T& v, T* vmax, const AdamCoefs<T>& c) {
  p = p * c.decoupled_decay;
  if (c.use_weight_decay) g = g + c.weight_decay * p;
  m = m * c.beta1 + c.one_minus_beta1 * g;
  v = v * c.beta2 + c.one_minus_beta2 * g * g;
  T second = v;
  if (c.amsgrad) {
    *vmax = *vmax < v ? v : *vmax;  // std::max(vmax, v), written out for the device
    second = *vmax;
  }
  T denom = std::sqrt(second) / c.bias_correction2_sqrt + c.eps;
  p = p + c.neg_step_size * m / denom;
}

// The coefficients rounded to T (each double rounded once).
template <class T>
SgdCoefs<T> coefs_as(const SgdCoefs<double>& c) {
  return {T(c.lr), T(c.weight_decay), T(c.momentum), T(c.one_minus_dampening), c.use_weight_decay, c.use_momentum,
          c.nesterov};
}
template <class T>
AdamCoefs<T> coefs_as(const AdamCoefs<double>& c) {
  return {T(c.beta1),        T(c.one_minus_beta1),  T(c.beta2),
          T(c.one_minus_beta2), T(c.eps),           T(c.weight_decay),
          T(c.decoupled_decay), T(c.bias_correction2_sqrt), T(c.neg_step_size),
          c.use_weight_decay, c.amsgrad};
}

// clip_grad_norm_'s scaling and clip_grad_value_'s clamp of one gradient element
template <class T>
FK_HD_INLINE T clip_scale_element(T g, T coef) {
  return g * coef;
}
template <class T>
FK_HD_INLINE T clip_value_element(T g, T clip) {
  return g < -clip ? -clip : (clip < g ? clip : g);  // std::clamp(g, -clip, clip)
}

}  // namespace fk::optim
