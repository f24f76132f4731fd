// Colour maps and blending for heatmaps (Grad-CAM overlays).
//  - jet(v) is OpenCV's COLORMAP_JET: cv2.applyColorMap(np.uint8(255 * v), cv2.COLORMAP_JET) for one
//    pixel, returned as RGB (OpenCV gives BGR). OpenCV builds its 256-entry table by linear
//    interpolation of the control points in modules/imgproc/src/colormap.cpp; we rebuild the same table.
//  - heatmap_image maps a (H, W) tensor of values in [0, 1] through jet.
//  - blend(a, b, alpha) = round(alpha * a + (1 - alpha) * b) per channel (cv2.addWeighted-like).
// Tests: tests/data/viz/test_colormap.cpp.
#pragma once

#include <array>
#include <cstdint>

#include "data/viz/draw.h"
#include "data/image/image.h"
#include "tensor/tensor.h"

namespace fk::data {

// The colour of level v in [0, 1]: v is clamped, quantised like OpenCV's input as uint8(255 * v)
// (truncation, as numpy's astype(uint8) does), and looked up in the 256-entry table. NaN gives level 0.
Rgb jet(double v);
// The same table indexed directly by the uint8 level.
Rgb jet_level(uint8_t level);
// The whole table (RGB), level 0 (dark blue) to 255 (dark red).
const std::array<Rgb, 256>& jet_table();

// A (H, W) tensor of any real dtype (a (1, H, W) or (1, 1, H, W) view is accepted too) mapped through
// jet pixel by pixel: an Image of width W and height H. Values outside [0, 1] are clamped.
Image heatmap_image(const Tensor& map);

// Per pixel and channel round(alpha * a + (1 - alpha) * b) (halves away from zero), alpha in [0, 1]
// (clamped; NaN is an fk::Error); a and b must be the same size (else fk::Error naming both sizes).
Image blend(const Image& a, const Image& b, double alpha);

}  // namespace fk::data
