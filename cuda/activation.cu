// CUDA activations (declared in cuda/activation.h): PReLU, softmax / log_softmax and their backward,
// dropout. Element-wise and per-column work runs the functors of cuda/activation_kernels.h; two real
// block kernels live here:
//   - softmax_rows_kernel / softmax_backward_rows_kernel: the common softmax over the last dim of a
//     long row (inner == 1, D >= kBlockRowMin): one block per row, block_reduce for the max and sums;
//   - prelu_dweight_kernel: dweight[c] = sum over x <= 0 of dy * x, each block summing one chunk of
//     one channel's N*S values into a double partial, the partials then summed by cuda::sum.
// Tests: tests/cuda/test_activation.cpp (GPU vs CPU), tests/tensor/test_cuda_kernels_activation.cpp.
#include <cuda_runtime.h>

#include <algorithm>

#include "cuda/activation.h"
#include "cuda/activation_kernels.h"
#include "cuda/check.h"
#include "cuda/launch.h"
#include "cuda/reduce.h"
#include "cuda/reduce_kernels.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"

namespace fk::cuda {

namespace {

constexpr int kRowThreads = 256;
constexpr int64_t kBlockRowMin = 256;  // a softmax row at least this long gets a block, not a thread

struct SumOp {
  __device__ double operator()(double a, double b) const { return a + b; }
};
struct MaxOp {  // std::max's rule, as the CPU's running max
  template <class T>
  __device__ T operator()(T a, T b) const {
    return a < b ? b : a;
  }
};

unsigned row_grid(int64_t rows) { return unsigned(rows < 65535 ? rows : 65535); }

// ---- PReLU

struct PreluView {
  int64_t N, C, S;  // x as (N, C, S); a shared weight: N = 1, C = 1, S = numel (as tensor/activation.cpp)
};
PreluView prelu_view(const Tensor& x, const Tensor& weight) {
  if (weight.numel() == 1) return {1, 1, x.numel()};
  int64_t S = 1;
  for (int64_t d = 2; d < x.dim(); ++d) S *= x.size(d);
  return {x.size(0), x.size(1), S};
}

// partial[c * chunks + k] = sum over chunk k of channel c's N*S values of prelu_dweight_term; grid (chunks, C)
template <class T>
__global__ void prelu_dweight_kernel(const T* dy, const T* x, int64_t N, int64_t C, int64_t S, int64_t len,
                                     double* partial) {
  int64_t c = blockIdx.y, k = blockIdx.x;
  int64_t begin = k * len, end = begin + len < N * S ? begin + len : N * S;
  double acc = 0;
  for (int64_t m = begin + threadIdx.x; m < end; m += blockDim.x) {
    int64_t e = ((m / S) * C + c) * S + m % S;  // element (n, c, s), m = n * S + s
    acc += cpu::prelu_dweight_term(dy[e], x[e]);
  }
  acc = block_reduce(acc, SumOp{}, 0.0);
  if (threadIdx.x == 0) partial[c * gridDim.x + k] = acc;
}

// ---- softmax rows (inner == 1): y[row, :] = softmax(x[row, :])
template <class T>
__global__ void softmax_rows_kernel(const T* x, int64_t rows, int64_t D, bool log, T* y) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* xr = x + row * D;
    T* yr = y + row * D;
    T mx = xr[0];
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) mx = mx < xr[d] ? xr[d] : mx;
    mx = block_reduce(mx, MaxOp{}, xr[0]);
    double s = 0;
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) s += double(std::exp(xr[d] - mx));
    s = block_reduce(s, SumOp{}, 0.0);
    if (log) {
      T lse = T(std::log(s));
      for (int64_t d = threadIdx.x; d < D; d += blockDim.x) yr[d] = (xr[d] - mx) - lse;
    } else {
      T inv = T(1) / T(s);  // y = e * (1 / sum), as the CPU's row path
      for (int64_t d = threadIdx.x; d < D; d += blockDim.x) yr[d] = std::exp(xr[d] - mx) * inv;
    }
  }
}

template <class T>
__global__ void softmax_backward_rows_kernel(const T* dy, const T* y, int64_t rows, int64_t D, bool log, T* dx) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    int64_t base = row * D;
    double acc = 0;
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) acc += cpu::softmax_backward_term(dy[base + d], y[base + d], log);
    T a = T(block_reduce(acc, SumOp{}, 0.0));
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x)
      dx[base + d] = cpu::softmax_backward_value(dy[base + d], y[base + d], a, log);
  }
}

struct SoftmaxView {
  int64_t outer, D, inner;
};
SoftmaxView softmax_view(const Tensor& x, int64_t dim, const char* op) {
  int64_t nd = x.dim();
  if (nd == 0) return {1, 1, 1};
  int64_t d = normalize_dim(dim, nd, op);
  SoftmaxView v{1, x.size(d), 1};
  for (int64_t i = 0; i < d; ++i) v.outer *= x.size(i);
  for (int64_t i = d + 1; i < nd; ++i) v.inner *= x.size(i);
  return v;
}

Tensor softmax_impl(const Tensor& x, int64_t dim, bool log, const char* op) {
  SoftmaxView v = softmax_view(x, dim, op);
  Tensor xc = x.contiguous();
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  if (v.D == 0 || v.outer * v.inner == 0) return y;
  dispatch_float(x.dtype(), op, [&]<class T>() {
    if (v.inner == 1 && v.D >= kBlockRowMin) {
      softmax_rows_kernel<T><<<row_grid(v.outer), kRowThreads, 0, stream()>>>(ptr<T>(xc), v.outer, v.D, log, ptr<T>(y));
      FK_CUDA_CHECK(cudaGetLastError());
    } else {
      launch(v.outer * v.inner, SoftmaxColumns<T>{ptr<T>(xc), v.D, v.inner, log, ptr<T>(y)});
    }
  });
  return y;
}

Tensor softmax_backward_impl(const Tensor& dy, const Tensor& y, int64_t dim, bool log, const char* op) {
  SoftmaxView v = softmax_view(y, dim, op);
  Tensor dyc = dy.contiguous(), yc = y.contiguous();
  Tensor dx = empty(y.shape(), y.dtype(), y.device());
  if (v.D == 0 || v.outer * v.inner == 0) return dx;
  dispatch_float(y.dtype(), op, [&]<class T>() {
    if (v.inner == 1 && v.D >= kBlockRowMin) {
      softmax_backward_rows_kernel<T><<<row_grid(v.outer), kRowThreads, 0, stream()>>>(ptr<T>(dyc), ptr<T>(yc), v.outer,
                                                                                     v.D, log, ptr<T>(dx));
      FK_CUDA_CHECK(cudaGetLastError());
    } else {
      launch(v.outer * v.inner, SoftmaxBackwardColumns<T>{ptr<T>(dyc), ptr<T>(yc), v.D, v.inner, log, ptr<T>(dx)});
    }
  });
  return dx;
}

}  // namespace

Tensor prelu(const Tensor& x, const Tensor& weight) {
  PreluView v = prelu_view(x, weight);
  Tensor xc = x.contiguous(), wc = weight.contiguous();
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), "prelu", [&]<class T>() {
    launch(x.numel(), PreluForward<T>{ptr<T>(xc), ptr<T>(wc), v.C, v.S, ptr<T>(y)});
  });
  return y;
}

ops::PreluGrads prelu_backward(const Tensor& dy, const Tensor& x, const Tensor& weight) {
  PreluView v = prelu_view(x, weight);
  Tensor dyc = dy.contiguous(), xc = x.contiguous(), wc = weight.contiguous();
  ops::PreluGrads g{empty(x.shape(), x.dtype(), x.device()), empty(weight.shape(), weight.dtype(), x.device())};
  // the chunks of one channel's N*S values that one block of prelu_dweight_kernel sums
  constexpr int64_t kChunk = 16384;
  int64_t M = v.N * v.S, chunks = std::max<int64_t>(1, std::min<int64_t>((M + kChunk - 1) / kChunk, 4096));
  int64_t len = (M + chunks - 1) / chunks;
  Tensor partial = empty({v.C, chunks}, DType::Float64, x.device());  // zero-filled: an empty chunk adds 0
  dispatch_float(x.dtype(), "prelu_backward", [&]<class T>() {
    launch(x.numel(), PreluBackward<T>{ptr<T>(dyc), ptr<T>(xc), ptr<T>(wc), v.C, v.S, ptr<T>(g.dx)});
    if (M > 0) {
      dim3 grid(unsigned(chunks), unsigned(v.C));
      prelu_dweight_kernel<T><<<grid, kRowThreads, 0, stream()>>>(ptr<T>(dyc), ptr<T>(xc), v.N, v.C, v.S,
                                                                  std::max<int64_t>(len, 1), ptr<double>(partial));
      FK_CUDA_CHECK(cudaGetLastError());
    }
    Tensor dw = cuda::sum(partial, {1}, false);  // (C) in double
    launch(v.C, CastFromDouble<T>{ptr<double>(dw), ptr<T>(g.dweight)});
  });
  return g;
}

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false, "softmax"); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true, "log_softmax"); }
Tensor softmax_backward(const Tensor& dy, const Tensor& y, int64_t dim) {
  return softmax_backward_impl(dy, y, dim, false, "softmax_backward");
}
Tensor log_softmax_backward(const Tensor& dy, const Tensor& y, int64_t dim) {
  return softmax_backward_impl(dy, y, dim, true, "log_softmax_backward");
}

std::pair<Tensor, Tensor> dropout(const Tensor& x, double p, uint64_t seed) {
  Tensor xc = x.contiguous();
  Tensor y = empty(x.shape(), x.dtype(), x.device()), mask = empty(x.shape(), x.dtype(), x.device());
  double keep = 1.0 - p;
  dispatch_float(x.dtype(), "dropout", [&]<class T>() {
    T scale = T(keep > 0 ? 1.0 / keep : 0.0);  // unused when keep == 0: nothing is kept
    launch(x.numel(), DropoutForward<T>{ptr<T>(xc), seed, keep, scale, ptr<T>(y), ptr<T>(mask)});
  });
  return {y, mask};
}

}  // namespace fk::cuda
