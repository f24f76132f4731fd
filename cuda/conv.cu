// conv2d forward and backward on the GPU (see conv.h): backend selection, the native im2col + cuBLAS
// path, and the cuDNN path (descriptors, algorithm cache, workspace). Both assign their outputs, which
// tensor/conv.cpp has already checked the shapes of. Tests: tests/cuda/test_conv.cpp.
#include "cuda/conv.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "cuda/blas.h"
#include "cuda/check.h"
#include "cuda/conv_kernels.h"
#include "cuda/handles.h"
#include "cuda/launch.h"
#include "tensor/cpu/conv_math.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"

namespace fk::cuda {

// ---------------------------------------------------------------- backend selection

static std::atomic<ConvBackend> g_backend{ConvBackend::FromEnv};

void set_conv_backend(ConvBackend backend) { g_backend = backend; }

ConvBackend conv_backend() {
  const ConvBackend pinned = g_backend;
  if (pinned != ConvBackend::FromEnv) return pinned;
  const char* env = std::getenv("FK_CONV");
  if (env == nullptr || std::strcmp(env, "cudnn") == 0) return ConvBackend::Cudnn;
  if (std::strcmp(env, "native") == 0) return ConvBackend::Native;
  throw Error(detail::concat("FK_CONV=", env, " is not a conv2d backend: use FK_CONV=cudnn or FK_CONV=native"));
}

namespace {

// The geometry of already checked arguments (tensor/conv.cpp did the checks).
Conv2dGeometry geometry(const Tensor& x, const Tensor& w, const Conv2dOptions& o) {
  Conv2dGeometry g;
  g.N = x.size(0), g.C = x.size(1), g.H = x.size(2), g.W = x.size(3);
  g.OC = w.size(0), g.KH = w.size(2), g.KW = w.size(3);
  g.SH = o.stride[0], g.SW = o.stride[1], g.PH = o.padding[0], g.PW = o.padding[1];
  g.DH = o.dilation[0], g.DW = o.dilation[1], g.groups = o.groups;
  g.OH = cpu::conv_out_size(g.H, g.PH, g.DH, g.KH, g.SH);
  g.OW = cpu::conv_out_size(g.W, g.PW, g.DW, g.KW, g.SW);
  return g;
}

// A 1x1 stride-1 unpadded conv reads x_n (C, H*W) as its column matrix: no im2col.
bool is_pointwise(const Conv2dGeometry& g) {
  return g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PH == 0 && g.PW == 0;
}

// ---------------------------------------------------------------- native: im2col + cuBLAS

// y (N, OC, L): per image n and group g, y_n,g (OCg, L) = w_g (OCg, Kg) x col_n,g (Kg, L), the G groups
// one strided-batched GEMM; col holds im2col(x_n) (C*KH*KW, L), or is x_n itself for a pointwise conv.
template <class T>
void native_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y, int device) {
  const int64_t L = g.OH * g.OW, HW = g.H * g.W;
  const int64_t G = g.groups, Cg = g.C / G, OCg = g.OC / G, Kg = Cg * g.KH * g.KW;
  Tensor col_buf = is_pointwise(g) ? Tensor() : empty({g.C * g.KH * g.KW * L}, dtype_of<T>::value, Device::cuda(device));
  for (int64_t n = 0; n < g.N; ++n) {
    const T* col = x + n * g.C * HW;
    if (col_buf.defined()) {
      launch(g.C * g.KH * g.KW * L, Im2colKernel<T>{g, x + n * g.C * HW, ptr<T>(col_buf), 1}, device);
      col = ptr<T>(col_buf);
    }
    gemm_strided_batched(false, false, OCg, L, Kg, T(1), w, Kg, OCg * Kg, col, L, Kg * L, T(0), y + n * g.OC * L, L,
                         OCg * L, G, device);
  }
  if (b) launch(g.N * g.OC * L, AddBiasKernel<T>{b, y, g.OC, L}, device);
}

// Per image n and group g (all groups one strided-batched GEMM each):
//   dw_g += dy_n,g (OCg, L) col_n,g^T (L, Kg)          (beta 0 for the first image, then 1)
//   dcol_n,g (Kg, L) = w_g^T (Kg, OCg) dy_n,g (OCg, L),  dx_n = col2im(dcol_n)  (pointwise: dx_n = dcol_n)
//   db = sum_n dy_n (OC, L) x ones (L)                   (a GEMV per image, accumulated)
template <class T>
void native_backward(const Conv2dGeometry& g, const T* dy, const T* x, const T* w, T* dx, T* dw, T* db,
                     int device) {
  const int64_t L = g.OH * g.OW, HW = g.H * g.W;
  const int64_t G = g.groups, Cg = g.C / G, OCg = g.OC / G, Kg = Cg * g.KH * g.KW;
  const Device dev = Device::cuda(device);
  const bool pointwise = is_pointwise(g);
  Tensor col_buf = pointwise ? Tensor() : empty({g.C * g.KH * g.KW * L}, dtype_of<T>::value, dev);
  Tensor ones;
  if (db) {
    ones = empty({L}, dtype_of<T>::value, dev);
    launch(L, ConvFillKernel<T>{ptr<T>(ones), T(1)}, device);
  }
  for (int64_t n = 0; n < g.N; ++n) {
    const T* dyn = dy + n * g.OC * L;
    const T beta = n == 0 ? T(0) : T(1);
    if (db) gemm(false, false, g.OC, 1, L, T(1), dyn, L, ptr<T>(ones), 1, beta, db, 1, device);
    if (dw) {
      const T* col = x + n * g.C * HW;
      if (!pointwise) {
        launch(g.C * g.KH * g.KW * L, Im2colKernel<T>{g, x + n * g.C * HW, ptr<T>(col_buf), 1}, device);
        col = ptr<T>(col_buf);
      }
      gemm_strided_batched(false, true, OCg, Kg, L, T(1), dyn, L, OCg * L, col, L, Kg * L, beta, dw, Kg, OCg * Kg, G,
                           device);
    }
    if (dx) {
      // the column buffer is free again (work on one stream runs in order): it now takes dcol
      T* dcol = pointwise ? dx + n * g.C * HW : ptr<T>(col_buf);
      gemm_strided_batched(true, false, Kg, L, OCg, T(1), w, Kg, OCg * Kg, dyn, L, OCg * L, T(0), dcol, L, Kg * L, G,
                           device);
      if (!pointwise) launch(g.C * HW, Col2imKernel<T>{g, dcol, dx + n * g.C * HW, 1}, device);
    }
  }
}

// ---------------------------------------------------------------- cuDNN

cudnnHandle_t cudnn_handle(int device) {
  cudnnHandle_t h = device_handle<cudnnHandle_t>(device, [] {
    cudnnHandle_t made = nullptr;
    FK_CUDNN_CHECK(cudnnCreate(&made));
    return made;
  });
  FK_CUDNN_CHECK(cudnnSetStream(h, stream(device)));
  return h;
}

template <class T>
constexpr cudnnDataType_t cudnn_type() {
  return sizeof(T) == 4 ? CUDNN_DATA_FLOAT : CUDNN_DATA_DOUBLE;
}

// cuDNN's math type for T: float32 without TF32 (CUDNN_DEFAULT_MATH would allow TF32 tensor cores on
// Ampere and newer, per the cuDNN docs; FMA math keeps plain float32 arithmetic), double has no choice.
template <class T>
constexpr cudnnMathType_t cudnn_math() {
  return sizeof(T) == 4 ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH;
}

// RAII descriptors (no cleanup ladders when a later call throws).
struct TensorDesc {
  cudnnTensorDescriptor_t d = nullptr;
  TensorDesc(cudnnDataType_t t, int64_t n, int64_t c, int64_t h, int64_t w) {
    FK_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d));
    FK_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, t, int(n), int(c), int(h), int(w)));
  }
  ~TensorDesc() { cudnnDestroyTensorDescriptor(d); }
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
};
struct FilterDesc {
  cudnnFilterDescriptor_t d = nullptr;
  FilterDesc(cudnnDataType_t t, int64_t oc, int64_t cg, int64_t kh, int64_t kw) {
    FK_CUDNN_CHECK(cudnnCreateFilterDescriptor(&d));
    FK_CUDNN_CHECK(cudnnSetFilter4dDescriptor(d, t, CUDNN_TENSOR_NCHW, int(oc), int(cg), int(kh), int(kw)));
  }
  ~FilterDesc() { cudnnDestroyFilterDescriptor(d); }
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
};
struct ConvDesc {
  cudnnConvolutionDescriptor_t d = nullptr;
  ConvDesc(const Conv2dGeometry& g, cudnnDataType_t t, cudnnMathType_t math) {
    FK_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d));
    // CROSS_CORRELATION: the kernel is not flipped, as in PyTorch
    FK_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(d, int(g.PH), int(g.PW), int(g.SH), int(g.SW), int(g.DH),
                                                   int(g.DW), CUDNN_CROSS_CORRELATION, t));
    FK_CUDNN_CHECK(cudnnSetConvolutionGroupCount(d, int(g.groups)));
    FK_CUDNN_CHECK(cudnnSetConvolutionMathType(d, math));
  }
  ~ConvDesc() { cudnnDestroyConvolutionDescriptor(d); }
  ConvDesc(const ConvDesc&) = delete;
  ConvDesc& operator=(const ConvDesc&) = delete;
};

// Everything one cuDNN call needs: the descriptors of x, w, y and the convolution.
struct CudnnConv {
  TensorDesc x, y;
  FilterDesc w;
  ConvDesc conv;
  template <class T>
  static CudnnConv make(const Conv2dGeometry& g) {
    constexpr cudnnDataType_t t = cudnn_type<T>();
    return CudnnConv{TensorDesc(t, g.N, g.C, g.H, g.W), TensorDesc(t, g.N, g.OC, g.OH, g.OW),
                     FilterDesc(t, g.OC, g.C / g.groups, g.KH, g.KW), ConvDesc(g, t, cudnn_math<T>())};
  }
};

// The algorithm cache: one choice per (direction, device, dtype, geometry), made by cuDNN's
// heuristics (cudnnGet*_v7, no trial runs) the first time a shape is seen.
enum class Pass { Forward, BackwardData, BackwardFilter };
using AlgoKey = std::tuple<int, int, int, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                           int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;
AlgoKey algo_key(Pass p, int device, cudnnDataType_t t, const Conv2dGeometry& g) {
  return {int(p), device, int(t), g.N, g.C, g.H, g.W, g.OC, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, g.DH, g.DW, g.groups};
}

// The first of cuDNN's ranked candidates that succeeded and does not use tensor-op math (TF32 in
// float32), deterministic ones preferred; `fallback` (an algorithm every shape supports) otherwise.
template <class Perf>
int pick(const std::vector<Perf>& perfs, int count, int fallback) {
  for (bool need_deterministic : {true, false})
    for (int i = 0; i < count; ++i) {
      const Perf& p = perfs[size_t(i)];
      if (p.status != CUDNN_STATUS_SUCCESS || p.mathType == CUDNN_TENSOR_OP_MATH ||
          p.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)
        continue;
      if (need_deterministic && p.determinism != CUDNN_DETERMINISTIC) continue;
      return int(p.algo);
    }
  return fallback;
}

template <class GetAlgos>
int cached_algo(Pass pass, int device, cudnnDataType_t t, const Conv2dGeometry& g, GetAlgos get) {
  static std::mutex mu;
  static std::map<AlgoKey, int> cache;
  const AlgoKey key = algo_key(pass, device, t, g);
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }
  const int algo = get();
  std::lock_guard<std::mutex> lock(mu);
  cache[key] = algo;
  return algo;
}

// Workspace bytes as a UInt8 tensor from the caching allocator (undefined when none is needed).
Tensor workspace(size_t bytes, int device) {
  return bytes == 0 ? Tensor() : empty({int64_t(bytes)}, DType::UInt8, Device::cuda(device));
}
void* ws_ptr(const Tensor& ws) { return ws.defined() ? ws.raw_data() : nullptr; }

template <class T>
void cudnn_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y, int device) {
  cudnnHandle_t h = cudnn_handle(device);
  CudnnConv d = CudnnConv::make<T>(g);
  const auto algo = cudnnConvolutionFwdAlgo_t(cached_algo(Pass::Forward, device, cudnn_type<T>(), g, [&] {
    int count = 0;
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perfs(CUDNN_CONVOLUTION_FWD_ALGO_COUNT);
    FK_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x.d, d.w.d, d.conv.d, d.y.d, int(perfs.size()), &count,
                                                          perfs.data()));
    return pick(perfs, count, int(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM));
  }));
  size_t bytes = 0;
  FK_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, d.x.d, d.w.d, d.conv.d, d.y.d, algo, &bytes));
  Tensor ws = workspace(bytes, device);
  const T one = 1, zero = 0;
  FK_CUDNN_CHECK(cudnnConvolutionForward(h, &one, d.x.d, x, d.w.d, w, d.conv.d, algo, ws_ptr(ws), bytes, &zero, d.y.d, y));
  if (b) launch(g.N * g.OC * g.OH * g.OW, AddBiasKernel<T>{b, y, g.OC, g.OH * g.OW}, device);
}

template <class T>
void cudnn_backward(const Conv2dGeometry& g, const T* dy, const T* x, const T* w, T* dx, T* dw, T* db,
                    int device) {
  cudnnHandle_t h = cudnn_handle(device);
  CudnnConv d = CudnnConv::make<T>(g);
  const T one = 1, zero = 0;
  if (db) {
    // db[oc] = sum over n, oh, ow of dy[n, oc, oh, ow]
    TensorDesc bias(cudnn_type<T>(), 1, g.OC, 1, 1);
    FK_CUDNN_CHECK(cudnnConvolutionBackwardBias(h, &one, d.y.d, dy, &zero, bias.d, db));
  }
  if (dx) {
    const auto algo = cudnnConvolutionBwdDataAlgo_t(cached_algo(Pass::BackwardData, device, cudnn_type<T>(), g, [&] {
      int count = 0;
      std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perfs(CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT);
      FK_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w.d, d.y.d, d.conv.d, d.x.d, int(perfs.size()),
                                                                 &count, perfs.data()));
      return pick(perfs, count, int(CUDNN_CONVOLUTION_BWD_DATA_ALGO_1));
    }));
    size_t bytes = 0;
    FK_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w.d, d.y.d, d.conv.d, d.x.d, algo, &bytes));
    Tensor ws = workspace(bytes, device);
    FK_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, d.w.d, w, d.y.d, dy, d.conv.d, algo, ws_ptr(ws), bytes, &zero,
                                                d.x.d, dx));
  }
  if (dw) {
    const auto algo =
        cudnnConvolutionBwdFilterAlgo_t(cached_algo(Pass::BackwardFilter, device, cudnn_type<T>(), g, [&] {
          int count = 0;
          std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perfs(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT);
          FK_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x.d, d.y.d, d.conv.d, d.w.d,
                                                                       int(perfs.size()), &count, perfs.data()));
          return pick(perfs, count, int(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1));
        }));
    size_t bytes = 0;
    FK_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x.d, d.y.d, d.conv.d, d.w.d, algo, &bytes));
    Tensor ws = workspace(bytes, device);
    FK_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, d.x.d, x, d.y.d, dy, d.conv.d, algo, ws_ptr(ws), bytes,
                                                  &zero, d.w.d, dw));
  }
}

template <class T>
T* ptr_or_null(const Tensor& t) {
  return t.defined() ? ptr<T>(t) : nullptr;
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opts) {
  const Conv2dGeometry g = geometry(x, weight, opts);
  const ConvBackend backend = conv_backend();
  const int device = x.device().index;
  Tensor xc = x.contiguous(), wc = weight.contiguous();
  Tensor bc = bias.defined() ? bias.contiguous() : Tensor();
  Tensor y = empty({g.N, g.OC, g.OH, g.OW}, x.dtype(), x.device());  // y: (N, OC, OH, OW), zero-filled
  if (y.numel() == 0) return y;
  dispatch_float(x.dtype(), "conv2d", [&]<class T>() {
    if (backend == ConvBackend::Native)
      native_forward<T>(g, ptr<T>(xc), ptr<T>(wc), ptr_or_null<T>(bc), ptr<T>(y), device);
    else
      cudnn_forward<T>(g, ptr<T>(xc), ptr<T>(wc), ptr_or_null<T>(bc), ptr<T>(y), device);
  });
  return y;
}

ops::Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, bool has_bias,
                                 const Conv2dOptions& opts, std::array<bool, 3> output_mask) {
  const Conv2dGeometry g = geometry(x, weight, opts);
  const ConvBackend backend = conv_backend();
  const int device = x.device().index;
  Tensor dyc = dy.contiguous(), xc = x.contiguous(), wc = weight.contiguous();
  // outputs start zero-filled (the caching allocator), which is the answer for an empty batch or map
  ops::Conv2dGrads grads;
  if (output_mask[0]) grads.dx = empty(x.shape(), x.dtype(), x.device());            // dx: (N, C, H, W)
  if (output_mask[1]) grads.dweight = empty(weight.shape(), x.dtype(), x.device());  // dweight: (OC, C/groups, KH, KW)
  if (has_bias && output_mask[2]) grads.dbias = empty({g.OC}, x.dtype(), x.device());  // dbias: (OC)
  if (g.N == 0 || g.OH * g.OW == 0 || g.OC == 0) return grads;
  dispatch_float(x.dtype(), "conv2d_backward", [&]<class T>() {
    if (backend == ConvBackend::Native)
      native_backward<T>(g, ptr<T>(dyc), ptr<T>(xc), ptr<T>(wc), ptr_or_null<T>(grads.dx),
                         ptr_or_null<T>(grads.dweight), ptr_or_null<T>(grads.dbias), device);
    else
      cudnn_backward<T>(g, ptr<T>(dyc), ptr<T>(xc), ptr<T>(wc), ptr_or_null<T>(grads.dx),
                        ptr_or_null<T>(grads.dweight), ptr_or_null<T>(grads.dbias), device);
  });
  return grads;
}

}  // namespace fk::cuda
