// The fused optimiser kernels (cuda/optim.cu) as per-index functors: one thread per parameter element
// updates the parameter and its state in place, with the per-element math of tensor/cpu/optim_math.h
// (shared with the CPU loops of layers/optim.cpp); and the in-place gradient clipping of
// clip_grad_norm_ / clip_grad_value_. Every buffer is contiguous with the parameter's numel.
// Run by emulate() in tests/layers/test_cuda_kernels_optim_heads.cpp.
#pragma once

#include <cmath>
#include <cstdint>

#include "cuda/launch.h"
#include "tensor/cpu/optim_math.h"
#include "tensor/hd.h"

namespace fk::cuda {

template <class T>
struct SgdUpdate {
  T* p;
  const T* g;
  T* buf;  // momentum buffer, null without momentum
  bool first_step;
  optim::SgdCoefs<T> c;
  FK_HD_INLINE void operator()(int64_t i) const {
    T unused = T(0);
    optim::sgd_update_element(p[i], g[i], buf ? buf[i] : unused, first_step, c);
  }
};

template <class T>
struct AdamUpdate {
  T* p;
  const T* g;
  T* exp_avg;
  T* exp_avg_sq;
  T* max_exp_avg_sq;  // null without amsgrad
  optim::AdamCoefs<T> c;
  FK_HD_INLINE void operator()(int64_t i) const {
    optim::adam_update_element(p[i], g[i], exp_avg[i], exp_avg_sq[i], max_exp_avg_sq ? max_exp_avg_sq + i : nullptr,
                               c);
  }
};

// g *= coef (clip_grad_norm_)
template <class T>
struct ClipScale {
  T* g;
  T coef;
  FK_HD_INLINE void operator()(int64_t i) const { g[i] = optim::clip_scale_element(g[i], coef); }
};

// g = clamp(g, -clip, clip) (clip_grad_value_)
template <class T>
struct ClipValue {
  T* g;
  T clip;
  FK_HD_INLINE void operator()(int64_t i) const { g[i] = optim::clip_value_element(g[i], clip); }
};

}  // namespace fk::cuda
