// The CUDA launchers of bilinear upsampling (cuda/upsample.h): allocate on the input's device,
// make the input contiguous, launch the functors of cuda/upsample_kernels.h on the current stream.
// The backward's per-axis ranges of outputs (a few hundred int64s) are computed on the host and
// copied to the device. Tests: tests/cuda/test_upsample.cpp.
#include "cuda/upsample.h"

#include "cuda/launch.h"
#include "cuda/upsample_kernels.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"

namespace fk::cuda {

Tensor upsample_bilinear2d(const Tensor& x, const Upsample2dGeometry& g) {
  Tensor xc = x.contiguous();
  Tensor y = empty({x.size(0), x.size(1), g.OH, g.OW}, x.dtype(), x.device());  // y: (N, C, OH, OW)
  dispatch_float(x.dtype(), "upsample_bilinear2d", [&]<class T>() {
    launch(y.numel(), UpsampleBilinear2dForwardKernel<T>{ptr<T>(xc), ptr<T>(y), g}, x.device().index);
  });
  return y;
}

// The outputs reading each input position along one axis, as an int64 tensor on `device`.
template <class T>
static Tensor tap_ranges(int64_t in, int64_t out, double ratio, Device device) {
  std::vector<int64_t> r = cpu::linear_tap_ranges<T>(in, out, ratio);
  return from_buffer(r.data(), {int64_t(r.size())}, DType::Int64).to(device);
}

Tensor upsample_bilinear2d_backward(const Tensor& dy, const Upsample2dGeometry& g, const Shape& x_shape) {
  Tensor dyc = dy.contiguous();
  Tensor dx = empty(x_shape, dy.dtype(), dy.device());  // dx: (N, C, H, W), every element assigned
  dispatch_float(dy.dtype(), "upsample_bilinear2d_backward", [&]<class T>() {
    Tensor rh = tap_ranges<T>(g.H, g.OH, g.ratio_h, dy.device());  // (2H): lo, hi per input row
    Tensor rw = tap_ranges<T>(g.W, g.OW, g.ratio_w, dy.device());  // (2W): lo, hi per input column
    launch(dx.numel(),
           UpsampleBilinear2dBackwardKernel<T>{ptr<T>(dyc), ptr<T>(dx), ptr<int64_t>(rh), ptr<int64_t>(rw), g},
           dy.device().index);
  });
  return dx;
}

}  // namespace fk::cuda
