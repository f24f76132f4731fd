// Images in memory (image.h): the Image itself, decoding and reading, tensors to and from images, and
// crop. The header states the semantics; the defences live in image_checks.cpp. JPEGs are decoded by
// libjpeg-turbo (data/image/jpeg.h: the library Pillow uses, so the pixels are PIL's); PNG and BMP by
// stb_image (Debian's libstb-dev), which has a long fuzzing history and, at v2.27, lacks the later
// fixes (robustness.md §1.3). So only its PNG and BMP decoders are compiled in, and before any decoder
// sees a file: the file size is capped (data/formats/files.h), the size its header declares is held to
// the pixel budget, PNG chunk lengths and the inflated data size are checked, and JPEG scans are
// counted (image_checks.h). 16-bit PNGs are decoded with their own channel count and narrowed here.
// EXIF orientation is exif.cpp, writing image_write.cpp, resampling resize.cpp.
// Tests: tests/data/image/test_image.cpp; fuzzed by tests/fuzz/fuzz_image.cpp.
#include "data/image/image.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "data/formats/files.h"
#include "data/image/image_checks.h"
#include "data/image/jpeg.h"
#include "tensor/creation.h"

// stb_image is compiled here, with its functions static to this file so that another copy of stb in the
// same program cannot clash with ours. Its code is not ours to warn about.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO  // we read files ourselves, with a size cap
// A side limit for stb's own header checks; the real cap is the pixel budget, checked first. 2^16 lets
// a wide panorama through and keeps stb's int arithmetic far from overflow.
#define STBI_MAX_DIMENSIONS (1 << 16)
#include <stb_image.h>
#pragma GCC diagnostic pop

namespace fk::data {

Image::Image(int64_t width, int64_t height) : width(width), height(height) {
  FK_CHECK(width >= 0 && height >= 0, "Image: negative size ", width, "x", height);
  pixels.assign(size_t(width * height * 3), 0);
}

// ---------------------------------------------------------------------------------------------------
// Reading

// Frees stb's buffers when the decode scope ends (also on a throw).
struct StbFree {
  void operator()(void* p) const { stbi_image_free(p); }
};

// Copies W*H samples of `channels` channels (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) into RGB, keeping
// the high byte of 16-bit samples. Alpha is dropped, as PIL's convert("RGB") does.
template <class Sample>
static void to_rgb(const Sample* src, int channels, Image& img) {
  constexpr int shift = sizeof(Sample) == 2 ? 8 : 0;
  const size_t n = size_t(img.width * img.height);
  uint8_t* out = img.pixels.data();
  for (size_t i = 0; i < n; ++i) {
    const Sample* s = src + i * size_t(channels);
    if (channels <= 2) {
      out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = uint8_t(s[0] >> shift);
    } else {
      for (int c = 0; c < 3; ++c) out[3 * i + size_t(c)] = uint8_t(s[c] >> shift);
    }
  }
}

Image decode_image(const std::string& bytes, const std::string& what, const ImageReadOptions& opts) {
  FK_CHECK(!bytes.empty(), what, ": empty file");
  const std::string format = sniff_format(bytes, what);
  FK_CHECK(bytes.size() <= size_t(INT_MAX), what, ": ", bytes.size(), " bytes is too large for the image decoder");

  // 1. The header alone: the size it declares, checked against the budget before any decoder runs,
  //    and the structure checks.
  DeclaredSize declared = declared_size(bytes, format);
  if (declared.width >= 0) check_pixel_budget(declared.width, declared.height, what, opts);
  if (format == "JPEG") {
    check_jpeg_scans(bytes, what);
    Image img = decode_jpeg(bytes, what, opts.max_pixels);  // checks the budget again from its header
    // Cameras store portrait photos sideways and say so in EXIF; viewers (and PIL's exif_transpose)
    // turn them upright.
    if (opts.apply_exif_orientation) img = apply_exif_orientation(img, jpeg_exif_orientation(bytes));
    return img;
  }
  if (format == "PNG") check_png_structure(bytes, what, declared);

  // 2. PNG and BMP: stb reads the header again; its size must pass the budget too.
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int len = int(bytes.size());
  int w = 0, h = 0, channels = 0;
  if (!stbi_info_from_memory(data, len, &w, &h, &channels)) {
    // stb tries every format it knows and reports the last failure, which says nothing about ours
    const std::string reason = stbi_failure_reason();
    throw Error(detail::concat(what, ": corrupt or unsupported ", format, " header",
                               reason == "unknown image type" ? "" : " (stb_image: " + reason + ")"));
  }
  FK_CHECK(w > 0 && h > 0 && channels >= 1 && channels <= 4, what, ": ", format, " header gives a ", w, "x", h,
           " image with ", channels, " channels");
  check_pixel_budget(w, h, what, opts);

  // 3. The pixels, asking stb for exactly the header's channel count so that the buffer layout is
  //    known (stb converts only the tRNS and palette cases), 16-bit PNGs through the 16-bit API.
  Image img(w, h);
  int dw = 0, dh = 0, dc = 0;
  if (stbi_is_16_bit_from_memory(data, len)) {
    std::unique_ptr<stbi_us, StbFree> px(stbi_load_16_from_memory(data, len, &dw, &dh, &dc, channels));
    if (!px)
      throw Error(detail::concat(what, ": corrupt or truncated 16-bit ", format, " (stb_image: ", stbi_failure_reason(),
                                 ")"));
    FK_CHECK(dw == w && dh == h, what, ": decoded size ", dw, "x", dh, " differs from the header's ", w, "x", h);
    to_rgb(px.get(), channels, img);
  } else {
    std::unique_ptr<stbi_uc, StbFree> px(stbi_load_from_memory(data, len, &dw, &dh, &dc, channels));
    if (!px)
      throw Error(detail::concat(what, ": corrupt or truncated ", format, " (stb_image: ", stbi_failure_reason(), ")"));
    FK_CHECK(dw == w && dh == h, what, ": decoded size ", dw, "x", dh, " differs from the header's ", w, "x", h);
    to_rgb(px.get(), channels, img);
  }
  return img;
}

Image read_image(const std::string& path, const ImageReadOptions& opts) {
  const ReadCap cap{opts.max_file_bytes, "images (ImageReadOptions::max_file_bytes)", "an image file"};
  return decode_image(read_file(path, cap), path, opts);
}

// ---------------------------------------------------------------------------------------------------
// Tensors

Tensor image_to_tensor(const Image& img) {
  const int64_t H = img.height, W = img.width;
  Tensor t = empty({3, H, W});
  float* y = t.data<float>();  // y: (3, H, W)
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < H * W; ++i) y[c * H * W + i] = float(img.pixels[size_t(i * 3 + c)]);
  return t;
}

Image tensor_to_image(const Tensor& t) {
  FK_CHECK(t.defined(), "tensor_to_image: undefined tensor");
  const bool batched = t.dim() == 4 && t.size(0) == 1;
  FK_CHECK((t.dim() == 3 || batched) && t.size(-3) == 3, "tensor_to_image: expected (3, H, W) or (1, 3, H, W), got ",
           t.str());
  const int64_t H = t.size(-2), W = t.size(-1);
  std::vector<double> v = t.to(Device::cpu()).to_vector<double>();  // (3, H, W) in row-major order
  Image img(W, H);
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < H * W; ++i) {
      const double x = v[size_t(c * H * W + i)];
      img.pixels[size_t(i * 3 + c)] = std::isnan(x) ? 0 : uint8_t(std::clamp(std::nearbyint(x), 0.0, 255.0));
    }
  return img;
}

// ---------------------------------------------------------------------------------------------------
// Crop

Image crop(const Image& img, int64_t x0, int64_t y0, int64_t x1, int64_t y1) {
  constexpr int64_t lim = int64_t(1) << 31;
  FK_CHECK(std::abs(x0) < lim && std::abs(y0) < lim && std::abs(x1) < lim && std::abs(y1) < lim,
           "crop: box (", x0, ", ", y0, ", ", x1, ", ", y1, ") is out of range");
  const int64_t W = std::max<int64_t>(x1 - x0, 0), H = std::max<int64_t>(y1 - y0, 0);  // PIL: negative -> 0
  FK_CHECK(W * H <= lim, "crop: box (", x0, ", ", y0, ", ", x1, ", ", y1, ") gives a ", W, "x", H, " image, too large");
  Image out(W, H);
  // the part of the box inside the source is copied row by row; the rest stays black
  const int64_t cx0 = std::clamp<int64_t>(x0, 0, img.width), cx1 = std::clamp<int64_t>(x1, 0, img.width);
  const int64_t cy0 = std::clamp<int64_t>(y0, 0, img.height), cy1 = std::clamp<int64_t>(y1, 0, img.height);
  for (int64_t y = cy0; y < cy1; ++y)
    if (cx1 > cx0) std::memcpy(out.at(cx0 - x0, y - y0), img.at(cx0, y), size_t((cx1 - cx0) * 3));
  return out;
}

}  // namespace fk::data
