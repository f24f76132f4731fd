// Image reading and writing, EXIF orientation, tensor conversion, crop and the two resamplers (Pillow
// BILINEAR, torch area). The header states the semantics; this file holds the defences. JPEGs are
// decoded by libjpeg-turbo (data/image/jpeg.h: the library Pillow uses, so the pixels are PIL's); PNG and
// BMP by stb_image (Debian's libstb-dev), which has a long fuzzing history and, at v2.27, lacks the
// later fixes (robustness.md §1.3). So only its PNG and BMP decoders are compiled in, and before any
// decoder sees a file: the file size is capped (read_file, data/formats/files.h), the size its header
// declares is held to the pixel budget, PNG chunk lengths and the inflated data size are checked, and
// JPEG scans are counted.
// 16-bit PNGs are decoded with their own channel count and narrowed here. Images are written with
// stb_image_write. Tests: tests/data/image/test_image.cpp; fuzzed by tests/fuzz/fuzz_image.cpp.
#include "data/image/image.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>

#include <zlib.h>

#include "data/formats/files.h"
#include "data/image/jpeg.h"
#include "tensor/creation.h"
#include "tensor/parallel.h"
#include "tensor/pool.h"

// stb is compiled here, with its functions static to this file so that another copy of stb in the
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
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb_image_write.h>
#pragma GCC diagnostic pop

namespace fk::data {

namespace fs = std::filesystem;

Image::Image(int64_t width, int64_t height) : width(width), height(height) {
  FK_CHECK(width >= 0 && height >= 0, "Image: negative size ", width, "x", height);
  pixels.assign(size_t(width * height * 3), 0);
}

// ---------------------------------------------------------------------------------------------------
// Reading

// "JPEG", "PNG" or "BMP" from the first bytes; anything else is refused with a guess at what it is.
static const char* sniff_format(const std::string& b, const std::string& what) {
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

// ---------------------------------------------------------------------------------------------------
// Header sizes, read here so that the pixel budget holds before any decoder allocates (stb refuses
// some huge headers itself, with a message about an "unknown image type", and lets others through: a
// 15000x15000 PNG decodes, robustness.md §1.3).

static uint32_t read_uint(const uint8_t* p, int nbytes, bool big_endian) {
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
static void walk_jpeg_segments(const std::string& bytes, Visit visit) {
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

struct DeclaredSize {
  int64_t width = -1;
  int64_t height = -1;     // -1: not found (stb then reports the header as corrupt)
  int64_t png_raw = -1;    // PNG: the bytes its image data must inflate to; -1: unknown
  bool png_interlaced = false;
};

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

static DeclaredSize declared_size(const std::string& bytes, const std::string& format) {
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

static void check_pixel_budget(int64_t w, int64_t h, const std::string& what, const ImageReadOptions& opts) {
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

static void check_jpeg_scans(const std::string& bytes, const std::string& what) {
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
static void check_png_structure(const std::string& bytes, const std::string& what, const DeclaredSize& size) {
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

// ---------------------------------------------------------------------------------------------------
// Decoding

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

// ---------------------------------------------------------------------------------------------------
// Writing

static void append_bytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size));
}

static void check_writable(const Image& img, const char* fn) {
  FK_CHECK(!img.empty(), fn, ": empty image (", img.width, "x", img.height, ")");
  FK_CHECK(img.pixels.size() == size_t(img.width * img.height * 3), fn, ": image holds ", img.pixels.size(),
           " bytes, expected ", img.width, "x", img.height, "x3");
  // stb_image_write sizes its buffers in int
  FK_CHECK(img.width <= 65535 && img.height <= 65535 && img.width * img.height * 3 < (int64_t(1) << 30), fn,
           ": ", img.width, "x", img.height, " is too large to encode");
}

std::string encode_png(const Image& img) {
  check_writable(img, "encode_png");
  std::string out;
  const int ok = stbi_write_png_to_func(append_bytes, &out, int(img.width), int(img.height), 3, img.pixels.data(),
                                        int(img.width * 3));
  FK_CHECK(ok, "encode_png: stb_image_write failed on a ", img.width, "x", img.height, " image");
  return out;
}

std::string encode_jpeg(const Image& img, int quality) {
  check_writable(img, "encode_jpeg");
  FK_CHECK(quality >= 1 && quality <= 100, "encode_jpeg: quality ", quality, " is outside 1..100");
  std::string out;
  const int ok = stbi_write_jpg_to_func(append_bytes, &out, int(img.width), int(img.height), 3, img.pixels.data(),
                                        quality);
  FK_CHECK(ok, "encode_jpeg: stb_image_write failed on a ", img.width, "x", img.height, " image");
  return out;
}

void write_png(const std::string& path, const Image& img) { write_file_atomic(path, encode_png(img)); }
void write_jpeg(const std::string& path, const Image& img, int quality) {
  write_file_atomic(path, encode_jpeg(img, quality));
}

void write_image(const std::string& path, const Image& img, int jpeg_quality) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (ext == ".png") return write_png(path, img);
  if (ext == ".jpg" || ext == ".jpeg") return write_jpeg(path, img, jpeg_quality);
  throw Error(detail::concat(path, ": cannot tell the image format from the extension '", ext,
                             "' (use .png, .jpg or .jpeg)"));
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
// Crop and resampling

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

namespace {

// Pillow's resampling coefficients (Resample.c precompute_coeffs + normalize_coeffs_8bpc) for one axis
// and the bilinear filter: output i reads inputs first[i] .. first[i]+count[i]-1 with integer weights
// that sum to about 2^22.
struct Coeffs {
  int64_t ksize = 0;               // the most taps any output uses
  std::vector<int64_t> first;      // (out)
  std::vector<int64_t> count;      // (out)
  std::vector<int32_t> weights;    // (out, ksize)
};

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's PRECISION_BITS: 8-bit pixels, 2 bits headroom

double triangle(double x) {  // Pillow's bilinear_filter, support 1
  x = std::abs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

Coeffs bilinear_coeffs(int64_t in_size, int64_t out_size) {
  // Shrinking by `scale` widens the triangle by the same factor, so every input pixel contributes
  // (antialiasing); enlarging keeps support 1, i.e. plain linear interpolation between neighbours.
  const double scale = double(in_size) / double(out_size);
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;
  Coeffs k;
  k.ksize = int64_t(std::ceil(support)) * 2 + 1;
  k.first.resize(size_t(out_size));
  k.count.resize(size_t(out_size));
  k.weights.assign(size_t(out_size * k.ksize), 0);
  std::vector<double> w(size_t(k.ksize));
  for (int64_t i = 0; i < out_size; ++i) {
    const double center = (double(i) + 0.5) * scale;  // output pixel centre in input coordinates
    // (int) truncates as in C; both ends are clamped to the input
    const int64_t xmin = std::max<int64_t>(int64_t(center - support + 0.5), 0);
    const int64_t xmax = std::min<int64_t>(int64_t(center + support + 0.5), in_size) - xmin;  // tap count
    double sum = 0.0;
    for (int64_t x = 0; x < xmax; ++x) {
      w[size_t(x)] = triangle((double(x + xmin) - center + 0.5) * (1.0 / filterscale));
      sum += w[size_t(x)];
    }
    for (int64_t x = 0; x < xmax; ++x) {
      const double v = sum != 0.0 ? w[size_t(x)] / sum : w[size_t(x)];
      // round half away from zero to 22-bit fixed point
      const double scaled = v * (1 << kPrecisionBits);
      k.weights[size_t(i * k.ksize + x)] = int32_t(v < 0 ? scaled - 0.5 : scaled + 0.5);
    }
    k.first[size_t(i)] = xmin;
    k.count[size_t(i)] = xmax;
  }
  return k;
}

// the accumulator starts at one half (rounding), the result is clipped to 0..255
uint8_t fixed_to_u8(int32_t acc) { return uint8_t(std::clamp(acc >> kPrecisionBits, 0, 255)); }

// One pass along x (horizontal) or y; `src` is W x H, the result out_w x H or W x out_h.
Image resample_axis(const Image& src, const Coeffs& k, bool horizontal) {
  const int64_t out_w = horizontal ? int64_t(k.first.size()) : src.width;
  const int64_t out_h = horizontal ? src.height : int64_t(k.first.size());
  Image out(out_w, out_h);
  parallel_for(out_h, 16, [&](int64_t y0, int64_t y1) {
    for (int64_t y = y0; y < y1; ++y)
      for (int64_t x = 0; x < out_w; ++x) {
        const int64_t i = horizontal ? x : y;  // the output index along the resampled axis
        const int32_t* w = &k.weights[size_t(i * k.ksize)];
        int32_t acc[3] = {1 << (kPrecisionBits - 1), 1 << (kPrecisionBits - 1), 1 << (kPrecisionBits - 1)};
        for (int64_t t = 0; t < k.count[size_t(i)]; ++t) {
          const int64_t s = k.first[size_t(i)] + t;
          const uint8_t* p = horizontal ? src.at(s, y) : src.at(x, s);
          for (int c = 0; c < 3; ++c) acc[c] += int32_t(p[c]) * w[t];
        }
        uint8_t* o = out.at(x, y);
        for (int c = 0; c < 3; ++c) o[c] = fixed_to_u8(acc[c]);
      }
  });
  return out;
}

}  // namespace

Image resize_bilinear(const Image& img, int64_t out_w, int64_t out_h) {
  FK_CHECK(!img.empty(), "resize_bilinear: empty input image (", img.width, "x", img.height, ")");
  FK_CHECK(out_w >= 1 && out_h >= 1 && out_w * out_h <= (int64_t(1) << 31), "resize_bilinear: bad output size ",
           out_w, "x", out_h);
  // Pillow skips a pass whose size does not change; the pass would be the identity anyway.
  Image out = img;
  if (out_w != img.width) out = resample_axis(out, bilinear_coeffs(img.width, out_w), true);
  if (out_h != img.height) out = resample_axis(out, bilinear_coeffs(img.height, out_h), false);
  return out;
}

Tensor resize_area(const Tensor& x, int64_t out_h, int64_t out_w) {
  FK_CHECK(x.defined() && (x.dim() == 3 || x.dim() == 4), "resize_area: expected (C, H, W) or (N, C, H, W), got ",
           x.defined() ? x.str() : std::string("undefined"));
  FK_CHECK(x.dtype() == DType::Float32 || x.dtype() == DType::Float64, "resize_area: expected a float tensor, got ",
           x.str());
  FK_CHECK(out_h >= 1 && out_w >= 1, "resize_area: bad output size ", out_h, "x", out_w, " for ", x.str());
  return ops::adaptive_avg_pool2d(x, {out_h, out_w});
}

Image resize_area(const Image& img, int64_t out_w, int64_t out_h) {
  FK_CHECK(!img.empty(), "resize_area: empty input image (", img.width, "x", img.height, ")");
  std::vector<float> v = resize_area(image_to_tensor(img), out_h, out_w).to_vector<float>();  // (3, OH, OW)
  Image out(out_w, out_h);
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < out_w * out_h; ++i)
      out.pixels[size_t(i * 3 + c)] = uint8_t(v[size_t(c * out_w * out_h + i)]);  // truncation, like .byte()
  return out;
}

}  // namespace fk::data
