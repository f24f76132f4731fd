// fk::ops::prelu / softmax / log_softmax / dropout and their backwards (torch.nn.functional.prelu,
// softmax, log_softmax, dropout): argument checks, the (N, C, S) or (outer, D, inner) view of the
// input, allocation, and the kernels in tensor/cpu/activation.cpp; CUDA tensors go to cuda/activation.cu
// after the argument checks (tests/cuda/test_activation.cpp).
// Tested by tests/tensor/test_activation.cpp and tests/autograd/test_activation_grad.cpp.
#include "tensor/activation.h"

#include "cuda/activation.h"
#include "tensor/cpu/kernels_norm_act.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"
#include "tensor/random.h"

namespace fk::ops {

// ---- PReLU: weight shared (1 element) or one per channel, the channel dim being 1 (x of 2+ dims;
// a 0-d or 1-d x has one channel, as in PyTorch).

namespace {
struct PreluView {
  int64_t N, C, S;  // x as (N, C, S); a shared weight is N = 1, C = 1, S = numel
};
}  // namespace

static PreluView prelu_view(const Tensor& x, const Tensor& weight, const char* op) {
  check_float_input(x, op, "x");
  check_float_input(weight, op, "weight");
  check_same_type(x, weight, op);
  FK_CHECK(weight.dim() <= 1, op, ": weight must be a scalar or 1-d tensor, got ", shape_str(weight.shape()));
  int64_t channels = x.dim() >= 2 ? x.size(1) : 1;
  FK_CHECK(weight.numel() == 1 || weight.numel() == channels, op, ": weight has ", weight.numel(),
           " elements, expected 1 or the channel count ", channels, " (x=", shape_str(x.shape()),
           ", weight=", shape_str(weight.shape()), ")");
  if (weight.numel() == 1) return {1, 1, x.numel()};
  int64_t S = 1;
  for (int64_t d = 2; d < x.dim(); ++d) S *= x.size(d);
  return {x.size(0), channels, S};
}

Tensor prelu(const Tensor& x, const Tensor& weight) {
  PreluView v = prelu_view(x, weight, "prelu");
  if constexpr (kWithCuda) {
    if (x.device().is_cuda()) return cuda::prelu(x, weight);
  }
  Tensor xc = x.contiguous(), wc = weight.contiguous();
  Tensor y = empty_uninitialized(x.shape(), x.dtype());  // every element written
  dispatch_float(x.dtype(), "prelu", [&]<class T>() {
    cpu::prelu_forward(xc.data<T>(), wc.data<T>(), v.N, v.C, v.S, y.data<T>());
  });
  return y;
}

PreluGrads prelu_backward(const Tensor& dy, const Tensor& x, const Tensor& weight) {
  PreluView v = prelu_view(x, weight, "prelu_backward");
  check_float_input(dy, "prelu_backward", "dy");
  check_same_type(dy, x, "prelu_backward");
  FK_CHECK(dy.shape() == x.shape(), "prelu_backward: dy ", shape_str(dy.shape()), " must match x ",
           shape_str(x.shape()));
  if constexpr (kWithCuda) {
    if (x.device().is_cuda()) return cuda::prelu_backward(dy, x, weight);
  }
  Tensor dyc = dy.contiguous(), xc = x.contiguous(), wc = weight.contiguous();
  PreluGrads g{empty_uninitialized(x.shape(), x.dtype()), empty(weight.shape(), weight.dtype())};  // dx: all written
  dispatch_float(x.dtype(), "prelu_backward", [&]<class T>() {
    cpu::prelu_backward(dyc.data<T>(), xc.data<T>(), wc.data<T>(), v.N, v.C, v.S, g.dx.data<T>(),
                        g.dweight.data<T>());
  });
  return g;
}

// ---- softmax / log_softmax: x as (outer, D, inner) around `dim`. A 0-d x is one element along
// dim 0 (or -1), like PyTorch, so its softmax is 1 and its log_softmax 0.

namespace {
struct SoftmaxView {
  int64_t outer, D, inner;
};
}  // namespace

static SoftmaxView softmax_view(const Tensor& x, int64_t dim, const char* op) {
  int64_t nd = x.dim();
  int64_t d = normalize_dim(dim, nd == 0 ? 1 : nd, op);
  if (nd == 0) return {1, 1, 1};
  SoftmaxView v{1, x.size(d), 1};
  for (int64_t i = 0; i < d; ++i) v.outer *= x.size(i);
  for (int64_t i = d + 1; i < nd; ++i) v.inner *= x.size(i);
  return v;
}

static Tensor softmax_impl(const Tensor& x, int64_t dim, bool log, const char* op) {
  check_float_input(x, op, "x");
  SoftmaxView v = softmax_view(x, dim, op);
  if constexpr (kWithCuda) {
    if (x.device().is_cuda()) return log ? cuda::log_softmax(x, dim) : cuda::softmax(x, dim);
  }
  Tensor xc = x.contiguous();
  Tensor y = empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), op, [&]<class T>() {
    cpu::softmax_forward(xc.data<T>(), v.outer, v.D, v.inner, log, y.data<T>());
  });
  return y;
}

static Tensor softmax_backward_impl(const Tensor& dy, const Tensor& y, int64_t dim, bool log, const char* op) {
  check_float_input(dy, op, "dy");
  check_float_input(y, op, "y");
  check_same_type(dy, y, op);
  FK_CHECK(dy.shape() == y.shape(), op, ": dy ", shape_str(dy.shape()), " must match y ", shape_str(y.shape()));
  SoftmaxView v = softmax_view(y, dim, op);
  if constexpr (kWithCuda) {
    if (y.device().is_cuda()) return log ? cuda::log_softmax_backward(dy, y, dim) : cuda::softmax_backward(dy, y, dim);
  }
  Tensor dyc = dy.contiguous(), yc = y.contiguous();
  Tensor dx = empty(y.shape(), y.dtype());
  dispatch_float(y.dtype(), op, [&]<class T>() {
    cpu::softmax_backward(dyc.data<T>(), yc.data<T>(), v.outer, v.D, v.inner, log, dx.data<T>());
  });
  return dx;
}

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false, "softmax"); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true, "log_softmax"); }
Tensor softmax_backward(const Tensor& dy, const Tensor& y, int64_t dim) {
  return softmax_backward_impl(dy, y, dim, false, "softmax_backward");
}
Tensor log_softmax_backward(const Tensor& dy, const Tensor& y, int64_t dim) {
  return softmax_backward_impl(dy, y, dim, true, "log_softmax_backward");
}

// ---- dropout. Identity (x itself, no copy, no mask) when !training or p == 0, like F.dropout;
// p == 1 drops everything (y = x * 0, mask 0). Each call draws one 64-bit seed from the default
// generator; element i's uniform is Philox4x32-10(key = seed, counter = i) on both devices, so the
// CPU and CUDA masks are bit-identical for the same manual_seed.

std::pair<Tensor, Tensor> dropout(const Tensor& x, double p, bool training) {
  check_float_input(x, "dropout", "x");
  FK_CHECK(p >= 0 && p <= 1, "dropout: probability has to be between 0 and 1, but got p=", p, " (x=",
           shape_str(x.shape()), ")");
  if (!training || p == 0) return {x, Tensor()};
  uint64_t seed = default_generator().next_u64();
  if constexpr (kWithCuda) {
    if (x.device().is_cuda()) return cuda::dropout(x, p, seed);
  }
  Tensor xc = x.contiguous();
  Tensor y = empty(x.shape(), x.dtype()), mask = empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), "dropout", [&]<class T>() {
    cpu::dropout_forward(seed, xc.data<T>(), x.numel(), p, y.data<T>(), mask.data<T>());
  });
  return {y, mask};
}

}  // namespace fk::ops
