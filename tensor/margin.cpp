// fk::ops::margin_logits and its backward (see margin.h): checks, one allocation, then the CPU loops
// (tensor/cpu/margin.cpp) or the CUDA kernels (cuda/heads.cu).
#include "tensor/margin.h"

#include "cuda/heads.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"

namespace fk::ops {

namespace {

void check_margin_args(const Tensor& cos, const Tensor& labels, const char* op) {
  FK_CHECK(cos.defined() && cos.dim() == 2 && is_compute_float(cos.dtype()), op,
           ": cos must be a float32/float64 (N, C) tensor, got ", cos.defined() ? cos.str() : "undefined");
  const int64_t N = cos.size(0), C = cos.size(1);
  FK_CHECK(labels.defined() && labels.dtype() == DType::Int64 && labels.dim() == 1 && labels.size(0) == N, op,
           ": labels must be int64 of shape [", N, "], got ", labels.defined() ? labels.str() : "undefined");
  FK_CHECK(labels.device() == cos.device(), op, ": labels are on ", labels.device().str(), " but cos is on ",
           cos.device().str());
  // the range check reads the labels on the CPU (a copy of N int64 for CUDA labels)
  for (int64_t y : labels.to_vector<int64_t>())
    FK_CHECK(y >= -1 && y < C, op, ": label ", y, " is outside [-1, ", C, ")");
}

}  // namespace

Tensor margin_logits(const Tensor& cos, const Tensor& labels, const MarginParams& p) {
  check_margin_args(cos, labels, "margin_logits");
  const Tensor c = cos.contiguous(), lab = labels.contiguous();
  if constexpr (kWithCuda) {
    if (c.device().is_cuda()) return cuda::margin_logits_forward(c, lab, p);
  }
  Tensor y = empty(c.shape(), c.dtype());
  dispatch_float(c.dtype(), "margin_logits", [&]<class T>() {
    cpu::margin_logits_forward(c.data<T>(), lab.data<int64_t>(), c.size(0), c.size(1), p, y.data<T>());
  });
  return y;
}

Tensor margin_logits_backward(const Tensor& dlogits, const Tensor& cos, const Tensor& labels, const MarginParams& p) {
  check_margin_args(cos, labels, "margin_logits_backward");
  check_same_type(dlogits, cos, "margin_logits_backward");
  FK_CHECK(dlogits.shape() == cos.shape(), "margin_logits_backward: dlogits ", shape_str(dlogits.shape()),
           " must have the shape of cos ", shape_str(cos.shape()));
  const Tensor dy = dlogits.contiguous(), c = cos.contiguous(), lab = labels.contiguous();
  if constexpr (kWithCuda) {
    if (c.device().is_cuda()) return cuda::margin_logits_backward(dy, c, lab, p);
  }
  Tensor dcos = empty(c.shape(), c.dtype());
  dispatch_float(c.dtype(), "margin_logits_backward", [&]<class T>() {
    cpu::margin_logits_backward(dy.data<T>(), c.data<T>(), lab.data<int64_t>(), c.size(0), c.size(1), p, dcos.data<T>());
  });
  return dcos;
}

}  // namespace fk::ops
