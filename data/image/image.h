// Images: an 8-bit RGB picture in memory, reading (JPEG through libjpeg-turbo, PNG and BMP through
// stb_image) and writing (PNG, JPEG through stb_image_write), conversion to and from tensors, and the
// resamplers face pipelines use.
//  - read_image returns what PIL's Image.open(path).convert("RGB") gives, after EXIF orientation
//    (ImageOps.exif_transpose): the same pixels, since PIL decodes JPEG with the same libjpeg-turbo.
//  - resize_bilinear is Pillow's Image.resize(size, BILINEAR), bit for bit (antialiased when shrinking).
//  - resize_area is torch.nn.functional.interpolate(mode="area") = adaptive average pooling.
//  - crop is PIL's Image.crop with an integer box (outside pixels are black).
// Hostile files are refused before decoding: size cap, pixel budget, formats limited to JPEG/PNG/BMP,
// structure checks (robustness.md §1.3). Decoding is thread-safe. Sizes of images are given width
// first (x before y, as PIL does); sizes of tensors height first (as torch does).
// Defined in image.cpp (Image, reading, tensors, crop), image_checks.cpp (the checks before decoding),
// exif.cpp (EXIF orientation), image_write.cpp (PNG/JPEG encoding and writing) and resize.cpp.
// Tests: tests/data/image/test_image.cpp; fuzzed by tests/fuzz/fuzz_image.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace fk::data {

// An RGB image, 8 bits per channel, stored row by row: pixel (x, y) is pixels[(y*width + x)*3 + c].
struct Image {
  int64_t width = 0;
  int64_t height = 0;
  std::vector<uint8_t> pixels;  // (height, width, 3)

  Image() = default;
  Image(int64_t width, int64_t height);  // all black
  bool empty() const { return width == 0 || height == 0; }
  uint8_t* at(int64_t x, int64_t y) { return &pixels[size_t((y * width + x) * 3)]; }
  const uint8_t* at(int64_t x, int64_t y) const { return &pixels[size_t((y * width + x) * 3)]; }
  bool operator==(const Image& other) const = default;
};

struct ImageReadOptions {
  // Refuse images with more pixels than this before decoding anything (Pillow's MAX_IMAGE_PIXELS,
  // where it starts warning about decompression bombs).
  int64_t max_pixels = 89'478'485;
  int64_t max_file_bytes = int64_t(256) << 20;  // files are read whole; 256 MiB holds any sane photo
  bool apply_exif_orientation = true;            // JPEG only: rotate/mirror as the camera asked
};

// Reads a JPEG, PNG or BMP file (format sniffed from the bytes, not the name) as RGB:
//  - grayscale is replicated to R=G=B; an alpha channel is dropped (not composited), like PIL's
//    convert("RGB"); palette images are expanded;
//  - 16-bit PNG samples keep their high byte (v >> 8), as PIL does for 16-bit colour PNGs (PIL clips
//    16-bit grayscale to 255 instead; facekit treats both alike);
//  - a JPEG's EXIF orientation (1-8) is applied, so the result is upright as a viewer shows it;
//  - refused: GIF, WebP, TIFF, HEIF and other formats (the message names what the bytes look like),
//    CMYK JPEGs, truncated JPEGs (as PIL refuses them), JPEGs of more than 500 scans.
// Any problem throws fk::Error with one line "<path>: <reason>" (empty file, not an image, over the
// pixel budget, corrupt or truncated data).
Image read_image(const std::string& path, const ImageReadOptions& opts = {});
// The same on bytes in memory; `what` names the source in errors.
Image decode_image(const std::string& bytes, const std::string& what, const ImageReadOptions& opts = {});

// The EXIF orientation tag (1-8) of a JPEG held in `bytes`, or 1 when there is none or the EXIF block
// is malformed (every offset is bounds-checked; a broken block is ignored, never trusted).
int jpeg_exif_orientation(const std::string& bytes);
// Turns an image stored with EXIF orientation `orientation` upright (ImageOps.exif_transpose):
// 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90
// counter-clockwise; 1 (and anything outside 1-8) leaves it as it is.
Image apply_exif_orientation(const Image& img, int orientation);

// PNG (lossless) and baseline JPEG (quality 1-100) files, written atomically (temp file + rename).
void write_png(const std::string& path, const Image& img);
void write_jpeg(const std::string& path, const Image& img, int quality = 95);
// Chooses by extension: .png, or .jpg/.jpeg (case-insensitive); anything else is an error.
void write_image(const std::string& path, const Image& img, int jpeg_quality = 95);
// The encoded bytes (what the writers put in the file).
std::string encode_png(const Image& img);
std::string encode_jpeg(const Image& img, int quality = 95);

// To a float32 tensor (3, H, W) holding 0..255 in RGB order (facenet-pytorch's layout; divide or
// standardise afterwards as the model wants).
Tensor image_to_tensor(const Image& img);
// From a (3, H, W) or (1, 3, H, W) tensor of any real dtype holding 0..255: values are rounded to the
// nearest integer (halves to even) and clamped (NaN becomes 0), so image_to_tensor round-trips exactly.
Image tensor_to_image(const Tensor& t);

// PIL's Image.crop((x0, y0, x1, y1)): a (x1-x0) x (y1-y0) image; pixels outside the source are black.
Image crop(const Image& img, int64_t x0, int64_t y0, int64_t x1, int64_t y1);

// Pillow's Image.resize((out_w, out_h), Image.BILINEAR) on an RGB image, exactly: separable triangle
// filter whose support grows with the shrink factor (so it antialiases), horizontal pass first, 8-bit
// intermediate, 22-bit fixed-point weights (pipelines.md §2).
Image resize_bilinear(const Image& img, int64_t out_w, int64_t out_h);

// torch.nn.functional.interpolate(x, size=(out_h, out_w), mode="area") on a float (C, H, W) or
// (N, C, H, W) tensor: output (i, j) averages rows [floor(i*H/OH), ceil((i+1)*H/OH)) and the
// columns likewise (fk::ops::adaptive_avg_pool2d).
Tensor resize_area(const Tensor& x, int64_t out_h, int64_t out_w);
// The same on an image (sized width first, like every Image function), truncating the averages to
// integers as facenet-pytorch's tensor path does (interpolate(..., mode="area").byte()).
Image resize_area(const Image& img, int64_t out_w, int64_t out_h);

}  // namespace fk::data
