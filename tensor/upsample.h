// Bilinear upsampling of (N,C,H,W) with align_corners=False, as torch.nn.functional.interpolate
// (mode="bilinear"): source coordinate = (dst + 0.5) * H/OH - 0.5, clamped at 0. When a
// scale_factor is given PyTorch uses 1/scale for the ratio, and so do we.
#pragma once

#include <array>
#include <optional>

#include "tensor/tensor.h"

namespace fk::ops {

Tensor upsample_bilinear2d(const Tensor& x, std::array<int64_t, 2> output_size,
                           std::optional<std::array<double, 2>> scale_factor = std::nullopt);
Tensor upsample_bilinear2d_backward(const Tensor& dy, const Shape& x_shape,
                                    std::optional<std::array<double, 2>> scale_factor = std::nullopt);

}  // namespace fk::ops
