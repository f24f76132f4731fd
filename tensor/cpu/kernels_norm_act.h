// The CPU kernels of batch norm (tensor/cpu/norm.cpp), PReLU / softmax / log_softmax / dropout
// (tensor/cpu/activation.cpp) and nll_loss (tensor/cpu/loss.cpp): plain loops over contiguous
// buffers, the specification the CUDA twins will mirror. The public ops in tensor/norm.cpp,
// activation.cpp and loss.cpp check the arguments, make the buffers contiguous and call these.
// Every template is instantiated for float and double.
#pragma once

#include <cstdint>

#include "tensor/random.h"

namespace fk::cpu {

// ---- batch norm. x, y, dy, dx: (N, C, S), S = product of the dims after dim 1 (1 for (N, C)).

// Per channel c: mean[c] and biased variance var[c] of the N*S values x[:, c, :], in double.
template <class T>
void batch_norm_stats(const T* x, int64_t N, int64_t C, int64_t S, double* mean, double* var);

// y = (x - mean[c]) * invstd[c] * weight[c] + bias[c]; weight/bias may be null (affine off: 1 and 0).
template <class T>
void batch_norm_forward(const T* x, const T* mean, const T* invstd, const T* weight, const T* bias, int64_t N,
                        int64_t C, int64_t S, T* y);

// dbias[c] = sum dy, dweight[c] = sum dy * xhat with xhat = (x - mean) * invstd, and
//   training: dx = weight * invstd * (dy - dbias/M - xhat * dweight/M)   (M = N*S; mean/var depend on x)
//   eval:     dx = weight * invstd * dy                                  (running stats are constants)
// weight may be null (1). dx, dweight, dbias are assigned.
template <class T>
void batch_norm_backward(const T* dy, const T* x, const T* mean, const T* invstd, const T* weight, int64_t N,
                         int64_t C, int64_t S, bool training, T* dx, T* dweight, T* dbias);

// ---- batch norm followed by PReLU (alpha: C slopes) or ReLU (alpha null), fused: the statistics come
// from batch_norm_stats as for batch_norm; y = batch norm's output is recomputed, never stored.
// z = y > 0 ? y : alpha[c] * y
template <class T>
void batch_norm_act_forward(const T* x, const T* mean, const T* invstd, const T* weight, const T* bias,
                            const T* alpha, int64_t N, int64_t C, int64_t S, T* z);
// ---- batch norm followed by a residual add, fused: z = y + r with y batch norm's output (rounded to T
// first, as the two ops round it), never stored. The backward is batch_norm_backward's with dz as dy
// (and dz itself for r).
template <class T>
void batch_norm_add_forward(const T* x, const T* mean, const T* invstd, const T* weight, const T* bias, const T* r,
                            int64_t N, int64_t C, int64_t S, T* z);
// dy = y > 0 ? dz : alpha[c] * dz, then batch_norm_backward's dx, dweight, dbias from dy; and
// dalpha[c] = sum over y <= 0 of dz * y (skipped when dalpha is null). All assigned.
template <class T>
void batch_norm_act_backward(const T* dz, const T* x, const T* mean, const T* invstd, const T* weight,
                             const T* bias, const T* alpha, int64_t N, int64_t C, int64_t S, bool training, T* dx,
                             T* dweight, T* dbias, T* dalpha);

// ---- PReLU. x, y, dy, dx: (N, C, S); weight: (C). A shared weight is the case N = 1, C = 1.

// y = x > 0 ? x : weight[c] * x
template <class T>
void prelu_forward(const T* x, const T* weight, int64_t N, int64_t C, int64_t S, T* y);
// dx = x > 0 ? dy : weight[c] * dy;  dweight[c] = sum over x <= 0 of dy * x (assigned)
template <class T>
void prelu_backward(const T* dy, const T* x, const T* weight, int64_t N, int64_t C, int64_t S, T* dx, T* dweight);

// ---- softmax / log_softmax along the middle dim of x: (outer, D, inner).

// softmax:     y = exp(x - max) / sum exp(x - max)
// log_softmax: y = x - max - log(sum exp(x - max))
template <class T>
void softmax_forward(const T* x, int64_t outer, int64_t D, int64_t inner, bool log, T* y);
// softmax:     dx = y * (dy - sum(dy * y))
// log_softmax: dx = dy - exp(y) * sum(dy)
template <class T>
void softmax_backward(const T* dy, const T* y, int64_t outer, int64_t D, int64_t inner, bool log, T* dx);

// ---- dropout over n elements: mask[i] = (u_i < 1 - p) / (1 - p) with u_i = philox_uniform(seed, i)
// (tensor/philox.h), y = x * mask. Needs 0 <= p <= 1 (p = 1: mask 0, y = x * 0).
template <class T>
void dropout_forward(uint64_t seed, const T* x, int64_t n, double p, T* y, T* mask);

// ---- nll_loss. logp, dlogp: (N, C); target: (N), each in [0, C) or equal to ignore_index.

// loss = -sum over kept n of logp[n, target[n]] / (number kept)   (NaN when none is kept)
template <class T>
T nll_loss_forward(const T* logp, const int64_t* target, int64_t N, int64_t C, int64_t ignore_index);
// dlogp[n, target[n]] = -dloss / (number kept) for kept n; every other entry 0 (assigned)
template <class T>
void nll_loss_backward(T dloss, const int64_t* target, int64_t N, int64_t C, int64_t ignore_index, T* dlogp);

}  // namespace fk::cpu
