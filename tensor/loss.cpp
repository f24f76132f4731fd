// fk::ops::nll_loss and its backward (torch.nn.functional.nll_loss, reduction='mean'): checks the
// shapes and every target (in [0, C) or equal to ignore_index, else an error naming the value and
// its index), then the kernels in tensor/cpu/loss.cpp. cross_entropy is composed in autograd/loss.cpp.
// CUDA tensors (logp and target on one GPU) go to cuda/loss.cu after the checks.
// Tested by tests/tensor/test_loss.cpp, tests/autograd/test_loss_grad.cpp and tests/cuda/test_loss.cpp.
#include "tensor/loss.h"

#include "cuda/loss.h"
#include "tensor/cpu/kernels_norm_act.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"

namespace fk::ops {

static void check_nll_args(const Tensor& logp, const Tensor& target, int64_t ignore_index, const char* op) {
  check_float_input(logp, op, "logp");
  FK_CHECK(logp.dim() == 2, op, ": logp must be (N, C), got ", shape_str(logp.shape()));
  FK_CHECK(target.defined(), op, ": target is an undefined tensor");
  FK_CHECK(target.device() == logp.device(), op, ": target is on ", target.device().str(), " but logp is on ",
           logp.device().str());
  FK_CHECK(target.dtype() == DType::Int64, op, ": target must be int64 class indices, got ", target.str());
  FK_CHECK(target.dim() == 1 && target.size(0) == logp.size(0), op, ": target ", shape_str(target.shape()),
           " must be (N) for logp ", shape_str(logp.shape()));
  int64_t C = logp.size(1);
  // the range check reads the targets on the CPU (a copy of N int64 for a CUDA target)
  Tensor t = target.to(Device::cpu()).contiguous();
  const int64_t* tp = t.data<int64_t>();
  for (int64_t n = 0; n < t.numel(); ++n)
    FK_CHECK(tp[n] == ignore_index || (tp[n] >= 0 && tp[n] < C), op, ": target ", tp[n], " at index ", n,
             " is out of bounds for ", C, " classes (logp=", shape_str(logp.shape()), ", ignore_index=",
             ignore_index, ")");
}

Tensor nll_loss(const Tensor& logp, const Tensor& target, int64_t ignore_index) {
  check_nll_args(logp, target, ignore_index, "nll_loss");
  if constexpr (kWithCuda) {
    if (logp.device().is_cuda()) return cuda::nll_loss(logp, target, ignore_index);
  }
  Tensor lc = logp.contiguous(), tc = target.contiguous();
  Tensor loss = empty({}, logp.dtype());
  dispatch_float(logp.dtype(), "nll_loss", [&]<class T>() {
    *loss.data<T>() = cpu::nll_loss_forward(lc.data<T>(), tc.data<int64_t>(), lc.size(0), lc.size(1), ignore_index);
  });
  return loss;
}

Tensor nll_loss_backward(const Tensor& dloss, const Tensor& logp, const Tensor& target, int64_t ignore_index) {
  check_nll_args(logp, target, ignore_index, "nll_loss_backward");
  check_float_input(dloss, "nll_loss_backward", "dloss");
  FK_CHECK(dloss.numel() == 1, "nll_loss_backward: dloss must hold one value, got ", shape_str(dloss.shape()));
  if (logp.device().is_cuda())
    FK_CHECK(dloss.device() == logp.device(), "nll_loss_backward: dloss is on ", dloss.device().str(),
             " but logp is on ", logp.device().str());
  if constexpr (kWithCuda) {
    if (logp.device().is_cuda()) return cuda::nll_loss_backward(dloss, logp, target, ignore_index);
  }
  Tensor tc = target.contiguous();
  Tensor dlogp = empty(logp.shape(), logp.dtype());
  dispatch_float(logp.dtype(), "nll_loss_backward", [&]<class T>() {
    cpu::nll_loss_backward(T(dloss.item()), tc.data<int64_t>(), logp.size(0), logp.size(1), ignore_index,
                           dlogp.data<T>());
  });
  return dlogp;
}

}  // namespace fk::ops
