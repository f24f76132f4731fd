// The differentiable bilinear upsampling (torch.nn.functional.interpolate, mode="bilinear",
// align_corners=False), by output size or by scale factor (output = floor(H * scale), sampling
// ratio 1/scale, as PyTorch). Backward: the adjoint, ops::upsample_bilinear2d_backward.
// Tests: tests/autograd/test_upsample_grad.cpp.
#include <cmath>

#include "autograd/ops.h"

namespace fk {

static Tensor record_upsample(const Tensor& x, const Tensor& y, std::optional<std::array<double, 2>> scale) {
  return autograd::record("upsample_bilinear2d", y, {x}, [x_shape = x.shape(), scale](const Tensor& dy) {
    // dx[h_a, w_b] += l_a * l_b * dy for the four source taps of every output pixel
    return autograd::Grads{ops::upsample_bilinear2d_backward(dy, x_shape, scale)};
  });
}

Tensor upsample_bilinear2d(const Tensor& x, std::array<int64_t, 2> output_size) {
  return record_upsample(x, ops::upsample_bilinear2d(x, output_size), std::nullopt);
}

Tensor upsample_bilinear2d_scale(const Tensor& x, std::array<double, 2> scale_factor) {
  FK_CHECK(x.defined() && x.dim() == 4, "upsample_bilinear2d: x must be 4-d (N, C, H, W), got ",
           x.defined() ? shape_str(x.shape()) : std::string("undefined"));
  FK_CHECK(scale_factor[0] > 0 && scale_factor[1] > 0, "upsample_bilinear2d: scale_factor must be positive, got ",
           scale_factor[0], "x", scale_factor[1], " (x=", shape_str(x.shape()), ")");
  // torch.nn.functional.interpolate: output = floor(input * scale), computed in double
  const std::array<int64_t, 2> size{int64_t(std::floor(double(x.size(2)) * scale_factor[0])),
                                    int64_t(std::floor(double(x.size(3)) * scale_factor[1]))};
  return record_upsample(x, ops::upsample_bilinear2d(x, size, scale_factor), scale_factor);
}

}  // namespace fk
