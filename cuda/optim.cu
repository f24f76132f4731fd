// Fused CUDA optimiser updates and gradient clipping (declared in cuda/optim.h): one thread per element,
// the functors of cuda/optim_kernels.h. Tested by tests/cuda/test_optim.cpp.
#include "cuda/optim.h"

#include "cuda/launch.h"
#include "cuda/optim_kernels.h"
#include "tensor/dispatch.h"

namespace fk::cuda {

void sgd_update(const Tensor& p, const Tensor& g, const Tensor& buf, bool first_step,
                const optim::SgdCoefs<double>& c) {
  dispatch_float(p.dtype(), "SGD", [&]<class T>() {
    launch(p.numel(),
           SgdUpdate<T>{ptr<T>(p), ptr<T>(g), buf.defined() ? ptr<T>(buf) : nullptr, first_step,
                        optim::coefs_as<T>(c)},
           p.device().index);
  });
}

void adam_update(const Tensor& p, const Tensor& g, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                 const Tensor& max_exp_avg_sq, const optim::AdamCoefs<double>& c) {
  dispatch_float(p.dtype(), "Adam", [&]<class T>() {
    launch(p.numel(),
           AdamUpdate<T>{ptr<T>(p), ptr<T>(g), ptr<T>(exp_avg), ptr<T>(exp_avg_sq),
                         max_exp_avg_sq.defined() ? ptr<T>(max_exp_avg_sq) : nullptr, optim::coefs_as<T>(c)},
           p.device().index);
  });
}

void clip_scale_(const Tensor& g, double coef) {
  dispatch_float(g.dtype(), "clip_grad_norm_", [&]<class T>() {
    launch(g.numel(), ClipScale<T>{ptr<T>(g), T(coef)}, g.device().index);
  });
}

void clip_value_(const Tensor& g, double clip) {
  dispatch_float(g.dtype(), "clip_grad_value_", [&]<class T>() {
    launch(g.numel(), ClipValue<T>{ptr<T>(g), T(clip)}, g.device().index);
  });
}

}  // namespace fk::cuda
