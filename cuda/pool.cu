// The CUDA launchers of the pooling ops (cuda/pool.h): allocate the outputs on the input's device,
// make the inputs contiguous (a CUDA copy when they are not), and launch the per-index functors of
// cuda/pool_kernels.h on the current stream. Tests: tests/cuda/test_pool.cpp.
#include "cuda/pool.h"

#include "cuda/launch.h"
#include "cuda/pool_kernels.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"

namespace fk::cuda {

// x's shape with the last two dims replaced by (OH, OW).
static Shape pooled_shape(const Shape& x, int64_t OH, int64_t OW) {
  Shape s = x;
  s[s.size() - 2] = OH;
  s[s.size() - 1] = OW;
  return s;
}

std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const Pool2dGeometry& g, bool with_indices) {
  Tensor xc = x.contiguous();
  const Shape y_shape = pooled_shape(x.shape(), g.OH, g.OW);
  Tensor y = empty(y_shape, x.dtype(), x.device());  // y: (N, C, OH, OW)
  Tensor indices = with_indices ? empty(y_shape, DType::Int64, x.device()) : Tensor();
  int64_t* ip = with_indices ? ptr<int64_t>(indices) : nullptr;
  dispatch_float(x.dtype(), "max_pool2d", [&]<class T>() {
    launch(y.numel(), MaxPool2dForwardKernel<T>{ptr<T>(xc), ptr<T>(y), ip, g}, x.device().index);
  });
  return {y, indices};
}

Tensor max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Pool2dGeometry& g,
                           const Shape& x_shape) {
  FK_CHECK(indices.device() == dy.device(), "max_pool2d_backward: indices on ", indices.device().str(),
           " but dy on ", dy.device().str());
  Tensor dyc = dy.contiguous(), ic = indices.contiguous();
  Tensor dx = zeros(x_shape, dy.dtype(), dy.device());  // dx: (N, C, H, W), accumulated atomically
  dispatch_float(dy.dtype(), "max_pool2d_backward", [&]<class T>() {
    launch(dyc.numel(), MaxPool2dBackwardKernel<T>{ptr<T>(dyc), ptr<int64_t>(ic), ptr<T>(dx), g.OH * g.OW, g.H * g.W},
           dy.device().index);
  });
  return dx;
}

Tensor avg_pool2d(const Tensor& x, const Pool2dGeometry& g) {
  Tensor xc = x.contiguous();
  Tensor y = empty(pooled_shape(x.shape(), g.OH, g.OW), x.dtype(), x.device());  // y: (N, C, OH, OW)
  dispatch_float(x.dtype(), "avg_pool2d", [&]<class T>() {
    launch(y.numel(), AvgPool2dForwardKernel<T>{ptr<T>(xc), ptr<T>(y), g}, x.device().index);
  });
  return y;
}

Tensor avg_pool2d_backward(const Tensor& dy, const Pool2dGeometry& g, const Shape& x_shape) {
  Tensor dyc = dy.contiguous();
  Tensor dx = empty(x_shape, dy.dtype(), dy.device());  // dx: (N, C, H, W), every element assigned
  dispatch_float(dy.dtype(), "avg_pool2d_backward", [&]<class T>() {
    launch(dx.numel(), AvgPool2dBackwardKernel<T>{ptr<T>(dyc), ptr<T>(dx), g}, dy.device().index);
  });
  return dx;
}

Tensor adaptive_avg_pool2d(const Tensor& x, const Pool2dGeometry& g) {
  Tensor xc = x.contiguous();
  Tensor y = empty(pooled_shape(x.shape(), g.OH, g.OW), x.dtype(), x.device());  // y: (N, C, OH, OW)
  dispatch_float(x.dtype(), "adaptive_avg_pool2d", [&]<class T>() {
    launch(y.numel(), AdaptiveAvgPool2dForwardKernel<T>{ptr<T>(xc), ptr<T>(y), g}, x.device().index);
  });
  return y;
}

Tensor adaptive_avg_pool2d_backward(const Tensor& dy, const Pool2dGeometry& g, const Shape& x_shape) {
  Tensor dyc = dy.contiguous();
  Tensor dx = empty(x_shape, dy.dtype(), dy.device());  // dx: (N, C, H, W), every element assigned
  dispatch_float(dy.dtype(), "adaptive_avg_pool2d_backward", [&]<class T>() {
    launch(dx.numel(), AdaptiveAvgPool2dBackwardKernel<T>{ptr<T>(dyc), ptr<T>(dx), g}, dy.device().index);
  });
  return dx;
}

}  // namespace fk::cuda
