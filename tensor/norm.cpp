// fk::ops::batch_norm and its backward (torch.nn.functional.batch_norm): argument checks, the
// statistics (batch mean and biased variance when training, running stats in eval), the in-place
// running-stat update (running = (1 - momentum) * running + momentum * stat, with the UNBIASED
// variance M/(M-1) * var, M = N * prod(spatial)), then the kernels in tensor/cpu/norm.cpp.
// CUDA tensors go to cuda/norm.cu after the checks. The per-channel math is tensor/cpu/norm_math.h.
// Tested by tests/tensor/test_norm.cpp, tests/autograd/test_norm_grad.cpp and tests/cuda/test_norm.cpp.
#include "tensor/norm.h"

#include <cmath>
#include <vector>

#include "cuda/norm.h"
#include "tensor/cpu/kernels_norm_act.h"
#include "tensor/cpu/norm_math.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"

namespace fk::ops {

// weight/bias/running stats: undefined, or C elements of x's dtype (1-d, like PyTorch's).
static void check_channel_param(const Tensor& p, const Tensor& x, const char* arg) {
  if (!p.defined()) return;
  check_float_input(p, "batch_norm", arg);
  check_same_type(x, p, "batch_norm");
  FK_CHECK(p.dim() == 1 && p.numel() == x.size(1), "batch_norm: ", arg, " should contain ", x.size(1),
           " elements (one per channel), got ", shape_str(p.shape()), " (x=", shape_str(x.shape()), ")");
}

// x as (N, C, S): S is the product of the dims after 1.
static int64_t spatial_size(const Tensor& x) {
  int64_t S = 1;
  for (int64_t d = 2; d < x.dim(); ++d) S *= x.size(d);
  return S;
}

static void check_batch_norm_args(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  const Tensor& running_mean, const Tensor& running_var, bool training) {
  check_float_input(x, "batch_norm", "x");
  FK_CHECK(x.dim() >= 2, "batch_norm: x must be (N, C, ...) with at least 2 dims, got ", shape_str(x.shape()));
  check_channel_param(weight, x, "weight");
  check_channel_param(bias, x, "bias");
  check_channel_param(running_mean, x, "running_mean");
  check_channel_param(running_var, x, "running_var");
  FK_CHECK(training || (running_mean.defined() && running_var.defined()),
           "batch_norm: running_mean and running_var must be defined in evaluation mode (x=", shape_str(x.shape()),
           ")");
  int64_t M = x.size(0) * spatial_size(x);  // values per channel
  // PyTorch checks exactly this (an empty batch passes and returns an empty output)
  FK_CHECK(!training || M != 1, "batch_norm: expected more than 1 value per channel when training, got input size ",
           shape_str(x.shape()));
}

// save_mean and save_invstd of the CPU tensor xc: the batch statistics when training (and the running
// ones updated in place), the running statistics in eval.
static void batch_norm_statistics(const Tensor& xc, Tensor running_mean, Tensor running_var, bool training,
                                  double momentum, double eps, BatchNormResult& r) {
  int64_t N = xc.size(0), C = xc.size(1), S = spatial_size(xc);
  int64_t M = N * S;
  dispatch_float(xc.dtype(), "batch_norm", [&]<class T>() {
    T* mean = r.save_mean.data<T>();
    T* invstd = r.save_invstd.data<T>();
    if (training) {
      if (M == 0) return;  // nothing to normalise, running stats untouched (as PyTorch)
      std::vector<double> bmean(size_t(C), 0.0), bvar(size_t(C), 0.0);
      cpu::batch_norm_stats(xc.data<T>(), N, C, S, bmean.data(), bvar.data());
      for (int64_t c = 0; c < C; ++c) {
        mean[c] = T(bmean[size_t(c)]);
        invstd[c] = T(cpu::bn_invstd(bvar[size_t(c)], eps));
      }
      // running stats are buffers updated in place, through their own strides
      if (running_mean.defined()) {
        T* rm = running_mean.data<T>();
        int64_t st = running_mean.strides()[0];
        for (int64_t c = 0; c < C; ++c)
          rm[c * st] = T(cpu::bn_running_update(double(rm[c * st]), bmean[size_t(c)], momentum));
      }
      if (running_var.defined()) {
        T* rv = running_var.data<T>();
        int64_t st = running_var.strides()[0];
        double unbias = double(M) / double(M - 1);
        for (int64_t c = 0; c < C; ++c)
          rv[c * st] = T(cpu::bn_running_update(double(rv[c * st]), bvar[size_t(c)] * unbias, momentum));
      }
    } else {
      const T* rm = running_mean.data<T>();
      const T* rv = running_var.data<T>();
      int64_t sm = running_mean.strides()[0], sv = running_var.strides()[0];
      for (int64_t c = 0; c < C; ++c) {
        mean[c] = rm[c * sm];
        invstd[c] = T(cpu::bn_invstd(double(rv[c * sv]), eps));
      }
    }
  });
}

// The CPU forward of batch_norm (act false), of batch_norm_act (act true; alpha undefined: ReLU) and of
// batch_norm_add (residual defined): the statistics, then the one kernel that writes the output.
static BatchNormResult batch_norm_cpu(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                                      Tensor running_var, bool training, double momentum, double eps, bool act,
                                      const Tensor& alpha, const Tensor& residual = Tensor()) {
  int64_t N = x.size(0), C = x.size(1), S = spatial_size(x);
  Tensor xc = x.contiguous();
  Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  Tensor a = alpha.defined() ? alpha.contiguous() : Tensor();
  // y not zero-filled: the kernels write every element
  BatchNormResult r{empty_uninitialized(x.shape(), x.dtype()), empty({C}, x.dtype()), empty({C}, x.dtype())};
  batch_norm_statistics(xc, running_mean, running_var, training, momentum, eps, r);
  Tensor rc = residual.defined() ? residual.contiguous() : Tensor();
  dispatch_float(x.dtype(), act ? "batch_norm_act" : "batch_norm", [&]<class T>() {
    const T* wp = w.defined() ? w.data<T>() : nullptr;
    const T* bp = b.defined() ? b.data<T>() : nullptr;
    if (rc.defined())
      cpu::batch_norm_add_forward(xc.data<T>(), r.save_mean.data<T>(), r.save_invstd.data<T>(), wp, bp, rc.data<T>(),
                                  N, C, S, r.y.data<T>());
    else if (act)
      cpu::batch_norm_act_forward(xc.data<T>(), r.save_mean.data<T>(), r.save_invstd.data<T>(), wp, bp,
                                  a.defined() ? a.data<T>() : nullptr, N, C, S, r.y.data<T>());
    else
      cpu::batch_norm_forward(xc.data<T>(), r.save_mean.data<T>(), r.save_invstd.data<T>(), wp, bp, N, C, S,
                              r.y.data<T>());
  });
  return r;
}

BatchNormResult batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                           Tensor running_var, bool training, double momentum, double eps) {
  check_batch_norm_args(x, weight, bias, running_mean, running_var, training);
  if constexpr (kWithCuda) {
    if (x.device().is_cuda()) return cuda::batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps);
  }
  return batch_norm_cpu(x, weight, bias, running_mean, running_var, training, momentum, eps, false, Tensor());
}

// alpha: undefined (ReLU) or C slopes of x's dtype and device
static void check_alpha(const Tensor& alpha, const Tensor& x, const char* op) {
  if (!alpha.defined()) return;
  check_float_input(alpha, op, "alpha");
  check_same_type(x, alpha, op);
  FK_CHECK(alpha.numel() == x.size(1), op, ": alpha should hold ", x.size(1), " slopes (one per channel), got ",
           shape_str(alpha.shape()), " (x=", shape_str(x.shape()), ")");
}

BatchNormResult batch_norm_act(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                               Tensor running_var, bool training, double momentum, double eps, const Tensor& alpha) {
  check_batch_norm_args(x, weight, bias, running_mean, running_var, training);
  check_alpha(alpha, x, "batch_norm_act");
  FK_CHECK(x.device().is_cpu(), "batch_norm_act: CPU tensors only, got x on ", x.device().str(),
           " (compose batch_norm and prelu / relu there)");
  return batch_norm_cpu(x, weight, bias, running_mean, running_var, training, momentum, eps, true, alpha);
}

BatchNormResult batch_norm_add(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                               Tensor running_var, bool training, double momentum, double eps, const Tensor& residual) {
  check_batch_norm_args(x, weight, bias, running_mean, running_var, training);
  check_float_input(residual, "batch_norm_add", "residual");
  check_same_type(x, residual, "batch_norm_add");
  FK_CHECK(residual.shape() == x.shape(), "batch_norm_add: residual ", shape_str(residual.shape()), " must match x ",
           shape_str(x.shape()));
  FK_CHECK(x.device().is_cpu(), "batch_norm_add: CPU tensors only, got x on ", x.device().str(),
           " (compose batch_norm and add there)");
  return batch_norm_cpu(x, weight, bias, running_mean, running_var, training, momentum, eps, false, Tensor(), residual);
}

static void check_backward_args(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                                const Tensor& save_invstd, const char* op) {
  check_float_input(dy, op, "dy");
  check_float_input(x, op, "x");
  check_same_type(dy, x, op);
  FK_CHECK(x.dim() >= 2 && dy.shape() == x.shape(), op, ": dy ", shape_str(dy.shape()), " must match x ",
           shape_str(x.shape()), " (N, C, ...)");
  const int64_t C = x.size(1);
  for (const Tensor* p : {&weight, &save_mean, &save_invstd}) {
    if (!p->defined() && p == &weight) continue;
    FK_CHECK(p->defined() && p->numel() == C && p->dtype() == x.dtype(), op, ": weight/save_mean/",
             "save_invstd must hold ", C, " values of ", dtype_name(x.dtype()), " (x=", shape_str(x.shape()), ")");
  }
  for (const Tensor* p : {&weight, &save_mean, &save_invstd})
    FK_CHECK(!p->defined() || p->device() == x.device(), op, ": weight/save_mean/save_invstd on ", p->device().str(),
             ", x on ", x.device().str());
}

BatchNormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                                   const Tensor& save_invstd, bool training) {
  check_backward_args(dy, x, weight, save_mean, save_invstd, "batch_norm_backward");
  int64_t N = x.size(0), C = x.size(1), S = spatial_size(x);
  if constexpr (kWithCuda) {
    if (x.device().is_cuda()) return cuda::batch_norm_backward(dy, x, weight, save_mean, save_invstd, training);
  }
  Tensor dyc = dy.contiguous(), xc = x.contiguous(), mean = save_mean.contiguous(), invstd = save_invstd.contiguous();
  Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  BatchNormGrads g{empty_uninitialized(x.shape(), x.dtype()), empty({C}, x.dtype()), empty({C}, x.dtype())};  // dx: all written
  dispatch_float(x.dtype(), "batch_norm_backward", [&]<class T>() {
    cpu::batch_norm_backward(dyc.data<T>(), xc.data<T>(), mean.data<T>(), invstd.data<T>(),
                             w.defined() ? w.data<T>() : nullptr, N, C, S, training, g.dx.data<T>(),
                             g.dweight.data<T>(), g.dbias.data<T>());
  });
  return g;
}

BatchNormActGrads batch_norm_act_backward(const Tensor& dz, const Tensor& x, const Tensor& weight, const Tensor& bias,
                                          const Tensor& alpha, const Tensor& save_mean, const Tensor& save_invstd,
                                          bool training) {
  check_backward_args(dz, x, weight, save_mean, save_invstd, "batch_norm_act_backward");
  check_alpha(alpha, x, "batch_norm_act_backward");
  FK_CHECK(x.device().is_cpu(), "batch_norm_act_backward: CPU tensors only, got x on ", x.device().str());
  int64_t N = x.size(0), C = x.size(1), S = spatial_size(x);
  FK_CHECK(!bias.defined() || (bias.numel() == C && bias.dtype() == x.dtype()), "batch_norm_act_backward: bias must ",
           "hold ", C, " values of ", dtype_name(x.dtype()));
  Tensor dzc = dz.contiguous(), xc = x.contiguous(), mean = save_mean.contiguous(), invstd = save_invstd.contiguous();
  Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  Tensor a = alpha.defined() ? alpha.contiguous() : Tensor();
  BatchNormActGrads g{empty_uninitialized(x.shape(), x.dtype()), empty({C}, x.dtype()), empty({C}, x.dtype()),
                      a.defined() ? empty(alpha.shape(), x.dtype()) : Tensor()};  // all written
  dispatch_float(x.dtype(), "batch_norm_act_backward", [&]<class T>() {
    cpu::batch_norm_act_backward(dzc.data<T>(), xc.data<T>(), mean.data<T>(), invstd.data<T>(),
                                 w.defined() ? w.data<T>() : nullptr, b.defined() ? b.data<T>() : nullptr,
                                 a.defined() ? a.data<T>() : nullptr, N, C, S, training, g.dx.data<T>(),
                                 g.dweight.data<T>(), g.dbias.data<T>(), a.defined() ? g.dalpha.data<T>() : nullptr);
  });
  return g;
}

}  // namespace fk::ops
