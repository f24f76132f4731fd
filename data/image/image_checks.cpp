// The defences of image reading (image_checks.h), run on the bytes before any decoder sees them: the
// format sniffed from the content (JPEG, PNG or BMP; anything else refused naming what it looks like),
// the size the header declares held to the pixel budget, a JPEG's scans counted, a PNG's chunk lengths
// and the size its image data inflates to checked (stb_image 2.27 trusts both; robustness.md §1.3).
// Tests: tests/data/image/test_image.cpp; fuzzed by tests/fuzz/fuzz_image.cpp.
#include "data/image/image_checks.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <zlib.h>

namespace fk::data {

// "JPEG", "PNG" or "BMP" from the first bytes; anything else is refused with a guess at what it is.
const char* sniff_format(const std::string& b, const std::string& what) {
  auto starts = [&](const char* magic, size_t n) { return b.size() >= n && std::memcmp(b.data(), magic, n) == 0; };
  if (starts("\xFF\xD8\xFF", 3)) return "JPEG";
  if (starts("\x89PNG\r\n\x1A\n", 8)) return "PNG";
  if (starts("BM", 2)) return "BMP";
  std::string guess;
  if (starts("GIF8", 4)) guess = "GIF";
  else if (b.size() >= 12 && starts("RIFF", 4) && b.compare(8, 4, "WEBP") == 0) guess = "WebP";
  else if (starts("II*\0", 4) || starts("MM\0*", 4)) guess = "TIFF";
  else if (b.size() >= 12 && b.compare(4, 4, "ftyp") == 0) guess = "HEIF/AVIF or MP4";
  else if (starts("<", 1) || starts("\xEF\xBB\xBF<", 4)) guess = "HTML/XML text";
  else {
    size_t n = std::min<size_t>(b.size(), 64);
    bool text = std::all_of(b.begin(), b.begin() + ptrdiff_t(n),
                            [](char c) { return (c >= 0x20 && c < 0x7F) || c == '\n' || c == '\r' || c == '\t'; });
    guess = text ? "text" : "unknown binary data";
  }
  throw Error(detail::concat(what, ": not a JPEG, PNG or BMP image (looks like ", guess, ")"));
}

// ---------------------------------------------------------------------------------------------------
// Header sizes, read here so that the pixel budget holds before any decoder allocates (stb refuses
// some huge headers itself, with a message about an "unknown image type", and lets others through: a
// 15000x15000 PNG decodes, robustness.md §1.3).

// The inflated size of a PNG's image data: per row of each pass a filter byte and the packed pixels.
// Non-interlaced images are one pass; Adam7 interlacing takes seven passes over sub-grids.
static int64_t png_raw_bytes(int64_t w, int64_t h, int bits_per_pixel, bool interlaced) {
  auto pass_bytes = [&](int64_t pw, int64_t ph) {
    return pw > 0 && ph > 0 ? ph * (1 + (pw * bits_per_pixel + 7) / 8) : 0;
  };
  if (!interlaced) return pass_bytes(w, h);
  const int64_t adam7[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                               {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
  int64_t total = 0;
  for (const auto& p : adam7)  // x0, y0, dx, dy
    total += pass_bytes((w - p[0] + p[2] - 1) / p[2], (h - p[1] + p[3] - 1) / p[3]);
  return total;
}

DeclaredSize declared_size(const std::string& bytes, const std::string& format) {
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = bytes.size();
  DeclaredSize d;
  if (format == "PNG") {
    // the IHDR chunk comes first (after Apple's "CgBI" chunk in iPhone PNGs): length, "IHDR", width,
    // height (big endian)
    size_t at = 8;
    if (n >= 16 && std::memcmp(b + 12, "CgBI", 4) == 0) at += 12 + std::min<size_t>(read_uint(b + 8, 4, true), n);
    if (at + 16 <= n && std::memcmp(b + at + 4, "IHDR", 4) == 0)
      d.width = read_uint(b + at + 8, 4, true), d.height = read_uint(b + at + 12, 4, true);
    // then bit depth, colour type (0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA), ..., interlace
    if (d.width >= 0 && at + 21 <= n && d.width <= (int64_t(1) << 31) && d.height <= (int64_t(1) << 31)) {
      const int depth = b[at + 16], color = b[at + 17];
      const int channels = color == 0 || color == 3 ? 1 : color == 2 ? 3 : color == 4 ? 2 : color == 6 ? 4 : 0;
      const bool depth_ok = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
      d.png_interlaced = b[at + 20] == 1;
      if (channels > 0 && depth_ok) d.png_raw = png_raw_bytes(d.width, d.height, channels * depth, d.png_interlaced);
    }
  } else if (format == "BMP") {  // file header (14 bytes), then the info header starting with its size
    if (n >= 26 && read_uint(b + 14, 4, false) == 12) {  // OS/2 BITMAPCOREHEADER: 16-bit sizes
      d.width = read_uint(b + 18, 2, false), d.height = read_uint(b + 20, 2, false);
    } else if (n >= 26) {  // BITMAPINFOHEADER and later: signed 32-bit, negative height = top-down
      d.width = std::abs(int64_t(int32_t(read_uint(b + 18, 4, false))));
      d.height = std::abs(int64_t(int32_t(read_uint(b + 22, 4, false))));
    }
  } else {  // JPEG: the start-of-frame segment (C0-CF except C4 DHT, C8 JPG, CC DAC): P, Y, X
    walk_jpeg_segments(bytes, [&](uint8_t marker, size_t at, size_t size) {
      const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (sof && size >= 5) d.width = read_uint(b + at + 3, 2, true), d.height = read_uint(b + at + 1, 2, true);
      return sof || marker == 0xDA;
    });
  }
  return d;
}

void check_pixel_budget(int64_t w, int64_t h, const std::string& what, const ImageReadOptions& opts) {
  const bool over = w > 0 && h > opts.max_pixels / w;  // w * h > max_pixels, without overflowing
  FK_CHECK(!over, what, ": ", w, "x", h, " image (", double(w) * double(h) / 1e6,
           " megapixels) exceeds the pixel budget of ", opts.max_pixels,
           " pixels (ImageReadOptions::max_pixels); refused before decoding");
}

// ---------------------------------------------------------------------------------------------------
// Pre-flight checks, before any decoder sees the bytes.

// JPEG: at most kMaxJpegScans scans. Each scan of a progressive JPEG passes over the whole image, so a
// small file of thousands of tiny scans would keep the decoder busy for hours (libjpeg-turbo's djpeg
// has a -maxscans option for the same reason; real progressive photos have about 10).
constexpr int kMaxJpegScans = 500;

void check_jpeg_scans(const std::string& bytes, const std::string& what) {
  int scans = 0;
  walk_jpeg_segments(bytes, [&](uint8_t marker, size_t, size_t) { return marker == 0xDA && ++scans > kMaxJpegScans; });
  FK_CHECK(scans <= kMaxJpegScans, what, ": JPEG has more than ", kMaxJpegScans,
           " scans (refused: decoding it would take very long)");
}

// PNG: every chunk must lie inside the file (stb 2.27 allocates a chunk's declared length before
// reading it: a 1 KB file could claim 4 GB), and the compressed image data (IDAT) must inflate to the
// size the header implies. More is a decompression bomb (stb's output buffer doubles as long as the
// stream goes on: a few MB of compressed zeros would take gigabytes); less is a truncated file, refused
// here because stb allocates the whole image before it notices. Counted with zlib without keeping the
// output; a stream zlib cannot read is left for stb to report, as is a header this cannot size.
void check_png_structure(const std::string& bytes, const std::string& what, const DeclaredSize& size) {
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = bytes.size();
  // Apple's "CgBI" PNGs (first chunk CgBI) store raw deflate data without the zlib header
  const bool apple = n >= 16 && std::memcmp(b + 12, "CgBI", 4) == 0;
  z_stream zs{};
  bool inflating = size.png_raw >= 0 && inflateInit2(&zs, apple ? -15 : 15) == Z_OK;
  struct End {  // releases zlib's state however this function leaves
    z_stream* zs;
    bool on;
    ~End() {
      if (on) inflateEnd(zs);
    }
  } end{&zs, inflating};
  int64_t inflated = 0;
  bool damaged = false;  // zlib gave up: stb decides
  std::vector<uint8_t> sink(1 << 16);
  for (size_t pos = 8; pos + 8 <= n;) {
    const uint32_t len = read_uint(b + pos, 4, true);
    const std::string type(reinterpret_cast<const char*>(b + pos + 4), 4);
    FK_CHECK(uint64_t(len) + 12 <= n - pos, what, ": corrupt or truncated PNG (chunk '", type, "' of ", len,
             " bytes runs past the end of the file)");
    if (type == "IDAT") {
      zs.next_in = const_cast<Bytef*>(b + pos + 8);
      zs.avail_in = len;
      while (inflating && zs.avail_in > 0) {
        zs.next_out = sink.data();
        zs.avail_out = uInt(sink.size());
        const int r = inflate(&zs, Z_NO_FLUSH);
        inflated += int64_t(sink.size() - zs.avail_out);
        FK_CHECK(inflated <= size.png_raw, what, ": corrupt PNG (the image data inflates to more than the ",
                 size.png_raw, " bytes its header implies: a decompression bomb?)");
        if (r == Z_STREAM_END) inflating = false;
        else if (r != Z_OK) inflating = false, damaged = true;
      }
    }
    if (type == "IEND") break;
    pos += 12 + size_t(len);
  }
  FK_CHECK(size.png_raw < 0 || damaged || inflated == size.png_raw, what,
           ": corrupt or truncated PNG (the image data holds ", inflated, " of the ", size.png_raw,
           " bytes its header implies)");
}

}  // namespace fk::data
