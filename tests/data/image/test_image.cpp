// data/image and data/draw: decoding (PNG, BMP, JPEG with EXIF orientation; grayscale, alpha, palette,
// 16-bit) to exactly PIL's pixels; broken and hostile files refused with one line naming the file; PNG/JPEG
// writing; tensor conversion; crop; Pillow BILINEAR and torch area resizing bit for bit; real photos
// from ../shared/data/faces when present; drawing clipped to the image.
// Fixtures: tests/fixtures/make_image_align.py -> tests/fixtures/image_align/.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/image/align.h"
#include "data/viz/draw.h"
#include "data/image/image.h"
#include "tensor/creation.h"
#include "tensor/shape_ops.h"
#include "tests/data/image/image_fixtures.h"
#include "test_util.h"

namespace fs = std::filesystem;
using fk::data::Image;

namespace {

using fk::test::fnv1a64;
using fk::test::npy_image;

std::string fixture_file(const std::string& name) { return fk::test::image_fixture_file(name); }

std::string temp_file(const std::string& name) {
  return (fs::temp_directory_path() / ("fk_image_" + std::to_string(::getpid()) + "_" + name)).string();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The error message read_image gives for `path`, or "" when it reads.
std::string read_error(const std::string& path, const fk::data::ImageReadOptions& opts = {}) {
  try {
    fk::data::read_image(path, opts);
  } catch (const fk::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("read_image: PNG and BMP decode to exactly PIL's pixels") {
  Image want = npy_image("src");
  CHECK_IMAGE(fk::data::read_image(fixture_file("rgb.png")), want, 0, "rgb.png");
  CHECK_IMAGE(fk::data::read_image(fixture_file("rgb.bmp")), want, 0, "rgb.bmp");
}

TEST_CASE("read_image: grayscale, gray+alpha, RGBA and palette PNGs become RGB as PIL's convert(\"RGB\")") {
  // grayscale is replicated into R, G and B; alpha is dropped, not composited
  for (const char* name : {"gray", "gray_alpha", "rgba", "palette"}) {
    CAPTURE(name);
    CHECK_IMAGE(fk::data::read_image(fixture_file(std::string(name) + ".png")), npy_image(std::string(name) + "_rgb"),
                0, name);
  }
}

TEST_CASE("read_image: 16-bit PNGs keep the high byte of each sample") {
  CHECK_IMAGE(fk::data::read_image(fixture_file("rgb16.png")), npy_image("rgb16_rgb"), 0, "rgb16.png (PIL's pixels)");
  CHECK_IMAGE(fk::data::read_image(fixture_file("gray16.png")), npy_image("gray16_rgb"), 0, "gray16.png (v >> 8)");
}

TEST_CASE("read_image: JPEG EXIF orientation is applied (little- and big-endian EXIF)") {
  // libjpeg-turbo decodes exactly as PIL (which uses it too)
  Image upright = fk::data::read_image(fixture_file("exif6.jpg"));
  CHECK(upright.width == 8);
  CHECK(upright.height == 12);
  CHECK_IMAGE(upright, npy_image("exif6_rgb"), 0, "exif6.jpg vs PIL exif_transpose");
  CHECK_IMAGE(fk::data::read_image(fixture_file("exif8_be.jpg")), npy_image("exif8_rgb"), 0, "exif8_be.jpg");
  // a broken EXIF block is ignored: the picture decodes as stored
  CHECK_IMAGE(fk::data::read_image(fixture_file("exif_bad.jpg")), npy_image("plain_rgb"), 0, "exif_bad.jpg");

  fk::data::ImageReadOptions raw;
  raw.apply_exif_orientation = false;
  Image stored = fk::data::read_image(fixture_file("exif6.jpg"), raw);
  CHECK(stored.width == 12);
  CHECK(stored.height == 8);
  CHECK_IMAGE(stored, npy_image("plain_rgb"), 0, "exif6.jpg without orientation");
  CHECK(fk::data::jpeg_exif_orientation(slurp(fixture_file("exif6.jpg"))) == 6);
  CHECK(fk::data::jpeg_exif_orientation(slurp(fixture_file("exif8_be.jpg"))) == 8);
  CHECK(fk::data::jpeg_exif_orientation(slurp(fixture_file("exif_bad.jpg"))) == 1);
}

TEST_CASE("apply_exif_orientation: all eight orientations match PIL's ImageOps.exif_transpose") {
  Image src = npy_image("orient_src");
  for (int k = 1; k <= 8; ++k) {
    CAPTURE(k);
    CHECK_IMAGE(fk::data::apply_exif_orientation(src, k), npy_image("orient_" + std::to_string(k)), 0,
                "orientation " + std::to_string(k));
  }
  CHECK(fk::data::apply_exif_orientation(src, 0) == src);
  CHECK(fk::data::apply_exif_orientation(src, 9) == src);
}

TEST_CASE("jpeg_exif_orientation: malformed EXIF never reads out of bounds and counts as no orientation") {
  auto be16 = [](int v) { return std::string{char(v >> 8), char(v & 0xFF)}; };
  auto jpeg_with_app1 = [&](const std::string& payload) {
    return std::string("\xFF\xD8", 2) + "\xFF\xE1" + be16(int(payload.size()) + 2) + payload + "\xFF\xDA" + be16(2);
  };
  // big-endian TIFF, IFD0 at 8 with `count` entries; the first is `tag` of `type` with value `v`
  auto tiff = [&](int count, int tag, int type, int v) {
    std::string t = std::string("MM\0\x2a\0\0\0\x08", 8) + be16(count);
    t += be16(tag) + be16(type) + std::string("\0\0\0\x01", 4) + be16(v) + std::string(2, '\0');
    return "Exif" + std::string(2, '\0') + t;
  };
  CHECK(fk::data::jpeg_exif_orientation(jpeg_with_app1(tiff(1, 0x0112, 3, 3))) == 3);
  CHECK(fk::data::jpeg_exif_orientation(jpeg_with_app1(tiff(1, 0x0112, 3, 9))) == 1);      // not 1-8
  CHECK(fk::data::jpeg_exif_orientation(jpeg_with_app1(tiff(1, 0x0112, 4, 6))) == 1);      // LONG, not SHORT
  CHECK(fk::data::jpeg_exif_orientation(jpeg_with_app1(tiff(1, 0x0110, 3, 6))) == 1);      // another tag
  CHECK(fk::data::jpeg_exif_orientation(jpeg_with_app1(tiff(60000, 0x0110, 3, 6))) == 1);  // count past the end
  CHECK(fk::data::jpeg_exif_orientation(jpeg_with_app1("Exif")) == 1);
  CHECK(fk::data::jpeg_exif_orientation("") == 1);
  CHECK(fk::data::jpeg_exif_orientation(std::string("\xFF\xD8\xFF\xE1\xFF\xFF", 6)) == 1);  // length past the end
  CHECK(fk::data::jpeg_exif_orientation(std::string("\xFF\xD8\xFF\xE1\x00\x00", 6)) == 1);  // length 0
  // every prefix of a real file: either the right answer or none, never a crash (ASan run)
  std::string exif6 = slurp(fixture_file("exif6.jpg"));
  for (size_t n = 0; n <= exif6.size(); ++n) {
    int o = fk::data::jpeg_exif_orientation(exif6.substr(0, n));
    CHECK((o == 1 || o == 6));
  }
}

TEST_CASE("read_image: broken, hostile and non-image files give one line naming the file and the reason") {
  struct Case {
    const char* file;
    const char* reason;
  };
  for (Case c : {Case{"truncated.jpg", "JPEG"}, Case{"truncated.png", "corrupt or truncated PNG"},
                 Case{"empty.jpg", "empty file"}, Case{"text.jpg", "not a JPEG, PNG or BMP image (looks like text)"},
                 Case{"gif_renamed.jpg", "looks like GIF"}, Case{"huge_header.png", "20000x20000"},
                 Case{"huge_header.png", "exceeds the pixel budget"}, Case{"huge_15000.png", "15000x15000 image"},
                 Case{"no_such_file.png", "cannot open"}}) {
    std::string path = fixture_file(c.file), reason = c.reason;
    std::string msg = read_error(path);
    CAPTURE(msg);
    CHECK_MESSAGE(msg.find(path + ": ") == 0, "message does not start with the path: ", msg);
    CHECK_MESSAGE(msg.find(reason) != std::string::npos, "message lacks '", reason, "': ", msg);
    CHECK(msg.find('\n') == std::string::npos);
  }
  CHECK(read_error(fk::test::fixture_path("image_align")).find("is a directory") != std::string::npos);

  // the limits are options
  fk::data::ImageReadOptions small;
  small.max_pixels = 100;
  CHECK(read_error(fixture_file("rgb.png"), small).find("23x17 image") != std::string::npos);
  small = {};
  small.max_file_bytes = 1000;
  CHECK(read_error(fixture_file("rgb.png"), small).find("limit for images") != std::string::npos);
}

TEST_CASE("decode_image: the pixel budget uses the size the header declares, for every format") {
  auto be16 = [](int v) { return std::string{char(v >> 8), char(v & 0xFF)}; };
  auto le32 = [](uint32_t v) { return std::string{char(v), char(v >> 8), char(v >> 16), char(v >> 24)}; };
  // a JPEG start of frame (baseline, 8-bit, 3 components) of 65535 x 65535, then end of image
  std::string sof("\x08", 1);
  sof += be16(65535) + be16(65535) + "\x03" + std::string("\x01\x11\x00\x02\x11\x00\x03\x11\x00", 9);
  std::string jpeg("\xFF\xD8\xFF\xC0", 4);
  jpeg += be16(int(sof.size()) + 2) + sof + "\xFF\xD9";
  CHECK_THROWS_WITH_AS(fk::data::decode_image(jpeg, "big.jpg"), doctest::Contains("big.jpg: 65535x65535 image"),
                       fk::Error);
  // a BMP info header of 30000 x -30000 (top-down), 24 bits
  std::string bmp("BM");
  bmp += le32(0) + le32(0) + le32(54) + le32(40) + le32(30000) + le32(uint32_t(-30000)) +
         std::string("\x01\x00\x18\x00", 4) + std::string(24, '\0');
  CHECK_THROWS_WITH_AS(fk::data::decode_image(bmp, "big.bmp"), doctest::Contains("30000x30000 image"), fk::Error);
  std::string png = slurp(fixture_file("huge_15000.png"));
  fk::data::ImageReadOptions generous;
  generous.max_pixels = int64_t(15000) * 15000;
  // within a raised budget the header passes, and the short pixel data is then reported as corrupt
  CHECK_THROWS_WITH_AS(fk::data::decode_image(png, "big.png", generous),
                       doctest::Contains("big.png: corrupt or truncated PNG (the image data holds"), fk::Error);
}

TEST_CASE("decode_image: crafted files (fuzzer finds) are refused before they cost memory or time") {
  // a Huffman table with more than 256 codes (it overran stb_image 2.27's arrays, nothings/stb #1289)
  std::string msg = read_error(fixture_file("dht_overflow.jpg"));
  CHECK_MESSAGE(msg.find("corrupt JPEG") != std::string::npos, msg);
  // 4 MB of zeros compressed into a 10x10 PNG: refused while counting, never allocated
  msg = read_error(fixture_file("bomb.png"));
  CHECK_MESSAGE(msg.find("decompression bomb") != std::string::npos, msg);

  // a hand-made JPEG: SOI, SOF0 8x8 with one component, two one-code Huffman tables, 501 scans
  auto be16 = [](int v) { return std::string{char(v >> 8), char(v & 0xFF)}; };
  auto segment = [&](char marker, const std::string& payload) {
    return std::string("\xFF", 1) + marker + be16(int(payload.size()) + 2) + payload;
  };
  const std::string sof = std::string("\x08\x00\x08\x00\x08\x01\x01\x11\x00", 9);  // 8-bit, 8x8, 1 component
  const std::string head = std::string("\xFF\xD8", 2) + segment('\xC0', sof);
  const std::string dht = segment('\xC4', std::string("\x00\x01", 2) + std::string(15, '\0') + std::string(1, '\0')) +
                          segment('\xC4', std::string("\x10\x01", 2) + std::string(15, '\0') + std::string(1, '\0'));
  const std::string sos = segment('\xDA', std::string("\x01\x01\x00\x00\x3F\x00", 6));
  std::string many = head + dht;
  for (int i = 0; i < 501; ++i) many += sos;
  CHECK_THROWS_WITH_AS(fk::data::decode_image(many + "\xFF\xD9", "t.jpg"), doctest::Contains("more than 500 scans"),
                       fk::Error);
}

TEST_CASE("decode_image: every truncation of a PNG, BMP and JPEG is refused or decodes whole, never crashes") {
  for (const char* name : {"rgb.png", "rgb.bmp", "exif6.jpg", "rgb16.png", "palette.png"}) {
    CAPTURE(name);
    std::string bytes = slurp(fixture_file(name));
    int refused = 0;
    for (size_t n = 0; n < bytes.size(); ++n) {
      try {
        Image img = fk::data::decode_image(bytes.substr(0, n), name);
        CHECK(img.pixels.size() == size_t(img.width * img.height * 3));  // stb pads truncated JPEG scans
      } catch (const fk::Error& e) {
        ++refused;
        CHECK(std::string(e.what()).find(name) == 0);
      }
    }
    CHECK(refused > 0);
  }
}

TEST_CASE("write_png / write_jpeg: round trips through read_image, atomically") {
  Image img = npy_image("src");
  std::string png = temp_file("out.png"), jpg = temp_file("out.JPG");
  fk::data::write_png(png, img);
  CHECK_IMAGE(fk::data::read_image(png), img, 0, "PNG round trip");
  fk::data::write_image(jpg, img, 98);
  Image back = fk::data::read_image(jpg);
  REQUIRE(back.width == img.width);
  REQUIRE(back.height == img.height);
  double mean_err = 0;
  for (size_t i = 0; i < img.pixels.size(); ++i) mean_err += std::abs(int(back.pixels[i]) - int(img.pixels[i]));
  mean_err /= double(img.pixels.size());
  CHECK(mean_err < 6.0);  // noisy 23x17 image, 4:2:0 chroma: JPEG loses a little
  // an existing file is replaced whole; no temporary file is left behind
  fk::data::write_png(png, npy_image("pil_bilinear_5x4"));
  CHECK(fk::data::read_image(png) == npy_image("pil_bilinear_5x4"));
  int leftovers = 0;
  for (const auto& entry : fs::directory_iterator(fs::temp_directory_path()))
    leftovers += entry.path().string().find(png + ".tmp") != std::string::npos;
  CHECK(leftovers == 0);
  fs::remove(png);
  fs::remove(jpg);

  CHECK_THROWS_WITH_AS(fk::data::write_image(temp_file("x.bmp"), img), doctest::Contains("use .png, .jpg"), fk::Error);
  CHECK_THROWS_AS(fk::data::write_jpeg(temp_file("x.jpg"), img, 0), fk::Error);
  CHECK_THROWS_AS(fk::data::write_png(temp_file("x.png"), Image()), fk::Error);
  CHECK_THROWS_WITH_AS(fk::data::write_png("/nonexistent_dir/x.png", img), doctest::Contains("/nonexistent_dir/x.png"),
                       fk::Error);
}

TEST_CASE("image_to_tensor / tensor_to_image: (3, H, W) float32 0..255, rounded and clamped back") {
  Image img(2, 1);
  img.pixels = {1, 2, 3, 250, 251, 252};
  fk::Tensor t = fk::data::image_to_tensor(img);
  CHECK(t.shape() == fk::Shape{3, 1, 2});
  CHECK(t.dtype() == fk::DType::Float32);
  CHECK(t.to_vector<double>() == std::vector<double>{1, 250, 2, 251, 3, 252});  // channel planes
  CHECK(fk::data::tensor_to_image(t) == img);
  CHECK(fk::data::tensor_to_image(fk::ops::reshape(t, {1, 3, 1, 2})) == img);
  Image src = npy_image("src");
  CHECK(fk::data::tensor_to_image(fk::data::image_to_tensor(src)) == src);

  fk::Tensor odd = fk::tensor({-3, 12.4, 12.6, 255.7, NAN, 300}, {3, 1, 2}, fk::DType::Float64);
  Image o = fk::data::tensor_to_image(odd);
  CHECK(std::vector<int>{o.pixels[0], o.pixels[3], o.pixels[1], o.pixels[4], o.pixels[2], o.pixels[5]} ==
        std::vector<int>{0, 12, 13, 255, 0, 255});
  CHECK_THROWS_AS(fk::data::tensor_to_image(fk::zeros({4, 2, 2})), fk::Error);
  CHECK_THROWS_AS(fk::data::tensor_to_image(fk::zeros({2, 3, 2, 2})), fk::Error);
}

TEST_CASE("crop: PIL's Image.crop, black outside the image") {
  Image src = npy_image("src");  // 23 x 17
  Image inside = fk::data::crop(src, 2, 3, 7, 5);
  REQUIRE(inside.width == 5);
  REQUIRE(inside.height == 2);
  CHECK(std::equal(inside.at(0, 1), inside.at(0, 1) + 3, src.at(2, 4)));
  CHECK(std::equal(inside.at(4, 0), inside.at(4, 0) + 3, src.at(6, 3)));

  Image out = fk::data::crop(src, -2, -1, 3, 2);  // sticks out top-left
  REQUIRE(out.width == 5);
  REQUIRE(out.height == 3);
  for (int64_t y = 0; y < 3; ++y)
    for (int64_t x = 0; x < 5; ++x) {
      bool outside = x < 2 || y < 1;
      const uint8_t* p = out.at(x, y);
      if (outside) CHECK((p[0] == 0 && p[1] == 0 && p[2] == 0));
      else CHECK(std::equal(p, p + 3, src.at(x - 2, y - 1)));
    }
  CHECK(fk::data::crop(src, 30, 30, 32, 31) == Image(2, 1));  // entirely outside: black
  CHECK(fk::data::crop(src, 5, 5, 3, 9).empty());             // negative width: empty, as PIL
  CHECK_THROWS_AS(fk::data::crop(src, 0, 0, int64_t(1) << 40, 1), fk::Error);
}

TEST_CASE("resize_bilinear: a hand-worked 2x1 -> 1x1 shrink averages with Pillow's rounding") {
  // scale 2: the triangle widens to support 2 around centre 1.0, both pixels get weight 1/2 = 2^21 in
  // 22-bit fixed point; (2^21 + 10*2^21 + 21*2^21) >> 22 = 16 (15.5 rounded up)
  Image img(2, 1);
  img.pixels = {10, 0, 255, 21, 255, 0};
  Image y = fk::data::resize_bilinear(img, 1, 1);
  CHECK(std::vector<int>(y.pixels.begin(), y.pixels.end()) == std::vector<int>{16, 128, 128});
}

TEST_CASE("resize_bilinear: Pillow's Image.resize(BILINEAR) bit for bit, shrinking and enlarging") {
  Image src = npy_image("src");  // 23 x 17
  for (auto [w, h] : std::vector<std::pair<int, int>>{
           {11, 8}, {5, 4}, {23, 9}, {9, 17}, {40, 30}, {46, 34}, {7, 30}, {1, 1}, {3, 50}, {23, 17}}) {
    std::string name = "pil_bilinear_" + std::to_string(w) + "x" + std::to_string(h);
    CHECK_IMAGE(fk::data::resize_bilinear(src, w, h), npy_image(name), 0, name);
  }
  CHECK_THROWS_AS(fk::data::resize_bilinear(src, 0, 5), fk::Error);
  CHECK_THROWS_AS(fk::data::resize_bilinear(Image(), 5, 5), fk::Error);
}

TEST_CASE("resize_area: torch interpolate(mode=\"area\") on tensors, and .byte() of it on images") {
  fk::Tensor x = fk::test::fixture("image_align/area_x.npy");  // (1, 3, 17, 23)
  for (auto [h, w] : std::vector<std::pair<int, int>>{{8, 11}, {5, 7}, {17, 23}, {34, 46}, {12, 12}}) {
    std::string name = "area_" + std::to_string(h) + "x" + std::to_string(w);
    CHECK_CLOSE(fk::data::resize_area(x, h, w), fk::test::fixture("image_align/" + name + ".npy"), 1e-4, 1e-6, name);
  }
  fk::Tensor want = fk::ops::reshape(fk::test::fixture("image_align/area_8x11.npy"), {3, 8, 11});
  CHECK_CLOSE(fk::data::resize_area(fk::ops::reshape(x, {3, 17, 23}), 8, 11), want, 1e-4, 1e-6, "area (C, H, W)");
  Image src = npy_image("src");
  CHECK_IMAGE(fk::data::resize_area(src, 11, 8), npy_image("area_u8_8x11"), 0, "area_u8 11 wide, 8 high");
  CHECK_IMAGE(fk::data::resize_area(src, 12, 12), npy_image("area_u8_12x12"), 0, "area_u8 12x12");
  CHECK_THROWS_AS(fk::data::resize_area(fk::zeros({3, 4}), 2, 2), fk::Error);
}

TEST_CASE("real photos: decode like PIL, Pillow resize and facenet-pytorch extract_face match bit for bit") {
  const std::string faces = std::string(FK_SHARED_DATA_DIR) + "/faces";
  if (!fs::exists(faces + "/test_images")) {
    FK_SKIP(faces << " not present (shared real-photo folder)");
  }
  std::ifstream list(fixture_file("real_images.txt"));
  REQUIRE(list.good());
  std::string line;
  int checked = 0;
  while (std::getline(list, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    std::string kind, rel;
    in >> kind >> rel;
    CAPTURE(line);
    Image img = fk::data::read_image(faces + "/" + rel);
    if (kind == "decode") {
      int64_t w, h;
      double mean[3];
      uint64_t hash;
      in >> w >> h >> mean[0] >> mean[1] >> mean[2] >> hash;
      REQUIRE(img.width == w);
      REQUIRE(img.height == h);
      // PIL decodes JPEG with the same libjpeg-turbo: the pixels must be identical
      for (int c = 0; c < 3; ++c) {
        double sum = 0;
        for (size_t i = size_t(c); i < img.pixels.size(); i += 3) sum += img.pixels[i];
        CHECK(std::abs(sum / double(w * h) - mean[c]) < 1.0);
      }
      CHECK(fnv1a64(img) == hash);
    } else if (kind == "resize") {
      int64_t w, h;
      uint64_t hash;
      in >> w >> h >> hash;
      CHECK(fnv1a64(fk::data::resize_bilinear(img, w, h)) == hash);
    } else if (kind == "extract") {
      std::array<float, 4> box;
      int64_t size, margin;
      uint64_t hash;
      in >> box[0] >> box[1] >> box[2] >> box[3] >> size >> margin >> hash;
      CHECK(fnv1a64(fk::data::extract_face(img, box, size, margin)) == hash);
    }
    REQUIRE(!in.fail());
    ++checked;
  }
  CHECK(checked >= 10);
}

TEST_CASE("draw: box outlines grow inward, dots and crosses, all clipped to the image") {
  const fk::data::Rgb red{255, 0, 0};
  Image img(6, 5);
  fk::data::draw_box(img, 1, 1, 4, 3, red, 1);
  // rows of 'x' where the pixel is red
  auto picture = [](const Image& im) {
    std::string s;
    for (int64_t y = 0; y < im.height; ++y) {
      for (int64_t x = 0; x < im.width; ++x) s += im.at(x, y)[0] == 255 ? 'x' : '.';
      s += '\n';
    }
    return s;
  };
  CHECK(picture(img) ==
        "......\n"
        ".xxxx.\n"
        ".x..x.\n"
        ".xxxx.\n"
        "......\n");
  Image thick(6, 5);
  fk::data::draw_box(thick, -0.2, 0.3, 5.4, 4.49, red, 2);  // rounds to the image border
  CHECK(picture(thick) ==
        "xxxxxx\n"
        "xxxxxx\n"
        "xx..xx\n"
        "xxxxxx\n"
        "xxxxxx\n");
  Image dots(6, 5);
  fk::data::draw_dot(dots, 2, 2, red, 1);
  fk::data::draw_cross(dots, 5, 0, red, 1, 1);  // in the corner: half of it is outside
  CHECK(picture(dots) ==
        "....xx\n"
        "..x..x\n"
        ".xxx..\n"
        "..x...\n"
        "......\n");
  CHECK(dots.at(2, 2)[1] == 0);
  // nothing to draw, nothing drawn, nothing broken
  Image blank(6, 5);
  fk::data::draw_box(blank, NAN, 0, 3, 3, red);
  fk::data::draw_box(blank, -1e300, -1e300, -1e299, -5, red, 1000000);
  fk::data::draw_dot(blank, 1e30, 2, red, 2000000000);
  fk::data::draw_cross(blank, -50, -50, red, 10, 3);
  CHECK(blank == Image(6, 5));
  fk::data::draw_dot(blank, 2, 2, red, 2000000000);  // a disc covering everything
  CHECK(picture(blank) == "xxxxxx\nxxxxxx\nxxxxxx\nxxxxxx\nxxxxxx\n");
}
