// CPU kernels of nll_loss with mean reduction (declared in tensor/cpu/kernels_norm_act.h), matching
// torch.nn.functional.nll_loss(logp, target, ignore_index=..., reduction='mean'):
//   loss = -sum over kept n of logp[n, target[n]] / (number of kept n), kept: target[n] != ignore_index
// All targets ignored gives 0/0 = NaN, as PyTorch. The targets were range-checked by the public op.
// Tested by tests/tensor/test_loss.cpp and tests/autograd/test_loss_grad.cpp.
#include <limits>

#include "tensor/cpu/kernels_norm_act.h"

namespace fk::cpu {

template <class T>
T nll_loss_forward(const T* logp, const int64_t* target, int64_t N, int64_t C, int64_t ignore_index) {
  // logp: (N, C); target: (N)
  double sum = 0;
  int64_t kept = 0;
  for (int64_t n = 0; n < N; ++n) {
    if (target[n] == ignore_index) continue;
    sum += double(logp[n * C + target[n]]);
    ++kept;
  }
  if (kept == 0) return std::numeric_limits<T>::quiet_NaN();  // 0/0, as PyTorch's mean over no element
  return T(-sum / double(kept));
}

template <class T>
void nll_loss_backward(T dloss, const int64_t* target, int64_t N, int64_t C, int64_t ignore_index, T* dlogp) {
  // target: (N); dlogp: (N, C)
  int64_t kept = 0;
  for (int64_t n = 0; n < N; ++n) kept += target[n] != ignore_index;
  for (int64_t i = 0; i < N * C; ++i) dlogp[i] = T(0);
  if (kept == 0) return;  // nothing contributed to the loss
  T g = T(-double(dloss) / double(kept));
  for (int64_t n = 0; n < N; ++n)
    if (target[n] != ignore_index) dlogp[n * C + target[n]] = g;
}

#define FK_INSTANTIATE(T)                                                                  \
  template T nll_loss_forward<T>(const T*, const int64_t*, int64_t, int64_t, int64_t);     \
  template void nll_loss_backward<T>(T, const int64_t*, int64_t, int64_t, int64_t, T*);
FK_INSTANTIATE(float)
FK_INSTANTIATE(double)
#undef FK_INSTANTIATE

}  // namespace fk::cpu
