// CUDA margin logits (declared in cuda/heads.h): one thread per logit, the functors of
// cuda/heads_kernels.h. Tested by tests/cuda/test_heads.cpp.
#include "cuda/heads.h"

#include "cuda/heads_kernels.h"
#include "cuda/launch.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"

namespace fk::cuda {

Tensor margin_logits_forward(const Tensor& cos, const Tensor& labels, const MarginParams& p) {
  Tensor y = empty(cos.shape(), cos.dtype(), cos.device());
  const int64_t C = cos.size(1);
  dispatch_float(cos.dtype(), "margin_logits", [&]<class T>() {
    launch(cos.numel(), MarginLogitsForward<T>{ptr<T>(cos), ptr<int64_t>(labels), C, p, ptr<T>(y)},
           cos.device().index);
  });
  return y;
}

Tensor margin_logits_backward(const Tensor& dlogits, const Tensor& cos, const Tensor& labels, const MarginParams& p) {
  Tensor dcos = empty(cos.shape(), cos.dtype(), cos.device());
  const int64_t C = cos.size(1);
  dispatch_float(cos.dtype(), "margin_logits_backward", [&]<class T>() {
    launch(cos.numel(),
           MarginLogitsBackward<T>{ptr<T>(dlogits), ptr<T>(cos), ptr<int64_t>(labels), C, p, ptr<T>(dcos)},
           cos.device().index);
  });
  return dcos;
}

}  // namespace fk::cuda
