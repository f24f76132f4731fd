// Internal to data/image/ (not API): the defences image reading runs before any decoder sees the bytes
// (image_checks.cpp), and the two byte-level helpers they share with exif.cpp: big/little-endian
// integers and the walk over a JPEG's segments.
// Tests: tests/data/image/test_image.cpp; fuzzed by tests/fuzz/fuzz_image.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "data/image/image.h"

namespace fk::data {

inline uint32_t read_uint(const uint8_t* p, int nbytes, bool big_endian) {
  uint32_t v = 0;
  for (int i = 0; i < nbytes; ++i) v |= uint32_t(p[big_endian ? i : nbytes - 1 - i]) << (8 * (nbytes - 1 - i));
  return v;
}

// Calls visit(marker, offset, size) for each JPEG segment in file order, with the offset and size of
// its payload in `bytes`, until visit returns true. Markers are found the way decoders find them, so
// that the checks see every segment a decoder acts on: bytes between segments that are not a marker
// are skipped, as are runs of FF fill bytes; after a start of scan (DA) the entropy-coded data is
// skipped up to the next marker (FF followed by anything but 00, a stuffed FF, or D0-D7, a restart).
// The walk ends at the end of image (D9) or the end of the bytes; a segment cut short by the end of
// the bytes is visited with the size that is there.
template <class Visit>
void walk_jpeg_segments(const std::string& bytes, Visit visit) {
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = bytes.size();
  if (n < 4 || b[0] != 0xFF || b[1] != 0xD8) return;
  size_t pos = 2;
  while (pos + 1 < n) {
    if (b[pos] != 0xFF) {  // padding or junk between segments
      ++pos;
      continue;
    }
    const uint8_t marker = b[pos + 1];
    if (marker == 0xFF) {  // fill byte before a marker
      ++pos;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {  // markers without a length
      pos += 2;
      continue;
    }
    if (marker == 0xD9 || pos + 4 > n) return;  // end of image
    const size_t len = read_uint(b + pos + 2, 2, true);  // counts its own two bytes
    if (len < 2) return;
    if (len > n - pos - 2) {  // cut short: decoders still read what is there, so visit that much, then stop
      visit(marker, pos + 4, n - pos - 4);
      return;
    }
    if (visit(marker, pos + 4, len - 2)) return;
    pos += 2 + len;
    while (marker == 0xDA && pos < n) {  // entropy-coded data up to the next marker
      if (b[pos] != 0xFF) {
        ++pos;
        continue;
      }
      size_t q = pos + 1;
      while (q < n && b[q] == 0xFF) ++q;
      if (q < n && b[q] != 0x00 && !(b[q] >= 0xD0 && b[q] <= 0xD7)) {
        pos = q - 1;  // b[pos] = FF, b[pos + 1] = the marker
        break;
      }
      pos = q + 1;
    }
  }
}

// "JPEG", "PNG" or "BMP" from the first bytes; anything else is refused with a guess at what it is.
const char* sniff_format(const std::string& b, const std::string& what);

// Header sizes, read here so that the pixel budget holds before any decoder allocates (stb refuses
// some huge headers itself, with a message about an "unknown image type", and lets others through: a
// 15000x15000 PNG decodes, robustness.md §1.3).
struct DeclaredSize {
  int64_t width = -1;
  int64_t height = -1;     // -1: not found (stb then reports the header as corrupt)
  int64_t png_raw = -1;    // PNG: the bytes its image data must inflate to; -1: unknown
  bool png_interlaced = false;
};
DeclaredSize declared_size(const std::string& bytes, const std::string& format);
void check_pixel_budget(int64_t w, int64_t h, const std::string& what, const ImageReadOptions& opts);

// Pre-flight checks, before any decoder sees the bytes: a JPEG's scan count, a PNG's chunk lengths and
// the size its image data inflates to (image_checks.cpp says why).
void check_jpeg_scans(const std::string& bytes, const std::string& what);
void check_png_structure(const std::string& bytes, const std::string& what, const DeclaredSize& size);

}  // namespace fk::data
