// upsample_bilinear2d and its backward (torch.nn.functional.interpolate, mode="bilinear",
// align_corners=False; aten::upsample_bilinear2d): checks, allocation, dispatch to
// tensor/cpu/upsample.cpp. As in ATen the output size is always given; a scale_factor only sets
// the sampling ratio (1/scale instead of H/OH). fk::upsample_bilinear2d(x, scale_factor) derives the
// size as floor(H * scale) first. CUDA inputs go to cuda/upsample.cu with the same geometry.
// Tests: tests/tensor/test_upsample.cpp, tests/autograd/test_upsample_grad.cpp, tests/cuda/test_upsample.cpp.
#include "tensor/upsample.h"

#include "cuda/upsample.h"
#include "tensor/cpu/kernels_conv_pool.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"

namespace fk::ops {

static Upsample2dGeometry upsample_geometry(const Shape& x, std::array<int64_t, 2> output_size,
                                                 const std::optional<std::array<double, 2>>& scale,
                                                 const char* op) {
  FK_CHECK(x.size() == 4, op, ": x must be 4-d (N, C, H, W), got ", shape_str(x));
  FK_CHECK(x[2] >= 1 && x[3] >= 1, op, ": x has an empty spatial size ", shape_str(x));
  FK_CHECK(output_size[0] >= 1 && output_size[1] >= 1, op, ": output size must be at least 1x1, got ",
           output_size[0], "x", output_size[1], " (x=", shape_str(x), ")");
  Upsample2dGeometry g;
  g.planes = x[0] * x[1];
  g.H = x[2], g.W = x[3], g.OH = output_size[0], g.OW = output_size[1];
  // PyTorch's area_pixel_compute_scale: 1/scale when a positive scale_factor was given, else in/out
  g.ratio_h = scale && (*scale)[0] > 0 ? 1.0 / (*scale)[0] : double(g.H) / double(g.OH);
  g.ratio_w = scale && (*scale)[1] > 0 ? 1.0 / (*scale)[1] : double(g.W) / double(g.OW);
  return g;
}

Tensor upsample_bilinear2d(const Tensor& x, std::array<int64_t, 2> output_size,
                           std::optional<std::array<double, 2>> scale_factor) {
  check_float_input(x, "upsample_bilinear2d", "x");
  const Upsample2dGeometry g = upsample_geometry(x.shape(), output_size, scale_factor, "upsample_bilinear2d");
  if constexpr (kWithCuda) {
    if (x.device().is_cuda()) return cuda::upsample_bilinear2d(x, g);
  }
  Tensor xc = x.contiguous();
  Tensor y = empty({x.size(0), x.size(1), g.OH, g.OW}, x.dtype());  // y: (N, C, OH, OW)
  dispatch_float(x.dtype(), "upsample_bilinear2d", [&]<class T>() {
    cpu::upsample_bilinear2d_forward<T>(g, xc.data<T>(), y.data<T>());
  });
  return y;
}

Tensor upsample_bilinear2d_backward(const Tensor& dy, const Shape& x_shape,
                                    std::optional<std::array<double, 2>> scale_factor) {
  const char* op = "upsample_bilinear2d_backward";
  check_float_input(dy, op, "dy");
  FK_CHECK(dy.dim() == 4 && x_shape.size() == 4 && dy.size(0) == x_shape[0] && dy.size(1) == x_shape[1], op, ": dy ",
           shape_str(dy.shape()), " does not match x=", shape_str(x_shape), " in (N, C)");
  const Upsample2dGeometry g = upsample_geometry(x_shape, {dy.size(2), dy.size(3)}, scale_factor, op);
  if constexpr (kWithCuda) {
    if (dy.device().is_cuda()) return cuda::upsample_bilinear2d_backward(dy, g, x_shape);
  }
  Tensor dyc = dy.contiguous();
  Tensor dx = empty(x_shape, dy.dtype());  // dx: (N, C, H, W)
  dispatch_float(dy.dtype(), op, [&]<class T>() {
    cpu::upsample_bilinear2d_backward<T>(g, dyc.data<T>(), dx.data<T>());
  });
  return dx;
}

}  // namespace fk::ops
