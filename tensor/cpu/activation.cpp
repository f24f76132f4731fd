// CPU kernels of PReLU, softmax / log_softmax and dropout (declared in tensor/cpu/kernels_norm_act.h),
// matching torch.nn.functional.prelu / softmax / log_softmax / dropout:
//   prelu:       y = x > 0 ? x : w[c] * x
//   softmax:     y = exp(x - max) / sum exp(x - max)      log_softmax: y = x - max - log(sum exp(x - max))
//   dropout:     y = x * mask, mask = Bernoulli(1 - p) / (1 - p), u_i = Philox4x32-10(seed, i)
// The per-element formulas live in tensor/cpu/activation_math.h, shared with cuda/activation_kernels.h.
// Tested by tests/tensor/test_activation.cpp and tests/autograd/test_activation_grad.cpp.
#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/cpu/activation_math.h"
#include "tensor/cpu/kernels_norm_act.h"
#include "tensor/parallel.h"

namespace fk::cpu {

// Rows per OpenMP chunk so that a chunk touches ~32k elements.
static int64_t row_grain(int64_t row_len) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, row_len)); }

// ---- PReLU

template <class T>
void prelu_forward(const T* x, const T* weight, int64_t N, int64_t C, int64_t S, T* y) {
  // x, y: (N, C, S); weight: (C)
  parallel_for(N * C, row_grain(S), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {  // r = n * C + c
      T w = weight[r % C];
      const T* xr = x + r * S;
      T* yr = y + r * S;
      for (int64_t s = 0; s < S; ++s) yr[s] = prelu_value(xr[s], w);
    }
  });
}

template <class T>
void prelu_backward(const T* dy, const T* x, const T* weight, int64_t N, int64_t C, int64_t S, T* dx, T* dweight) {
  // dy, x, dx: (N, C, S); weight, dweight: (C). Channels in parallel: each owns its dweight sum.
  parallel_for(C, row_grain(N * S), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      T w = weight[c];
      // dweight in 8 double lanes (lane k sums the terms s = k mod 8), added up in lane order at the
      // end: a fixed order, so the same on every run, and loops the compiler vectorises (one running
      // double sum cannot be: it would have to reorder the additions)
      typedef double d8 __attribute__((vector_size(64)));  // GCC vector extension: 8 doubles
      d8 lane = {};
      for (int64_t n = 0; n < N; ++n) {
        const T* dyr = dy + (n * C + c) * S;
        const T* xr = x + (n * C + c) * S;
        T* dxr = dx + (n * C + c) * S;
        for (int64_t s = 0; s < S; ++s) dxr[s] = prelu_dx(dyr[s], xr[s], w);
        int64_t s = 0;
        for (; s + 8 <= S; s += 8) {
          d8 xv, dv;
          for (int k = 0; k < 8; ++k) xv[k] = double(xr[s + k]), dv[k] = double(dyr[s + k]);
          lane += xv > 0 ? d8{} : xv * dv;  // prelu_dweight_term, 8 at once
        }
        for (; s < S; ++s) lane[s % 8] += prelu_dweight_term(dyr[s], xr[s]);
      }
      double dw = 0;
      for (int k = 0; k < 8; ++k) dw += lane[k];
      dweight[c] = T(dw);
    }
  });
}

// ---- softmax / log_softmax. Subtracting the max first makes every exponent <= 0: exp never
// overflows, even for logits like 1000, and the largest term is exactly 1 so the sum never
// underflows to 0. Two loop shapes: a contiguous row when dim is the last one (inner == 1, the common
// case: plain loops the compiler vectorises), else each outer slice is a (D, inner) block whose
// D-reductions run for all `inner` columns at once, so every pass still reads memory contiguously.

template <class T>
static void softmax_row(const T* x, int64_t D, bool log, T* y) {
  // x, y: (D)
  T mx = x[0];
  for (int64_t d = 1; d < D; ++d) mx = std::max(mx, x[d]);
  if (log) {
    double sum = 0;
    for (int64_t d = 0; d < D; ++d) sum += double(std::exp(x[d] - mx));
    T lse = T(std::log(sum));  // log-sum-exp minus the max
    for (int64_t d = 0; d < D; ++d) y[d] = (x[d] - mx) - lse;
  } else {
    // the sum in T and y = e * (1 / sum), as PyTorch rounds them: a probability that saturates to 1.0
    // there does here too (MTCNN sorts candidates by such probabilities, and ties keep scan order)
    T sum = 0;
    for (int64_t d = 0; d < D; ++d) {
      y[d] = std::exp(x[d] - mx);
      sum += y[d];
    }
    const T inv = T(1) / sum;
    for (int64_t d = 0; d < D; ++d) y[d] *= inv;
  }
}

template <class T>
void softmax_forward(const T* x, int64_t outer, int64_t D, int64_t inner, bool log, T* y) {
  // x, y: (outer, D, inner)
  if (D == 0 || inner == 0) return;
  if (inner == 1) {
    parallel_for(outer, row_grain(D), [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) softmax_row(x + o * D, D, log, y + o * D);
    });
    return;
  }
  parallel_for(outer, row_grain(D * inner), [&](int64_t o0, int64_t o1) {
    std::vector<T> mx(static_cast<size_t>(inner));        // (inner) max over D
    std::vector<double> sum(static_cast<size_t>(inner));  // (inner) log_softmax: sum over D of exp(x - max)
    std::vector<T> tsum(static_cast<size_t>(inner));      // (inner) softmax: the same sum in T, as PyTorch
    for (int64_t o = o0; o < o1; ++o) {
      const T* xo = x + o * D * inner;
      T* yo = y + o * D * inner;
      std::copy(xo, xo + inner, mx.begin());
      for (int64_t d = 1; d < D; ++d)
        for (int64_t i = 0; i < inner; ++i) mx[size_t(i)] = std::max(mx[size_t(i)], xo[d * inner + i]);
      if (log) {
        std::fill(sum.begin(), sum.end(), 0.0);
        for (int64_t d = 0; d < D; ++d)
          for (int64_t i = 0; i < inner; ++i) sum[size_t(i)] += double(std::exp(xo[d * inner + i] - mx[size_t(i)]));
        for (int64_t i = 0; i < inner; ++i) sum[size_t(i)] = std::log(sum[size_t(i)]);  // now log-sum-exp - max
        for (int64_t d = 0; d < D; ++d)
          for (int64_t i = 0; i < inner; ++i)
            yo[d * inner + i] = (xo[d * inner + i] - mx[size_t(i)]) - T(sum[size_t(i)]);
      } else {  // y = e / sum with the sum in T (PyTorch's _vec_softmax rounding)
        std::fill(tsum.begin(), tsum.end(), T(0));
        for (int64_t d = 0; d < D; ++d)
          for (int64_t i = 0; i < inner; ++i) {
            T e = std::exp(xo[d * inner + i] - mx[size_t(i)]);
            yo[d * inner + i] = e;
            tsum[size_t(i)] += e;
          }
        for (int64_t d = 0; d < D; ++d)
          for (int64_t i = 0; i < inner; ++i) yo[d * inner + i] /= tsum[size_t(i)];
      }
    }
  });
}

template <class T>
static void softmax_backward_row(const T* dy, const T* y, int64_t D, bool log, T* dx) {
  // dy, y, dx: (D)
  double acc = 0;  // softmax: sum dy * y; log_softmax: sum dy
  for (int64_t d = 0; d < D; ++d) acc += softmax_backward_term(dy[d], y[d], log);
  T a = T(acc);
  for (int64_t d = 0; d < D; ++d) dx[d] = softmax_backward_value(dy[d], y[d], a, log);
}

template <class T>
void softmax_backward(const T* dy, const T* y, int64_t outer, int64_t D, int64_t inner, bool log, T* dx) {
  // dy, y, dx: (outer, D, inner)
  if (D == 0 || inner == 0) return;
  if (inner == 1) {
    parallel_for(outer, row_grain(D), [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) softmax_backward_row(dy + o * D, y + o * D, D, log, dx + o * D);
    });
    return;
  }
  parallel_for(outer, row_grain(D * inner), [&](int64_t o0, int64_t o1) {
    std::vector<double> acc(static_cast<size_t>(inner));  // (inner) softmax: sum dy * y; log_softmax: sum dy
    for (int64_t o = o0; o < o1; ++o) {
      const T* dyo = dy + o * D * inner;
      const T* yo = y + o * D * inner;
      T* dxo = dx + o * D * inner;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t d = 0; d < D; ++d)
        for (int64_t i = 0; i < inner; ++i)
          acc[size_t(i)] += softmax_backward_term(dyo[d * inner + i], yo[d * inner + i], log);
      for (int64_t d = 0; d < D; ++d)
        for (int64_t i = 0; i < inner; ++i) {
          int64_t k = d * inner + i;
          dxo[k] = softmax_backward_value(dyo[k], yo[k], T(acc[size_t(i)]), log);
        }
    }
  });
}

// ---- dropout

template <class T>
void dropout_forward(uint64_t seed, const T* x, int64_t n, double p, T* y, T* mask) {
  // x, y, mask: (n). Element i's uniform is Philox(seed, i): the same mask whatever the threads, and
  // the same as the CUDA kernel's.
  double keep = 1.0 - p;
  T scale = T(keep > 0 ? 1.0 / keep : 0.0);  // unused when keep == 0: nothing is kept
  parallel_for(n, 16384, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      T m = dropout_mask(seed, i, keep, scale);
      mask[i] = m;
      y[i] = x[i] * m;
    }
  });
}

#define FK_INSTANTIATE(T)                                                                                 \
  template void prelu_forward<T>(const T*, const T*, int64_t, int64_t, int64_t, T*);                      \
  template void prelu_backward<T>(const T*, const T*, const T*, int64_t, int64_t, int64_t, T*, T*);       \
  template void softmax_forward<T>(const T*, int64_t, int64_t, int64_t, bool, T*);                        \
  template void softmax_backward<T>(const T*, const T*, int64_t, int64_t, int64_t, bool, T*);             \
  template void dropout_forward<T>(uint64_t, const T*, int64_t, double, T*, T*);
FK_INSTANTIATE(float)
FK_INSTANTIATE(double)
#undef FK_INSTANTIATE

}  // namespace fk::cpu
