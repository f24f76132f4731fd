// CUDA nll_loss (declared in cuda/loss.h): NllPick gathers each row's picked log-probability and
// kept flag into double buffers, cuda::sum reduces them on the device (no host round trip), NllFinish
// divides. The backward scatters -dloss / kept to the target entries. Tests: tests/cuda/test_loss.cpp.
#include "cuda/launch.h"
#include "cuda/loss.h"
#include "cuda/loss_kernels.h"
#include "cuda/reduce.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"

namespace fk::cuda {

namespace {
// kept[n] (and picked[n] when wanted) in double on the device, then their sums: (sum, kept count), 0-d
std::pair<Tensor, Tensor> pick_and_count(const Tensor& logp, const Tensor& target, int64_t ignore_index) {
  int64_t N = logp.size(0);
  Tensor picked = empty({N}, DType::Float64, logp.device()), kept = empty({N}, DType::Float64, logp.device());
  dispatch_float(logp.dtype(), "nll_loss", [&]<class T>() {
    launch(N, NllPick<T>{ptr<T>(logp), ptr<int64_t>(target), logp.size(1), ignore_index, ptr<double>(picked),
                         ptr<double>(kept)});
  });
  return {cuda::sum(picked, {}, false), cuda::sum(kept, {}, false)};
}
}  // namespace

Tensor nll_loss(const Tensor& logp, const Tensor& target, int64_t ignore_index) {
  Tensor lc = logp.contiguous(), tc = target.contiguous();
  auto [sum, kept] = pick_and_count(lc, tc, ignore_index);
  Tensor loss = empty({}, logp.dtype(), logp.device());
  dispatch_float(logp.dtype(), "nll_loss", [&]<class T>() {
    launch(1, NllFinish<T>{ptr<double>(sum), ptr<double>(kept), ptr<T>(loss)});
  });
  return loss;
}

Tensor nll_loss_backward(const Tensor& dloss, const Tensor& logp, const Tensor& target, int64_t ignore_index) {
  Tensor lc = logp.contiguous(), tc = target.contiguous();
  Tensor kept = pick_and_count(lc, tc, ignore_index).second;
  Tensor g = dloss.dtype() == logp.dtype() ? dloss.contiguous() : dloss.to(logp.dtype());
  Tensor dlogp = empty(logp.shape(), logp.dtype(), logp.device());
  dispatch_float(logp.dtype(), "nll_loss_backward", [&]<class T>() {
    launch(logp.numel(), NllBackward<T>{ptr<T>(g), ptr<double>(kept), ptr<int64_t>(tc), logp.size(1), ignore_index,
                                        ptr<T>(dlogp)});
  });
  return dlogp;
}

}  // namespace fk::cuda
