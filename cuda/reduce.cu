// CUDA reductions (declared in cuda/reduce.h): sum, mean, var, max/min along a dim with indices, and
// max/min's backward. Every reduction sees its input as (outer, R, inner) contiguous (plan_reduce):
//   - inner > 1, or few values per output: one thread per output (the functors of reduce_kernels.h);
//   - inner == 1 and R large: one block per output row, each thread folding a strided part of the
//     row and block_reduce combining the threads (coalesced reads: adjacent threads, adjacent values);
//   - few rows and a very long R (mean over all of a 1M tensor): sums split each row over many blocks,
//     which write double partial sums that a second pass reduces.
// Sums accumulate in double, like the CPU. Tests: tests/cuda/test_reduce.cpp.
#include <cuda_runtime.h>

#include <limits>
#include <vector>

#include "cuda/check.h"
#include "cuda/launch.h"
#include "cuda/reduce.h"
#include "cuda/reduce_kernels.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"

namespace fk::cuda {

namespace {

constexpr int kReduceThreads = 256;  // threads of a one-block-per-row kernel
constexpr int64_t kBlockRowMin = 256;  // a row at least this long gets a block instead of a thread

// Sorted, de-duplicated, normalised dims; empty -> all (tensor/reduce.cpp's rule: the public op
// already validated them, this only recomputes the list).
ops::Dims normalize_dims(const ops::Dims& dims, int64_t ndim, const char* op) {
  std::vector<bool> on(size_t(std::max<int64_t>(ndim, 1)), dims.empty());
  for (int64_t d : dims) on[size_t(normalize_dim(d, ndim, op))] = true;
  ops::Dims out;
  for (int64_t d = 0; d < ndim; ++d)
    if (on[size_t(d)]) out.push_back(d);
  return out;
}

struct Plan {
  Tensor data;  // (outer, R, inner) contiguous
  int64_t outer = 1, R = 1, inner = 1;
  Shape out_shape;
};

// A view of x's storage with the given shape and strides, made contiguous (a CUDA copy).
Tensor strided_copy(const Tensor& x, const Shape& shape, const Shape& strides) {
  return Tensor(x.storage(), shape, strides, x.offset(), x.dtype()).contiguous();
}

Plan plan_reduce(const Tensor& x, const ops::Dims& dims_in, bool keepdim, const char* op) {
  ops::Dims dims = normalize_dims(dims_in, x.dim(), op);
  std::vector<bool> red(size_t(x.dim()), false);
  for (int64_t d : dims) red[size_t(d)] = true;
  Plan P;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (!red[size_t(d)]) P.out_shape.push_back(x.size(d));
    else if (keepdim) P.out_shape.push_back(1);
  Tensor xc = x.contiguous();
  bool adjacent = dims.empty() || dims.back() - dims.front() + 1 == int64_t(dims.size());
  if (adjacent) {  // (dims before, reduced block, dims after): no copy needed
    int64_t a = dims.empty() ? x.dim() : dims.front(), b = dims.empty() ? x.dim() : dims.back() + 1;
    for (int64_t d = 0; d < x.dim(); ++d) (d < a ? P.outer : d < b ? P.R : P.inner) *= x.size(d);
    P.data = xc;
  } else {  // kept dims to the front, reduced dims to the back: (outer, R, 1)
    Shape shape, strides;
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t d = 0; d < x.dim(); ++d)
        if (red[size_t(d)] == (pass == 1)) {
          shape.push_back(x.size(d));
          strides.push_back(xc.strides()[size_t(d)]);
          (pass == 0 ? P.outer : P.R) *= x.size(d);
        }
    P.data = strided_copy(xc, shape, strides);
  }
  // Few long columns (e.g. a sum over dim 0 of (1000000, 3)): one thread per column would loop a
  // million times, so transpose to (outer, inner, R) rows, which the block kernels read coalesced.
  if (P.inner > 1 && P.outer * P.inner < 1024 && P.R >= 4096) {
    P.data = strided_copy(P.data, {P.outer, P.inner, P.R}, {P.R * P.inner, 1, P.inner});
    P.outer *= P.inner;
    P.inner = 1;
  }
  return P;
}

bool use_block_rows(const Plan& P) { return P.inner == 1 && P.R >= kBlockRowMin; }

unsigned row_grid(int64_t rows) { return unsigned(std::min<int64_t>(rows, 65535)); }

// ---- block kernels (one block per row of R contiguous values; rows beyond the grid loop)

struct SumOp {
  __device__ double operator()(double a, double b) const { return a + b; }
};

template <bool IsMax, class T>
struct ExtremeOp {
  __device__ cpu::ExtremeCandidate<T> operator()(cpu::ExtremeCandidate<T> a, cpu::ExtremeCandidate<T> b) const {
    return cpu::extreme_combine<IsMax>(a, b);
  }
};

// the sum of this thread's share of row[0, R): elements threadIdx.x, +blockDim.x, ...
template <class In>
__device__ double thread_sum(const In* row, int64_t R) {
  double acc = 0;
  for (int64_t r = threadIdx.x; r < R; r += blockDim.x) acc += double(row[r]);
  return acc;
}

// y[row] = sum(x[row, :]) / divisor; In is T, or double for the partial sums of the split kernel
template <class In, class T>
__global__ void sum_rows_kernel(const In* x, int64_t rows, int64_t R, double divisor, T* y) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    double s = block_reduce(thread_sum(x + row * R, R), SumOp{}, 0.0);
    if (threadIdx.x == 0) y[row] = T(s / divisor);
  }
}

// partial[row * chunks + c] = sum of chunk c of x[row, :] (chunks of `len` values); grid (chunks, rows)
template <class T>
__global__ void sum_rows_partial_kernel(const T* x, int64_t R, int64_t len, double* partial) {
  int64_t row = blockIdx.y, c = blockIdx.x;
  int64_t begin = c * len, n = R - begin < len ? R - begin : len;
  double s = block_reduce(thread_sum(x + row * R + begin, n), SumOp{}, 0.0);
  if (threadIdx.x == 0) partial[row * gridDim.x + c] = s;
}

// y[row] = var(x[row, :]): block sum -> mean (every thread gets it), then block sum of squares
template <class T>
__global__ void var_rows_kernel(const T* x, int64_t rows, int64_t R, bool unbiased, T* y) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* xr = x + row * R;
    double m = block_reduce(thread_sum(xr, R), SumOp{}, 0.0) / double(R);
    double ss = 0;
    for (int64_t r = threadIdx.x; r < R; r += blockDim.x) ss += (double(xr[r]) - m) * (double(xr[r]) - m);
    ss = block_reduce(ss, SumOp{}, 0.0);
    if (threadIdx.x == 0) y[row] = T(cpu::var_finish(ss, R, unbiased));
  }
}

// values/indices[row] = max (min) of x[row, :] and its first index: each thread scans its share in
// increasing order (extreme_replaces keeps its first), the block combines with extreme_combine.
template <class T, bool IsMax>
__global__ void extreme_rows_kernel(const T* x, int64_t rows, int64_t R, T* values, int64_t* indices) {
  using Cand = cpu::ExtremeCandidate<T>;
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* xr = x + row * R;
    Cand best{T(0), -1};
    for (int64_t r = threadIdx.x; r < R; r += blockDim.x)
      if (best.index < 0 || cpu::extreme_replaces<IsMax>(xr[r], best.value)) best = Cand{xr[r], r};
    best = block_reduce(best, ExtremeOp<IsMax, T>{}, Cand{T(0), -1});
    if (threadIdx.x == 0) {
      values[row] = best.value;
      indices[row] = best.index;
    }
  }
}

// ---- host side

template <class T>
void sum_rows(const Plan& P, double divisor, T* y) {
  const T* x = ptr<T>(P.data);
  // few rows, long R: split every row over `chunks` blocks so the whole GPU works on it
  constexpr int64_t kChunk = 16384;
  int64_t chunks = (P.R + kChunk - 1) / kChunk;
  if (P.outer < 128 && chunks >= 4 && chunks <= 65535) {
    Tensor partial = empty({P.outer, chunks}, DType::Float64, P.data.device());
    dim3 grid(unsigned(chunks), unsigned(P.outer));
    sum_rows_partial_kernel<T><<<grid, kReduceThreads, 0, stream()>>>(x, P.R, kChunk, ptr<double>(partial));
    FK_CUDA_CHECK(cudaGetLastError());
    sum_rows_kernel<double, T><<<row_grid(P.outer), kReduceThreads, 0, stream()>>>(ptr<double>(partial), P.outer,
                                                                                   chunks, divisor, y);
    FK_CUDA_CHECK(cudaGetLastError());
    return;
  }
  sum_rows_kernel<T, T><<<row_grid(P.outer), kReduceThreads, 0, stream()>>>(x, P.outer, P.R, divisor, y);
  FK_CUDA_CHECK(cudaGetLastError());
}

// sum (mean: divide by R) of x over dims
Tensor sum_impl(const Tensor& x, const ops::Dims& dims, bool keepdim, bool mean, const char* op) {
  Plan P = plan_reduce(x, dims, keepdim, op);
  Tensor y = empty(P.out_shape, x.dtype(), x.device());
  int64_t n_out = P.outer * P.inner;
  if (n_out == 0) return y;
  double divisor = mean ? double(P.R) : 1.0;
  dispatch_float(x.dtype(), op, [&]<class T>() {
    if (use_block_rows(P))
      sum_rows<T>(P, divisor, ptr<T>(y));
    else
      launch(n_out, SumColumns<T>{ptr<T>(P.data), P.R, P.inner, divisor, ptr<T>(y)});
  });
  return y;
}

template <bool IsMax>
std::pair<Tensor, Tensor> extreme(const Tensor& x, int64_t dim, bool keepdim, const char* op) {
  Plan P = plan_reduce(x, x.dim() == 0 ? ops::Dims{} : ops::Dims{dim}, keepdim, op);
  Tensor values = empty(P.out_shape, x.dtype(), x.device());
  Tensor indices = empty(P.out_shape, DType::Int64, x.device());
  int64_t n_out = P.outer * P.inner;
  if (n_out == 0) return {values, indices};
  dispatch_float(x.dtype(), op, [&]<class T>() {
    if (use_block_rows(P)) {
      extreme_rows_kernel<T, IsMax><<<row_grid(P.outer), kReduceThreads, 0, stream()>>>(
          ptr<T>(P.data), P.outer, P.R, ptr<T>(values), ptr<int64_t>(indices));
      FK_CUDA_CHECK(cudaGetLastError());
    } else {
      launch(n_out, ExtremeColumns<T, IsMax>{ptr<T>(P.data), P.R, P.inner, ptr<T>(values), ptr<int64_t>(indices)});
    }
  });
  return {values, indices};
}

}  // namespace

Tensor sum(const Tensor& x, const ops::Dims& dims, bool keepdim) { return sum_impl(x, dims, keepdim, false, "sum"); }
Tensor mean(const Tensor& x, const ops::Dims& dims, bool keepdim) { return sum_impl(x, dims, keepdim, true, "mean"); }

Tensor var(const Tensor& x, const ops::Dims& dims, bool unbiased, bool keepdim) {
  Plan P = plan_reduce(x, dims, keepdim, "var");
  Tensor y = empty(P.out_shape, x.dtype(), x.device());
  int64_t n_out = P.outer * P.inner;
  if (n_out == 0) return y;
  dispatch_float(x.dtype(), "var", [&]<class T>() {
    if (use_block_rows(P)) {
      var_rows_kernel<T><<<row_grid(P.outer), kReduceThreads, 0, stream()>>>(ptr<T>(P.data), P.outer, P.R, unbiased,
                                                                            ptr<T>(y));
      FK_CUDA_CHECK(cudaGetLastError());
    } else {
      launch(n_out, VarColumns<T>{ptr<T>(P.data), P.R, P.inner, unbiased, ptr<T>(y)});
    }
  });
  return y;
}

std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) { return extreme<true>(x, dim, keepdim, "max"); }
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme<false>(x, dim, keepdim, "min");
}

Tensor index_reduce_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape, int64_t dim,
                             bool keepdim) {
  // dx[o, indices[o, j], j] = dy[o, j]; every other position 0
  int64_t nd = int64_t(x_shape.size());
  int64_t d = normalize_dim(dim, nd, "max_backward");
  FK_CHECK(indices.device() == dy.device() && indices.dtype() == DType::Int64, "max_backward: indices ",
           indices.str(), " must be int64 on ", dy.device().str());
  int64_t outer = 1, inner = 1, n = x_shape[size_t(d)];
  for (int64_t i = 0; i < d; ++i) outer *= x_shape[size_t(i)];
  for (int64_t i = d + 1; i < nd; ++i) inner *= x_shape[size_t(i)];
  (void)keepdim;  // dy and indices hold outer*inner values in the same order either way
  Tensor g = dy.contiguous(), idx = indices.contiguous();
  Tensor dx = zeros(x_shape, dy.dtype(), dy.device());
  dispatch_float(dy.dtype(), "max_backward", [&]<class T>() {
    launch(outer * inner, IndexScatter<T>{ptr<T>(g), ptr<int64_t>(idx), n, inner, ptr<T>(dx)});
  });
  return dx;
}

}  // namespace fk::cuda
