// Writing images (image.h): PNG and baseline JPEG encoded by stb_image_write, written atomically
// (data/formats/files.h: temp file + rename), the format chosen by the extension.
// Tests: tests/data/image/test_image.cpp.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string>

#include "data/formats/files.h"
#include "data/image/image.h"

// stb_image_write is compiled here, with its functions static to this file so that another copy of stb
// in the same program cannot clash with ours. Its code is not ours to warn about.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb_image_write.h>
#pragma GCC diagnostic pop

namespace fk::data {

namespace fs = std::filesystem;

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

}  // namespace fk::data
