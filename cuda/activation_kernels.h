// The per-element and per-column kernels of the CUDA activations (cuda/activation.cu), as functors
// f(i): PReLU forward/backward over the elements of x seen as (N, C, S), softmax / log_softmax and
// their backward over the columns (o, j) of x seen as (outer, D, inner) (one thread folds the D values
// x[o, :, j], stride inner), and dropout. The per-element formulas are tensor/cpu/activation_math.h's,
// shared with the CPU kernels; the softmax column loops follow tensor/cpu/activation.cpp's (D, inner)
// block path step by step, in the same rounding (max in T; softmax's sum in T, log_softmax's in double).
// Plain C++: tests/tensor/test_cuda_kernels_activation.cpp runs them with cuda::emulate.
#pragma once

#include <cmath>
#include <cstdint>

#include "cuda/launch.h"
#include "tensor/cpu/activation_math.h"
#include "tensor/hd.h"

namespace fk::cuda {

// y[i] = prelu(x[i], weight[c]), c = (i / S) % C
template <class T>
struct PreluForward {
  const T* x;
  const T* weight;
  int64_t C, S;
  T* y;
  FK_HD_INLINE void operator()(int64_t i) const { y[i] = cpu::prelu_value(x[i], weight[(i / S) % C]); }
};

// dx[i] = x > 0 ? dy : w[c] * dy (dweight is a per-channel reduction: prelu_dweight_kernel in activation.cu)
template <class T>
struct PreluBackward {
  const T* dy;
  const T* x;
  const T* weight;
  int64_t C, S;
  T* dx;
  FK_HD_INLINE void operator()(int64_t i) const { dx[i] = cpu::prelu_dx(dy[i], x[i], weight[(i / S) % C]); }
};

// softmax / log_softmax of column i = o * inner + j (D >= 1):
//   softmax:     y = e / sum(e), e = exp(x - max)      log_softmax: y = (x - max) - log(sum(e))
// The max is subtracted first so every exponent is <= 0: exp never overflows.
template <class T>
struct SoftmaxColumns {
  const T* x;
  int64_t D, inner;
  bool log;
  T* y;
  FK_HD_INLINE void operator()(int64_t i) const {
    int64_t start = (i / inner) * D * inner + i % inner;
    const T* xc = x + start;
    T* yc = y + start;
    T mx = xc[0];
    for (int64_t d = 1; d < D; ++d) mx = mx < xc[d * inner] ? xc[d * inner] : mx;  // std::max's rule
    if (log) {
      double sum = 0;
      for (int64_t d = 0; d < D; ++d) sum += double(std::exp(xc[d * inner] - mx));
      T lse = T(std::log(sum));  // log-sum-exp minus the max
      for (int64_t d = 0; d < D; ++d) yc[d * inner] = (xc[d * inner] - mx) - lse;
    } else {
      T sum = 0;  // in T, as the CPU's (D, inner) path and PyTorch
      for (int64_t d = 0; d < D; ++d) {
        T e = std::exp(xc[d * inner] - mx);
        yc[d * inner] = e;
        sum += e;
      }
      for (int64_t d = 0; d < D; ++d) yc[d * inner] /= sum;
    }
  }
};

// softmax backward of column i: a = sum over D of softmax_backward_term (double), then
// dx = softmax_backward_value(dy, y, a) (y * (dy - a), or dy - exp(y) * a for log_softmax)
template <class T>
struct SoftmaxBackwardColumns {
  const T* dy;
  const T* y;
  int64_t D, inner;
  bool log;
  T* dx;
  FK_HD_INLINE void operator()(int64_t i) const {
    int64_t start = (i / inner) * D * inner + i % inner;
    double acc = 0;
    for (int64_t d = 0; d < D; ++d) acc += cpu::softmax_backward_term(dy[start + d * inner], y[start + d * inner], log);
    T a = T(acc);
    for (int64_t d = 0; d < D; ++d) {
      int64_t k = start + d * inner;
      dx[k] = cpu::softmax_backward_value(dy[k], y[k], a, log);
    }
  }
};

// mask[i] = (Philox(seed, i) < keep) / keep, y[i] = x[i] * mask[i]
template <class T>
struct DropoutForward {
  const T* x;
  uint64_t seed;
  double keep;
  T scale;
  T* y;
  T* mask;
  FK_HD_INLINE void operator()(int64_t i) const {
    T m = cpu::dropout_mask(seed, i, keep, scale);
    mask[i] = m;
    y[i] = x[i] * m;
  }
};

}  // namespace fk::cuda
