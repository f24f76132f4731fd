// The per-output kernels of the CUDA reductions (cuda/reduce.cu), as functors f(i) over the outputs.
// The input is (outer, R, inner) contiguous; output i = o * inner + j reduces x[o, :, j], the R values
// at x + o*R*inner + j with stride inner (adjacent threads read adjacent memory when inner > 1).
// Sums accumulate in double for float32 too, as the CPU reductions (tensor/reduce.cpp).
// Plain C++ (tensor/hd.h): tests/tensor/test_cuda_kernels_reduce.cpp runs them with cuda::emulate.
// Also, for nvcc only, the block-wide reduction that reduce.cu and activation.cu build their
// one-block-per-row kernels on.
#pragma once

#include <cmath>
#include <cstdint>

#include "cuda/launch.h"
#include "tensor/cpu/reduce_math.h"
#include "tensor/hd.h"

namespace fk::cuda {

// y[i] = sum of x[o, :, j] / divisor (divisor 1: sum, R: mean; R = 0 gives 0 / 0 = NaN like the CPU)
template <class T>
struct SumColumns {
  const T* x;
  int64_t R, inner;
  double divisor;
  T* y;
  FK_HD_INLINE void operator()(int64_t i) const {
    const T* col = x + (i / inner) * R * inner + i % inner;
    double acc = 0;
    for (int64_t r = 0; r < R; ++r) acc += double(col[r * inner]);
    y[i] = T(acc / divisor);
  }
};

// y[i] = variance of x[o, :, j]: two passes (mean, then squared deviations), as the CPU
template <class T>
struct VarColumns {
  const T* x;
  int64_t R, inner;
  bool unbiased;
  T* y;
  FK_HD_INLINE void operator()(int64_t i) const {
    const T* col = x + (i / inner) * R * inner + i % inner;
    double s = 0;
    for (int64_t r = 0; r < R; ++r) s += double(col[r * inner]);
    double m = s / double(R);
    double ss = 0;
    for (int64_t r = 0; r < R; ++r) ss += (double(col[r * inner]) - m) * (double(col[r * inner]) - m);
    y[i] = T(cpu::var_finish(ss, R, unbiased));
  }
};

// values[i], indices[i] = max (or min) of x[o, :, j] and its first index (NaN propagates); R >= 1.
// indices may be null.
template <class T, bool IsMax>
struct ExtremeColumns {
  const T* x;
  int64_t R, inner;
  T* values;
  int64_t* indices;
  FK_HD_INLINE void operator()(int64_t i) const {
    const T* col = x + (i / inner) * R * inner + i % inner;
    int64_t best = 0;
    for (int64_t r = 1; r < R; ++r)
      if (cpu::extreme_replaces<IsMax>(col[r * inner], col[best * inner])) best = r;
    values[i] = col[best * inner];
    if (indices) indices[i] = best;
  }
};

// max/min backward: dy[o, j] goes to dx[o, indices[o, j], j] (dx: (outer, n, inner), zero elsewhere;
// each output position is written by at most one i, so no atomics)
template <class T>
struct IndexScatter {
  const T* dy;
  const int64_t* indices;
  int64_t n, inner;
  T* dx;
  FK_HD_INLINE void operator()(int64_t i) const {
    int64_t o = i / inner, j = i % inner;
    dx[(o * n + indices[i]) * inner + j] = dy[i];
  }
};

// out[i] = T(in[i]): a double accumulator buffer back to the tensor's dtype
template <class T>
struct CastFromDouble {
  const double* in;
  T* out;
  FK_HD_INLINE void operator()(int64_t i) const { out[i] = T(in[i]); }
};

#if defined(__CUDACC__)
// __shfl_down_sync over a full warp, for plain values and for (value, index) candidates
template <class V>
__device__ __forceinline__ V shfl_down(V v, int off) {
  return __shfl_down_sync(0xffffffffu, v, off);
}
template <class T>
__device__ __forceinline__ cpu::ExtremeCandidate<T> shfl_down(cpu::ExtremeCandidate<T> c, int off) {
  return {__shfl_down_sync(0xffffffffu, c.value, off), __shfl_down_sync(0xffffffffu, c.index, off)};
}

// The reduction of one value per thread over the whole block (blockDim.x a multiple of 32, at most
// 1024; every thread of the block must call it): a shuffle tree inside each warp, then warp 0 combines
// the warps' results. Every thread gets the result. `identity` fills the missing warps' slots.
template <class V, class Op>
__device__ V block_reduce(V v, Op op, V identity) {
  __shared__ V warp_vals[32];
  int lane = int(threadIdx.x) & 31, warp = int(threadIdx.x) >> 5;
  for (int off = 16; off > 0; off >>= 1) v = op(v, shfl_down(v, off));
  __syncthreads();  // a previous call's readers are done with warp_vals
  if (lane == 0) warp_vals[warp] = v;
  __syncthreads();
  if (warp == 0) {
    int nwarps = (int(blockDim.x) + 31) >> 5;
    v = lane < nwarps ? warp_vals[lane] : identity;
    for (int off = 16; off > 0; off >>= 1) v = op(v, shfl_down(v, off));
    if (lane == 0) warp_vals[0] = v;
  }
  __syncthreads();
  return warp_vals[0];
}

#endif

}  // namespace fk::cuda
