// EXIF orientation of JPEGs (image.h: jpeg_exif_orientation, apply_exif_orientation): the tag found in
// the first EXIF block with every offset bounds-checked (a broken block is ignored, never trusted), and
// the image turned upright as ImageOps.exif_transpose does.
// Tests: tests/data/image/test_image.cpp; fuzzed by tests/fuzz/fuzz_image.cpp.
#include <cstring>

#include "data/image/image.h"
#include "data/image/image_checks.h"

namespace fk::data {

// EXIF orientation. A JPEG is a list of segments "FF <marker> <2-byte big-endian length> <payload>";
// EXIF lives in an APP1 (FF E1) segment whose payload is "Exif\0\0" and a TIFF structure: byte order
// ("II" little or "MM" big endian), 42, the offset of the first directory (IFD0), then IFD0 = a 2-byte
// entry count and 12-byte entries (tag, type, count, value). Orientation is tag 0x0112, a SHORT.

// The orientation in one APP1 payload ("Exif\0\0" + TIFF), or 1 when absent or malformed.
static int exif_block_orientation(const uint8_t* p, size_t n) {
  if (n < 6 + 8 || std::memcmp(p, "Exif\0\0", 6) != 0) return 1;
  const uint8_t* tiff = p + 6;
  const size_t tn = n - 6;
  bool big;
  if (tiff[0] == 'I' && tiff[1] == 'I') big = false;
  else if (tiff[0] == 'M' && tiff[1] == 'M') big = true;
  else return 1;
  if (read_uint(tiff + 2, 2, big) != 42) return 1;
  const size_t ifd = read_uint(tiff + 4, 4, big);
  if (ifd > tn || tn - ifd < 2) return 1;
  const size_t count = read_uint(tiff + ifd, 2, big);
  for (size_t i = 0; i < count; ++i) {
    const size_t e = ifd + 2 + 12 * i;
    if (e > tn || tn - e < 12) return 1;  // the directory runs past the block
    const uint8_t* entry = tiff + e;
    if (read_uint(entry, 2, big) != 0x0112) continue;
    const uint32_t type = read_uint(entry + 2, 2, big), n_values = read_uint(entry + 4, 4, big);
    if (type != 3 || n_values < 1) return 1;  // must be SHORT; the value sits in the entry itself
    const int v = int(read_uint(entry + 8, 2, big));
    return v >= 1 && v <= 8 ? v : 1;
  }
  return 1;
}

int jpeg_exif_orientation(const std::string& bytes) {
  int orientation = 1;
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  walk_jpeg_segments(bytes, [&](uint8_t marker, size_t at, size_t size) {
    const bool exif = marker == 0xE1 && size >= 6 && std::memcmp(b + at, "Exif\0\0", 6) == 0;
    if (exif) orientation = exif_block_orientation(b + at, size);  // the first EXIF block decides, as in PIL
    return exif || marker == 0xDA;                            // metadata ends where the image data starts
  });
  return orientation;
}

Image apply_exif_orientation(const Image& img, int orientation) {
  if (orientation < 2 || orientation > 8) return img;
  const int64_t W = img.width, H = img.height;
  const bool swap = orientation >= 5;  // 5-8 exchange width and height
  Image out(swap ? H : W, swap ? W : H);
  for (int64_t oy = 0; oy < out.height; ++oy)
    for (int64_t ox = 0; ox < out.width; ++ox) {
      int64_t sx = ox, sy = oy;  // the source pixel shown at (ox, oy)
      switch (orientation) {
        case 2: sx = W - 1 - ox; break;                       // mirrored left-right
        case 3: sx = W - 1 - ox; sy = H - 1 - oy; break;      // rotated 180
        case 4: sy = H - 1 - oy; break;                       // mirrored top-bottom
        case 5: sx = oy; sy = ox; break;                      // transposed
        case 6: sx = oy; sy = H - 1 - ox; break;              // needs 90 degrees clockwise
        case 7: sx = W - 1 - oy; sy = H - 1 - ox; break;      // transverse
        case 8: sx = W - 1 - oy; sy = ox; break;              // needs 90 degrees counter-clockwise
      }
      std::memcpy(out.at(ox, oy), img.at(sx, sy), 3);
    }
  return out;
}

}  // namespace fk::data
