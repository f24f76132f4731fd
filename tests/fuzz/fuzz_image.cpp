// libFuzzer target: decode_image (format sniffing, header sizes and pixel budget, PNG chunk and
// inflate checks, JPEG scan count, EXIF walk; then libjpeg-turbo for JPEG, stb_image for PNG and BMP)
// on arbitrary bytes. What decodes must be a consistent RGB image that survives encode_png ->
// decode_image unchanged, and crop, resize and EXIF orientation must run on it. fk::Error is a correct
// rejection; anything else is a bug. The budget is 4 MP here so that each input is quick.
// The regression-* seeds reproduce what it found: a Huffman table overflow in stb_image 2.27's JPEG
// decoder (before JPEG went to libjpeg-turbo) and an overflow in facekit's own budget check.
// Run: scripts/fuzz.sh (seeds in tests/fuzz/corpus/image/).
#include <cstdint>
#include <string>

#include "data/image/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const int orientation = fk::data::jpeg_exif_orientation(bytes);
  if (orientation < 1 || orientation > 8) __builtin_trap();

  fk::data::ImageReadOptions opts;
  opts.max_pixels = int64_t(1) << 22;
  fk::data::Image img;
  try {
    img = fk::data::decode_image(bytes, "fuzz.img", opts);
  } catch (const fk::Error&) {
    return 0;
  }
  if (img.empty() || img.width * img.height > opts.max_pixels ||
      img.pixels.size() != size_t(img.width * img.height * 3))
    __builtin_trap();
  if (img.width * img.height <= (int64_t(1) << 16)) {  // keep the round trip cheap
    fk::data::Image back = fk::data::decode_image(fk::data::encode_png(img), "fuzz.img (re-encoded)", opts);
    if (!(back == img)) __builtin_trap();
  }
  fk::data::Image part = fk::data::crop(img, -2, -1, img.width / 2 + 1, img.height + 3);  // partly outside
  fk::data::Image small = fk::data::resize_bilinear(part, 7, 5);
  if (small.width != 7 || small.height != 5) __builtin_trap();
  fk::data::apply_exif_orientation(small, 1 + int(size % 8));
  return 0;
}
