// The per-element and per-channel math of batch norm, shared by the CPU kernels (tensor/cpu/norm.cpp)
// and their CUDA twins (cuda/norm_kernels.h, cuda/norm.cu), so both devices run the same arithmetic
// (torch.nn.functional.batch_norm). x is seen as (N, C, S); M = N*S values per channel.
//   statistics:  shifted one-pass sums (d = x - K, K = the channel's first value) give
//                mean = K + sum(d)/M and the biased var = sum(d^2)/M - (sum(d)/M)^2, in double
//   forward:     y = (x - mean) * scale + bias,  scale = invstd * weight
//   backward:    dx = k*dy - ka - kb*(x - mean) with k = w*invstd, ka = k*sum(dy)/M,
//                kb = k*invstd^2*sum(dy*(x - mean))/M (training; ka = kb = 0 in eval)
// Tested by tests/tensor/test_norm.cpp, tests/tensor/test_cuda_kernels_norm.cpp and tests/cuda/test_norm.cpp.
#pragma once

#include <cmath>
#include <cstdint>

#include "tensor/hd.h"

namespace fk::cpu {

// Offset of element (n, c, s) of a contiguous (N, C, S) buffer.
FK_HD_INLINE int64_t bn_offset(int64_t n, int64_t c, int64_t s, int64_t C, int64_t S) { return (n * C + c) * S + s; }

// From the shifted sums sum(d), sum(d^2) of M values d = x - K: the mean and the biased variance
// (clamped at 0: rounding can make it slightly negative).
FK_HD_INLINE void bn_finish_stats(double K, double sum, double sumsq, int64_t M, double* mean, double* var) {
  double m = sum / double(M);
  double v = sumsq / double(M) - m * m;
  *mean = K + m;
  *var = v > 0.0 ? v : 0.0;
}

// 1 / sqrt(var + eps), in double
FK_HD_INLINE double bn_invstd(double var, double eps) { return 1.0 / std::sqrt(var + eps); }

// running = (1 - momentum) * running + momentum * stat   (PyTorch's running-stat update)
FK_HD_INLINE double bn_running_update(double running, double stat, double momentum) {
  return (1 - momentum) * running + momentum * stat;
}

// scale[c] = invstd[c] * weight[c] (weight 1 when affine is off)
template <class T>
FK_HD_INLINE T bn_scale(T invstd, const T* weight, int64_t c) {
  return invstd * (weight ? weight[c] : T(1));
}

// y = (x - mean) * scale + bias: subtracting the mean first keeps float32 digits when |mean| >> std
template <class T>
FK_HD_INLINE T bn_normalize(T x, T mean, T scale, T bias) {
  return (x - mean) * scale + bias;
}

// The three per-channel coefficients of dx = k*dy - ka - kb*(x - mean), from the channel sums.
struct BnBackwardCoefs {
  double k, ka, kb;
};
FK_HD_INLINE BnBackwardCoefs bn_backward_coefs(double sum_dy, double sum_dy_xmu, double invstd, double weight,
                                               int64_t M, bool training) {
  // in eval the statistics are constants, so the two correction terms vanish
  double inv_m = training && M > 0 ? 1.0 / double(M) : 0.0;
  double a = sum_dy * inv_m;
  double b = invstd * invstd * sum_dy_xmu * inv_m;
  double k = weight * invstd;
  return {k, k * a, k * b};
}

template <class T>
FK_HD_INLINE T bn_backward_dx(T dy, T x, T mean, T k, T ka, T kb) {
  return k * dy - ka - kb * (x - mean);
}

}  // namespace fk::cpu
