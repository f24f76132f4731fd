// The optimiser ops (see optim_update.h): checks, then one CPU pass over all the tensors
// (tensor/cpu/optim.cpp) or one CUDA kernel per tensor (cuda/optim.cu).
#include "tensor/optim_update.h"

#include <string>

#include "cuda/optim.h"
#include "tensor/cpu/optim.h"
#include "tensor/dispatch.h"
#include "tensor/elementwise.h"

namespace fk::ops {

namespace {

// Each list has one tensor per parameter (or, for `optional` lists, none), every tensor contiguous,
// float32/float64, of its parameter's dtype, shape and device; the parameters share one dtype and are
// all on the CPU or all on GPUs. Returns whether they are on the CPU.
bool check_lists(const char* op, const std::vector<Tensor>& params,
                 const std::vector<std::pair<const char*, const std::vector<Tensor>*>>& lists) {
  const bool cpu = params.empty() || params[0].device().is_cpu();
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    FK_CHECK(p.defined() && p.is_contiguous() && is_compute_float(p.dtype()), op, ": parameter ", i,
             " must be a contiguous float32/float64 tensor, got ", p.defined() ? p.str() : "undefined");
    FK_CHECK(p.dtype() == params[0].dtype() && p.device().is_cpu() == cpu, op, ": parameter ", i, " is ", p.str(),
             ", parameter 0 ", params[0].str(), " (one dtype, all on the CPU or all on GPUs)");
  }
  for (const auto& [name, list] : lists) {
    if (list->empty()) continue;
    FK_CHECK(list->size() == params.size(), op, ": ", list->size(), " ", name, " for ", params.size(), " parameters");
    for (size_t i = 0; i < params.size(); ++i) {
      const Tensor& t = (*list)[i];
      FK_CHECK(t.defined() && t.is_contiguous() && t.dtype() == params[i].dtype() && t.device() == params[i].device() &&
                   t.shape() == params[i].shape(),
               op, ": ", name, " ", i, " (", t.defined() ? t.str() : "undefined",
               ") must be contiguous with the dtype, shape and device of its parameter ", params[i].str());
    }
  }
  return cpu;
}

template <class T>
cpu::Segments<T> segments(const std::vector<Tensor>& p, const std::vector<Tensor>* g, const std::vector<Tensor>* s0,
                          const std::vector<Tensor>* s1, const std::vector<Tensor>* s2) {
  cpu::Segments<T> s;
  for (size_t i = 0; i < p.size(); ++i) {
    s.p.push_back(p[i].data<T>());
    s.starts.push_back(s.starts.back() + p[i].numel());
    if (g) s.g.push_back((*g)[i].data<T>());
    if (s0 && !s0->empty()) s.state0.push_back((*s0)[i].data<T>());
    if (s1 && !s1->empty()) s.state1.push_back((*s1)[i].data<T>());
    if (s2 && !s2->empty()) s.state2.push_back((*s2)[i].data<T>());
  }
  return s;
}

}  // namespace

void sgd_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                const std::vector<Tensor>& momentum_buffers, bool first_step, const optim::SgdCoefs<double>& c) {
  FK_CHECK(grads.size() == params.size(), "sgd_update: ", grads.size(), " gradients for ", params.size(), " parameters");
  FK_CHECK(c.use_momentum == !momentum_buffers.empty() || params.empty(), "sgd_update: ",
           c.use_momentum ? "momentum needs a buffer per parameter" : "momentum buffers given without momentum");
  [[maybe_unused]] const bool cpu = check_lists("sgd_update", params, {{"gradient", &grads}, {"momentum buffer", &momentum_buffers}});
  if (params.empty()) return;
  if constexpr (kWithCuda) {
    if (!cpu) {
      for (size_t i = 0; i < params.size(); ++i)
        cuda::sgd_update(params[i], grads[i], c.use_momentum ? momentum_buffers[i] : Tensor(), first_step, c);
      return;
    }
  }
  dispatch_float(params[0].dtype(), "sgd_update", [&]<class T>() {
    cpu::sgd_update(segments<T>(params, &grads, &momentum_buffers, nullptr, nullptr), first_step, optim::coefs_as<T>(c));
  });
}

void adam_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                 const std::vector<Tensor>& exp_avg, const std::vector<Tensor>& exp_avg_sq,
                 const std::vector<Tensor>& max_exp_avg_sq, const optim::AdamCoefs<double>& c) {
  FK_CHECK(grads.size() == params.size() && exp_avg.size() == params.size() && exp_avg_sq.size() == params.size(),
           "adam_update: every parameter needs a gradient, exp_avg and exp_avg_sq");
  FK_CHECK(c.amsgrad == !max_exp_avg_sq.empty() || params.empty(), "adam_update: ",
           c.amsgrad ? "amsgrad needs max_exp_avg_sq per parameter" : "max_exp_avg_sq given without amsgrad");
  [[maybe_unused]] const bool cpu = check_lists("adam_update", params,
                               {{"gradient", &grads}, {"exp_avg", &exp_avg}, {"exp_avg_sq", &exp_avg_sq},
                                {"max_exp_avg_sq", &max_exp_avg_sq}});
  if (params.empty()) return;
  if constexpr (kWithCuda) {
    if (!cpu) {
      for (size_t i = 0; i < params.size(); ++i)
        cuda::adam_update(params[i], grads[i], exp_avg[i], exp_avg_sq[i], c.amsgrad ? max_exp_avg_sq[i] : Tensor(), c);
      return;
    }
  }
  dispatch_float(params[0].dtype(), "adam_update", [&]<class T>() {
    cpu::adam_update(segments<T>(params, &grads, &exp_avg, &exp_avg_sq, &max_exp_avg_sq), optim::coefs_as<T>(c));
  });
}

void clip_scale_(const std::vector<Tensor>& grads, double coef) {
  if (grads.empty()) return;
  [[maybe_unused]] const bool cpu = check_lists("clip_scale_", grads, {});
  if constexpr (kWithCuda) {
    if (!cpu) {
      for (const Tensor& g : grads) cuda::clip_scale_(g, coef);
      return;
    }
  }
  dispatch_float(grads[0].dtype(), "clip_scale_", [&]<class T>() {
    cpu::clip_scale(segments<T>(grads, nullptr, nullptr, nullptr, nullptr), T(coef));
  });
}

void clip_value_(const std::vector<Tensor>& grads, double clip) {
  if (grads.empty()) return;
  [[maybe_unused]] const bool cpu = check_lists("clip_value_", grads, {});
  if constexpr (kWithCuda) {
    if (!cpu) {
      for (const Tensor& g : grads) cuda::clip_value_(g, clip);
      return;
    }
  }
  dispatch_float(grads[0].dtype(), "clip_value_", [&]<class T>() {
    cpu::clip_value(segments<T>(grads, nullptr, nullptr, nullptr, nullptr), T(clip));
  });
}

void zero_(const std::vector<Tensor>& tensors) {
  std::vector<void*> data;
  std::vector<int64_t> starts{0};
  std::vector<size_t> elem;
  for (const Tensor& t : tensors) {
    FK_CHECK(t.defined(), "zero_: an undefined tensor");
    if (t.is_contiguous() && t.device().is_cpu()) {
      data.push_back(t.raw_data());
      starts.push_back(starts.back() + t.numel());
      elem.push_back(dtype_size(t.dtype()));
    } else {
      Tensor view = t;  // the same storage
      fill_(view, 0.0);
    }
  }
  cpu::zero_bytes(data, starts, elem);
}

}  // namespace fk::ops
