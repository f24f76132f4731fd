// CUDA batch norm (declared in cuda/norm.h), the twin of tensor/cpu/norm.cpp:
//   forward:  one block per channel reduces its N*S values to the mean and biased variance (shifted
//             sums in double, as the CPU), writes save_mean/save_invstd and updates the running stats;
//             then one thread per element normalises (BatchNormForward).
//   backward: one block per channel reduces sum(dy) and sum(dy * (x - mean)) in double, writes dbias,
//             dweight and the dx coefficients; then one thread per element computes dx.
// The math is tensor/cpu/norm_math.h. Tested by tests/cuda/test_norm.cpp.
#include "cuda/norm.h"

#include <cuda_runtime.h>

#include "cuda/check.h"
#include "cuda/launch.h"
#include "cuda/norm_kernels.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"

namespace fk::cuda {

namespace {

// The pointer of an optional per-channel tensor (null when undefined).
template <class T>
T* opt_ptr(const Tensor& t) {
  return t.defined() ? ptr<T>(t) : nullptr;
}

int64_t spatial_size(const Tensor& x) {
  int64_t S = 1;
  for (int64_t d = 2; d < x.dim(); ++d) S *= x.size(d);
  return S;
}

// The sum of v over the block (blockDim.x a multiple of 32, at most 1024), valid in thread 0:
// a shuffle reduction inside each warp, the warp sums through shared memory, then one more in warp 0.
__device__ double block_sum(double v, double* shared /* 32 */) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  const int lane = int(threadIdx.x) & 31, warp = int(threadIdx.x) >> 5;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  const int warps = int(blockDim.x) >> 5;
  v = int(threadIdx.x) < warps ? shared[threadIdx.x] : 0.0;
  if (warp == 0)
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;
}

// Block c: the statistics of channel c of x (N, C, S); save_mean/save_invstd (C) are assigned and the
// (optional, strided) running stats updated in place. running_var gets the unbiased M/(M-1) * var.
template <class T>
__global__ void batch_norm_stats_kernel(const T* x, int64_t N, int64_t C, int64_t S, double momentum, double eps,
                                        T* running_mean, int64_t rm_stride, T* running_var, int64_t rv_stride,
                                        T* save_mean, T* save_invstd) {
  const int64_t c = blockIdx.x, M = N * S;
  const double K = double(x[c * S]);  // shift: the channel's first value (n = 0, s = 0)
  double sum = 0, sumsq = 0;
  for (int64_t m = threadIdx.x; m < M; m += blockDim.x) {
    double d = double(x[cpu::bn_offset(m / S, c, m % S, C, S)]) - K;
    sum += d;
    sumsq += d * d;
  }
  __shared__ double sh_sum[32], sh_sumsq[32];
  sum = block_sum(sum, sh_sum);
  sumsq = block_sum(sumsq, sh_sumsq);
  if (threadIdx.x != 0) return;
  double mean, var;
  cpu::bn_finish_stats(K, sum, sumsq, M, &mean, &var);
  save_mean[c] = T(mean);
  save_invstd[c] = T(cpu::bn_invstd(var, eps));
  if (running_mean)
    running_mean[c * rm_stride] = T(cpu::bn_running_update(double(running_mean[c * rm_stride]), mean, momentum));
  if (running_var) {
    double unbias = double(M) / double(M - 1);
    running_var[c * rv_stride] = T(cpu::bn_running_update(double(running_var[c * rv_stride]), var * unbias, momentum));
  }
}

// Block c: dbias[c] = sum dy, dweight[c] = invstd * sum dy*(x - mean), and the dx coefficients
// k, ka, kb of channel c (cpu::bn_backward_coefs).
template <class T>
__global__ void batch_norm_backward_reduce_kernel(const T* dy, const T* x, const T* mean, const T* invstd,
                                                  const T* weight, int64_t N, int64_t C, int64_t S, bool training,
                                                  T* dweight, T* dbias, T* k, T* ka, T* kb) {
  const int64_t c = blockIdx.x, M = N * S;
  const double mu = double(mean[c]), is = double(invstd[c]);
  double sum_dy = 0, sum_dy_xmu = 0;
  for (int64_t m = threadIdx.x; m < M; m += blockDim.x) {
    int64_t off = cpu::bn_offset(m / S, c, m % S, C, S);
    double g = double(dy[off]);
    sum_dy += g;
    sum_dy_xmu += g * (double(x[off]) - mu);
  }
  __shared__ double sh_dy[32], sh_dy_xmu[32];
  sum_dy = block_sum(sum_dy, sh_dy);
  sum_dy_xmu = block_sum(sum_dy_xmu, sh_dy_xmu);
  if (threadIdx.x != 0) return;
  dbias[c] = T(sum_dy);
  dweight[c] = T(sum_dy_xmu * is);
  cpu::BnBackwardCoefs co = cpu::bn_backward_coefs(sum_dy, sum_dy_xmu, is, weight ? double(weight[c]) : 1.0, M, training);
  k[c] = T(co.k);
  ka[c] = T(co.ka);
  kb[c] = T(co.kb);
}

}  // namespace

ops::BatchNormResult batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                                Tensor running_var, bool training, double momentum, double eps) {
  const int64_t N = x.size(0), C = x.size(1), S = spatial_size(x), M = N * S;
  const int dev = x.device().index;
  Tensor xc = x.contiguous();
  Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  ops::BatchNormResult r{empty(x.shape(), x.dtype(), x.device()), empty({C}, x.dtype(), x.device()),
                         empty({C}, x.dtype(), x.device())};
  dispatch_float(x.dtype(), "batch_norm", [&]<class T>() {
    T* mean = ptr<T>(r.save_mean);
    T* invstd = ptr<T>(r.save_invstd);
    if (training) {
      if (M == 0 || C == 0) return;  // empty batch: empty output, running stats untouched (as PyTorch)
      batch_norm_stats_kernel<T><<<unsigned(C), kThreads, 0, stream(dev)>>>(
          ptr<T>(xc), N, C, S, momentum, eps, opt_ptr<T>(running_mean),
          running_mean.defined() ? running_mean.strides()[0] : 0, opt_ptr<T>(running_var),
          running_var.defined() ? running_var.strides()[0] : 0, mean, invstd);
      FK_CUDA_CHECK(cudaGetLastError());
    } else {
      launch(C, BatchNormEvalStats<T>{ptr<T>(running_mean), running_mean.strides()[0], ptr<T>(running_var),
                                      running_var.strides()[0], eps, mean, invstd}, dev);
    }
    launch(xc.numel(), BatchNormForward<T>{ptr<T>(xc), mean, invstd, opt_ptr<T>(w), opt_ptr<T>(b), C, S, ptr<T>(r.y)},
           dev);
  });
  return r;
}

ops::BatchNormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                                        const Tensor& save_mean, const Tensor& save_invstd, bool training) {
  const int64_t N = x.size(0), C = x.size(1), S = spatial_size(x);
  const int dev = x.device().index;
  Tensor dyc = dy.contiguous(), xc = x.contiguous(), mean = save_mean.contiguous(), invstd = save_invstd.contiguous();
  Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  ops::BatchNormGrads g{empty(x.shape(), x.dtype(), x.device()), empty({C}, x.dtype(), x.device()),
                        empty({C}, x.dtype(), x.device())};
  if (C == 0) return g;
  Tensor coefs = empty({3, C}, x.dtype(), x.device());  // rows k, ka, kb of dx = k*dy - ka - kb*(x - mean)
  dispatch_float(x.dtype(), "batch_norm_backward", [&]<class T>() {
    T* k = ptr<T>(coefs);
    batch_norm_backward_reduce_kernel<T><<<unsigned(C), kThreads, 0, stream(dev)>>>(
        ptr<T>(dyc), ptr<T>(xc), ptr<T>(mean), ptr<T>(invstd), opt_ptr<T>(w), N, C, S, training, ptr<T>(g.dweight),
        ptr<T>(g.dbias), k, k + C, k + 2 * C);
    FK_CUDA_CHECK(cudaGetLastError());
    launch(xc.numel(), BatchNormBackwardDx<T>{ptr<T>(dyc), ptr<T>(xc), ptr<T>(mean), k, k + C, k + 2 * C, C, S,
                                              ptr<T>(g.dx)}, dev);
  });
  return g;
}

}  // namespace fk::cuda
