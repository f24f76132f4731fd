// read_npz / write_npz: numpy.savez (stored) and numpy.savez_compressed (deflated) fixtures written by
// tests/fixtures/make_writer_roundtrip.py read exactly, in archive order; write_npz round trips every
// .npy dtype; broken archives name the file and the member. Also read_file (data/formats/files.h), which every
// reader of weights starts from.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "data/formats/files.h"
#include "data/formats/npy.h"
#include "data/formats/weights.h"
#include "data/formats/zip.h"
#include "tensor/creation.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace {

std::string bytes_of(const fk::Tensor& t) {
  fk::Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.raw_data()), size_t(c.numel()) * fk::dtype_size(c.dtype()));
}

void check_identical(const fk::Tensor& got, const fk::Tensor& want, const std::string& what) {
  INFO(what);
  CHECK(got.dtype() == want.dtype());
  CHECK(got.shape() == want.shape());
  CHECK(bytes_of(got) == bytes_of(want));
}

std::string temp_file(const std::string& name) {
  return (fs::temp_directory_path() / ("fk_npz_" + std::to_string(::getpid()) + "_" + name)).string();
}

}  // namespace

TEST_CASE("npz: reads numpy.savez and numpy.savez_compressed output") {
  for (const char* file : {"numpy_savez.npz", "numpy_savez_compressed.npz"}) {
    INFO(file);
    std::string path = fk::test::fixture_path(std::string("weights_out/") + file);
    fk::StateDict sd = fk::data::read_npz(path);
    std::vector<std::string> keys;
    for (const auto& [k, v] : sd) keys.push_back(k);
    CHECK(keys == std::vector<std::string>{"weight", "bias", "count"});
    check_identical(sd.at("weight"), fk::test::fixture("weights_out/f32_4d.npy"), "weight");
    check_identical(sd.at("bias"), fk::test::fixture("weights_out/f64_1d.npy"), "bias");
    check_identical(sd.at("count"), fk::test::fixture("weights_out/i64_0d.npy"), "count");
  }
  // the compressed one really is deflated
  auto zip = fk::data::ZipReader::open(fk::test::fixture_path("weights_out/numpy_savez_compressed.npz"));
  CHECK(zip.entries()[0].method == 8);
}

TEST_CASE("npz: write_npz round trip of every .npy dtype, 0-d to 4-d") {
  fk::StateDict sd;
  for (const char* name : {"f32_0d", "f32_4d", "f32_special", "f32_empty", "f64_1d", "f16_4d", "i64_1d", "u8_4d",
                           "bool_0d", "bool_4d"})
    sd.set(std::string("layer.") + name, fk::test::fixture(std::string("weights_out/") + name + ".npy"));
  sd.set("strided", fk::ops::transpose(fk::test::fixture("weights_out/f32_2d.npy"), 0, 1));  // written contiguous
  std::string path = temp_file("roundtrip.npz");
  fk::data::write_npz(path, sd);
  fk::StateDict back = fk::data::read_npz(path);
  REQUIRE(back.size() == sd.size());
  size_t i = 0;
  for (const auto& [k, v] : back) {
    CHECK(k == sd.items()[i].first);
    check_identical(v, sd.items()[i].second, k);
    ++i;
  }
  auto zip = fk::data::ZipReader::open(path);
  CHECK(zip.entries()[0].name == "layer.f32_0d.npy");
  CHECK(zip.entries()[0].method == 0);
  fs::remove(path);
}

TEST_CASE("npz: errors name the file and the member") {
  std::string path = temp_file("bad.npz");
  fk::data::ZipWriter w;
  w.add("good.npy", fk::data::encode_npy(fk::ones({2})));
  w.add("notes.txt", "hello");
  fk::data::write_file_atomic(path, w.finish());
  CHECK_THROWS_WITH_AS(fk::data::read_npz(path), doctest::Contains("member 'notes.txt' is not a .npy array"),
                       fk::Error);

  fk::data::ZipWriter w2;
  w2.add("broken.npy", "\x93NUMPY garbage");
  fk::data::write_file_atomic(path, w2.finish());
  CHECK_THROWS_WITH_AS(fk::data::read_npz(path), doctest::Contains((path + ": member 'broken.npy'").c_str()), fk::Error);

  fk::StateDict bf;
  bf.set("x", fk::ones({2}).to(fk::DType::BFloat16));  // numpy has no bfloat16
  CHECK_THROWS_WITH_AS(fk::data::write_npz(path, bf), doctest::Contains("bfloat16"), fk::Error);
  fs::remove(path);
  CHECK_THROWS_WITH_AS(fk::data::read_npz(path), doctest::Contains(path.c_str()), fk::Error);
}

TEST_CASE("read_file: a regular file, an empty one, a pipe, a missing one") {
  std::string path = temp_file("read_file.bin");
  std::string big(300000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = char(i * 13 + i / 977);
  fk::data::write_file_atomic(path, big);
  CHECK(fk::data::read_file(path) == big);
  fk::data::write_file_atomic(path, "");
  CHECK(fk::data::read_file(path).empty());
  fs::remove(path);
  CHECK_THROWS_WITH_AS(fk::data::read_file(path), doctest::Contains((path + ": cannot open").c_str()), fk::Error);
  // not seekable: read on in chunks to the end
  std::string fifo = temp_file("read_file.fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::thread writer([&] { std::ofstream(fifo, std::ios::binary) << big; });
  CHECK(fk::data::read_file(fifo) == big);
  writer.join();
  fs::remove(fifo);
}

TEST_CASE("npy: a header over numpy's 10,000-byte limit is refused, one at the limit is read") {
  // a v2 header (4-byte length) padded with spaces, as numpy pads, to `len` bytes ending in '\n'
  auto npy_with_header = [](size_t len) {
    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    std::string h = dict + std::string(len - dict.size() - 1, ' ') + "\n";
    std::string out = std::string("\x93NUMPY\x02\x00", 8);
    for (int i = 0; i < 4; ++i) out += char((len >> (8 * i)) & 0xff);
    out += h;
    const float v[2] = {1.5f, -2.0f};
    out.append(reinterpret_cast<const char*>(v), sizeof v);
    return out;
  };
  fk::Tensor ok = fk::data::parse_npy(npy_with_header(10000), "ok.npy");
  CHECK(ok.to_vector<float>() == std::vector<float>{1.5f, -2.0f});
  CHECK_THROWS_WITH_AS(fk::data::parse_npy(npy_with_header(60000), "big.npy"),
                       doctest::Contains("big.npy: .npy header of 60000 bytes is over the 10000-byte limit"), fk::Error);
}
