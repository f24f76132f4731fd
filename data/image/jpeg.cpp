// JPEG through libjpeg-turbo: see jpeg.h. libjpeg reports fatal errors through a callback that must not
// return, so the decoder runs under setjmp and the callback longjmps back with the message; only plain
// data lives in the frame between setjmp and longjmp.
#include "data/image/jpeg.h"

#include <csetjmp>
#include <cstdio>
#include <vector>

#include <jpeglib.h>
#include <jerror.h>  // after jpeglib.h: the message codes (JWRN_JPEG_EOF)

#include "tensor/error.h"

namespace fk::data {

namespace {

struct ErrorManager {
  jpeg_error_mgr pub;  // first member: libjpeg hands back a pointer to it
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;
};

extern "C" void on_fatal_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings (level -1) are recoverable corruption; premature end of data is the one PIL refuses.
extern "C" void on_message(j_common_ptr cinfo, int level) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) err->truncated = true;
}

// Returns "" on success, else the reason.
std::string decode(const std::string& bytes, int64_t max_pixels, Image& out, int64_t& width, int64_t& height) {
  jpeg_decompress_struct cinfo;
  ErrorManager err{};
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_fatal_error;
  err.pub.emit_message = on_message;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return std::string("corrupt JPEG: ") + err.message;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  width = cinfo.image_width;
  height = cinfo.image_height;
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    jpeg_destroy_decompress(&cinfo);
    return "CMYK JPEG images are not supported (convert it to RGB first)";
  }
  if (width <= 0 || height <= 0 || width * height > max_pixels) {
    jpeg_destroy_decompress(&cinfo);
    return "image of " + std::to_string(width) + "x" + std::to_string(height) + " pixels is over the budget of " +
           std::to_string(max_pixels) + " pixels";
  }
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  out.width = width;
  out.height = height;
  out.pixels.assign(size_t(width * height * 3), 0);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out.pixels.data() + size_t(cinfo.output_scanline) * size_t(width) * 3;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (err.truncated) return "truncated JPEG (data ends before the image is complete)";
  return "";
}

}  // namespace

Image decode_jpeg(const std::string& bytes, const std::string& what, int64_t max_pixels) {
  Image img;
  int64_t w = 0, h = 0;
  std::string reason = decode(bytes, max_pixels, img, w, h);
  if (!reason.empty()) throw Error(what + ": " + reason);
  return img;
}

}  // namespace fk::data
