// JPEG decoding through libjpeg-turbo (Debian's libjpeg62-turbo, the library Pillow itself decodes
// with), so that facekit sees exactly the pixels PIL's Image.open(...).convert("RGB") gives: default
// settings (islow IDCT, fancy upsampling), YCbCr and grayscale converted to RGB by the library.
// Used by data::decode_image for JPEG bytes. Tests: tests/data/image/test_image.cpp.
#pragma once

#include <cstdint>
#include <string>

#include "data/image/image.h"

namespace fk::data {

// Decodes baseline or progressive JPEG `bytes` to RGB. Refuses, with fk::Error "<what>: <reason>",
// images over `max_pixels` (checked from the header, before any pixel is decoded), CMYK/YCCK
// images, corrupt data, and truncated files (libjpeg would pad them with grey; PIL refuses them too).
Image decode_jpeg(const std::string& bytes, const std::string& what, int64_t max_pixels);

}  // namespace fk::data
