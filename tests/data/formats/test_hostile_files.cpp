// Hostile and broken weight files (robustness.md §4 cases 1-10, 13-14): every reader must refuse with
// one fk::Error naming the file and the problem, execute nothing, allocate nothing the file does not
// hold, and never crash (these tests also run under ASan/UBSan).
#include <unistd.h>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>

#include "data/formats/files.h"
#include "data/formats/weights.h"
#include "data/formats/weights_bytes.h"
#include "data/formats/zip.h"
#include "data/pickle/pickle.h"
#include "tests/test_util.h"

namespace {

using namespace fk;
using namespace std::string_literals;
namespace fs = std::filesystem;

std::string tmp_path(const std::string& name) { return (fs::temp_directory_path() / ("fk_hostile_" + std::to_string(::getpid()) + "_" + name)).string(); }

// A plain write (no fsync: the truncation loop writes thousands of files).
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  REQUIRE_MESSAGE(out.good(), "cannot write ", path);
}

// Writes `bytes` to a temp file, runs `reader` on it, and checks it throws fk::Error whose message names
// the file and contains every one of `parts`.
void expect_error(const std::string& name, const std::string& bytes, const std::function<void(const std::string&)>& reader,
                  std::initializer_list<std::string> parts) {
  std::string path = tmp_path(name);
  write_bytes(path, bytes);
  std::string msg;
  try {
    reader(path);
  } catch (const Error& e) {
    msg = e.what();
  }
  fs::remove(path);
  REQUIRE_MESSAGE(!msg.empty(), name, ": no error thrown");
  CHECK_MESSAGE(msg.find(path) != std::string::npos, name, ": message does not name the file: ", msg);
  for (const std::string& p : parts) CHECK_MESSAGE(msg.find(p) != std::string::npos, name, ": message lacks '", p, "': ", msg);
}

auto read_torch = [](const std::string& p) { data::read_torch(p); };
auto read_pickle = [](const std::string& p) { data::read_pickle_arrays(p); };
auto read_weights = [](const std::string& p) { data::read_weights(p); };

std::string u32(uint32_t v) { return std::string{char(v), char(v >> 8), char(v >> 16), char(v >> 24)}; }
std::string i64(int64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s += char(uint64_t(v) >> (8 * i));
  return s;
}
// BINUNICODE
std::string str(const std::string& s) { return "X" + u32(uint32_t(s.size())) + s; }
// An int as LONG1 with 8 bytes (any int64, e.g. 2^62 or negatives)
std::string lng(int64_t v) { return "\x8a\x08" + i64(v); }
std::string ints(const std::vector<int64_t>& v) {
  std::string s = "(";
  for (int64_t x : v) s += lng(x);
  return s + "t";
}

// The object pickle of a state dict {'w': _rebuild_tensor_v2(storage '0' of `numel` floats, offset, size, stride)};
// `fields` = 5 (zip) or 6 (legacy, with view_metadata None).
std::string state_dict_pickle(int64_t numel, int64_t offset, const std::vector<int64_t>& size,
                              const std::vector<int64_t>& stride, int fields) {
  std::string pid = "(" + str("storage") + "ctorch\nFloatStorage\n" + str("0") + str("cpu") + lng(numel) +
                    (fields == 6 ? "N" : "") + "tQ";
  return "\x80\x02}(" + str("w") + "ctorch._utils\n_rebuild_tensor_v2\n(" + pid + lng(offset) + ints(size) + ints(stride) +
         "\x89" "ccollections\nOrderedDict\n)RtRu.";
}

// A legacy checkpoint: magic, protocol 1001, sys_info, the object, key list ['0'], then int64 numel + data.
std::string legacy_file(const std::string& object_pickle, int64_t header_numel, size_t data_floats) {
  std::string magic = std::string("\x80\x02\x8a\x0a", 4) + "\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19" + ".";
  std::string proto = "\x80\x02M\xe9\x03.";
  std::string sys = "\x80\x02}" + str("little_endian") + "\x88s.";
  std::string keys = "\x80\x02]" + str("0") + "a.";
  return magic + proto + sys + object_pickle + keys + i64(header_numel) + std::string(data_floats * 4, '\0');
}

std::string zip_file(const std::string& object_pickle, size_t data_floats, bool with_record = true) {
  data::ZipWriter z;
  z.add("archive/data.pkl", object_pickle);
  if (with_record) z.add("archive/data/0", std::string(data_floats * 4, '\0'));
  z.add("archive/version", "3\n");
  return z.finish();
}

}  // namespace

TEST_CASE("hostile files: truncation at every byte is a clean error naming the file") {
  // In memory (the readers' byte entry points), so thousands of cuts stay fast; `what` plays the path.
  for (const char* name : {"py2_proto2.pkl", "py2_proto0.pkl", "dtypes_legacy.pt", "dtypes.pt", "whole_model.pt"}) {
    std::string bytes = data::read_file(test::fixture_path(std::string("torch_files/") + name));
    bool is_pickle = std::string(name).find(".pkl") != std::string::npos;
    size_t errors = 0;
    for (size_t n = 0; n < bytes.size(); ++n) {
      std::string what = std::string(name) + " cut at " + std::to_string(n);
      try {
        if (is_pickle) data::pickle::read_pickle_arrays_bytes(bytes.substr(0, n), what);
        else data::pickle::read_torch_bytes(bytes.substr(0, n), what);
      } catch (const Error& e) {
        ++errors;
        std::string msg = e.what();
        if (msg.find(what) == std::string::npos) FAIL_CHECK(what, ": message does not name the file: ", msg);
      }
    }
    CHECK_MESSAGE(errors == bytes.size(), name, ": ", bytes.size() - errors, " truncations were accepted");
  }
  expect_error("trunc_mid", data::read_file(test::fixture_path("torch_files/py2_proto2.pkl")).substr(0, 300), read_pickle,
               {"truncated"});
}

TEST_CASE("hostile files: wrong magic and non-weight content are named") {
  std::string legacy = data::read_file(test::fixture_path("torch_files/dtypes_legacy.pt"));
  std::string bad = legacy;
  bad[6] ^= 0x55;  // a byte of the magic number
  expect_error("bad_magic.pt", bad, read_torch, {"no legacy magic number"});
  expect_error("empty.pt", "", read_weights, {"empty file"});
  expect_error("page.pth", "<!DOCTYPE html><html>404</html>", read_weights, {"HTML"});
  expect_error("weights.gz", "\x1f\x8b\x08\x00rest"s, read_weights, {"gzip", "decompress"});
  std::string tar(1024, '\0');
  tar.replace(0, 8, "sys_info");
  tar.replace(257, 5, "ustar");
  expect_error("old.tar.pt", tar, read_weights, {"pre-0.4 tar checkpoint not supported"});
  expect_error("elf.pt", "\x7f" "ELF\x02\x01", read_torch, {"unrecognised", "7f 45 4c 46"});
  // robustness.md case 13: the VGGFace2 pickle given to read_torch
  expect_error("vgg.pkl", data::read_file(test::fixture_path("torch_files/py2_proto2.pkl")), read_torch,
               {"plain pickle", "read_pickle_arrays"});
  expect_error("ckpt_as_pickle.pt", legacy, read_pickle, {"PyTorch checkpoint", "read_torch"});
}

TEST_CASE("hostile files: os.system, posix.system, builtins.eval are refused via GLOBAL and STACK_GLOBAL") {
  std::string canary = tmp_path("canary");
  fs::remove(canary);
  const std::string cmd = str("touch " + canary);
  struct Case {
    std::string name, bytes, global;
  };
  std::vector<Case> cases = {
      {"global_os_system", "\x80\x02" "cos\nsystem\n" + cmd + "\x85R.", "os.system"},
      {"global_posix_system", "\x80\x02" "cposix\nsystem\n" + cmd + "\x85R.", "posix.system"},
      {"global_builtins_eval", "\x80\x02" "cbuiltins\neval\n" + str("1+1") + "\x85R.", "builtins.eval"},
      {"stack_global_os_system", "\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x93" + cmd + "\x85R.", "os.system"},
      {"stack_global_posix", "\x80\x04\x8c\x05posix\x94\x8c\x06system\x94\x93" + cmd + "\x85R.", "posix.system"},
      {"stack_global_eval", "\x80\x04\x8c\x08" "builtins\x94\x8c\x04" "eval\x94\x93" + str("1") + "\x85R.", "builtins.eval"},
      // picklescan #14: names assembled through BINPUT/MEMOIZE/BINGET are still checked exactly
      {"memo_mix", "\x80\x04\x8c\x02os\x94\x8c\x0bOrderedDict\x94h\x00\x8c\x06systemq\x05\x93"s + cmd + "\x85R.", "os.system"},
      // modelscan #89/#330: numpy + __builtins__, dotted qualified names
      {"numpy_builtins", "\x80\x02" "cnumpy\n__builtins__\n.", "numpy.__builtins__"},
      {"dotted_name", "\x80\x02" "cnumpy\nprod.os.system\n.", "numpy.prod.os.system"},
      {"dotted_stack", "\x80\x04\x8c\x0b" "collections\x8c\x17OrderedDict.__init__.os\x93.", "collections.OrderedDict.__init__.os"},
      {"subprocess_popen", "\x80\x02" "csubprocess\nPopen\n" + cmd + "\x85R.", "subprocess.Popen"},
      {"getattr", "\x80\x02" "c__builtin__\ngetattr\n.", "__builtin__.getattr"},
  };
  for (const Case& c : cases) {
    expect_error(c.name + ".pkl", c.bytes, read_pickle, {"global " + c.global + " is not allowed"});
    // the same object pickle inside a torch checkpoint
    expect_error(c.name + ".pt", zip_file(c.bytes, 0, false), read_torch, {"global " + c.global + " is not allowed"});
  }
  // modelscan #85: BUILD on an (allowlisted) global would set attributes on code
  expect_error("build_on_global.pkl", "\x80\x02" "cnumpy.core.multiarray\n_reconstruct\n}" + str("x") + "Nsb.", read_pickle,
               {"BUILD on global numpy.core.multiarray._reconstruct"});
  CHECK_FALSE(fs::exists(canary));
}

TEST_CASE("hostile files: storage sizes, shapes, strides and offsets are checked against the storage") {
  auto legacy = [](int64_t numel, int64_t off, std::vector<int64_t> size, std::vector<int64_t> stride) {
    return legacy_file(state_dict_pickle(numel, off, size, stride, 6), numel, size_t(numel));
  };
  // a valid file first, so the refusals below are about the one field changed
  {
    std::string path = tmp_path("ok.pt");
    data::write_file_atomic(path, legacy(6, 0, {2, 3}, {3, 1}));
    CHECK(data::read_torch(path).at("w").shape() == Shape{2, 3});
    data::write_file_atomic(path, zip_file(state_dict_pickle(6, 0, {3, 2}, {1, 3}, 5), 6));
    CHECK(data::read_torch(path).at("w").shape() == Shape{3, 2});
    fs::remove(path);
  }
  expect_error("numel_past_data.pt", legacy_file(state_dict_pickle(6, 0, {6}, {1}, 6), 6, 4), read_torch,
               {"storage '0' needs 24 bytes", "truncated"});
  expect_error("numel_past_file.pt", legacy_file(state_dict_pickle(1'000'000'000, 0, {6}, {1}, 6), 6, 6), read_torch,
               {"storage '0' declares 1000000000 elements"});
  expect_error("header_mismatch.pt", legacy_file(state_dict_pickle(6, 0, {6}, {1}, 6), 7, 7), read_torch,
               {"header says 7 elements", "declared 6"});
  expect_error("zip_numel_past_record.pt", zip_file(state_dict_pickle(8, 0, {8}, {1}, 5), 6), read_torch,
               {"storage 'data/0' declares 8 elements", "record holds 24 bytes"});
  expect_error("zip_missing_record.pt", zip_file(state_dict_pickle(6, 0, {6}, {1}, 5), 6, false), read_torch,
               {"storage 'data/0' missing from the archive"});
  expect_error("negative_size.pt", legacy(6, 0, {-3, 2}, {2, 1}), read_torch, {"tensor 'w'", "negative size -3"});
  expect_error("overflow_size.pt", legacy(6, 0, {int64_t(1) << 62, 4}, {4, 1}), read_torch, {"tensor 'w'", "overflows"});
  expect_error("overflow_empty.pt", legacy(6, 0, {0, int64_t(1) << 62, int64_t(1) << 62}, {1, 1, 1}), read_torch,
               {"tensor 'w'", "overflows"});
  expect_error("negative_stride.pt", legacy(6, 0, {2, 3}, {-3, 1}), read_torch, {"tensor 'w'", "negative stride -3"});
  expect_error("overflow_stride.pt", legacy(6, 0, {3}, {int64_t(1) << 62}), read_torch, {"tensor 'w'", "overflows"});
  expect_error("stride_past_end.pt", legacy(6, 0, {2, 3}, {3, 2}), read_torch, {"tensor 'w'", "past the end", "of 6 elements"});
  expect_error("offset_past_end.pt", legacy(6, 10, {2}, {1}), read_torch, {"tensor 'w'", "storage offset 10", "past the end"});
  expect_error("offset_past_end_empty.pt", legacy(6, 10, {0}, {1}), read_torch, {"storage offset past the end"});
  expect_error("negative_offset.pt", legacy(6, -1, {2}, {1}), read_torch, {"negative storage offset"});
  expect_error("zip_offset_past_end.pt", zip_file(state_dict_pickle(6, 5, {2}, {1}, 5), 6), read_torch, {"past the end"});
}

TEST_CASE("hostile files: VM budgets and type checks (depth, memo, SETITEM/APPEND targets, lengths)") {
  // 100k-deep nested lists, two ways: stacked EMPTY_LISTs + APPENDs, and nested MARK + LIST
  const size_t N = 100'000;
  expect_error("deep_lists.pkl", "\x80\x02" + std::string(N, ']') + std::string(N - 1, 'a') + ".", read_pickle,
               {"nesting deeper than 1000"});
  expect_error("deep_marks.pkl", "\x80\x02" + std::string(N, '(') + std::string(N, 'l') + ".", read_pickle,
               {"MARK"});
  expect_error("long_binget.pkl", "\x80\x02j\xff\xff\xff\xff.", read_pickle, {"memo index 4294967295 is not set"});
  expect_error("setitem_on_list.pkl", "\x80\x02]K\x01K\x02s.", read_pickle, {"SETITEM target is list, expected dict"});
  expect_error("setitems_on_list.pkl", "\x80\x02](K\x01K\x02u.", read_pickle, {"SETITEMS target is list, expected dict"});
  expect_error("append_on_dict.pkl", "\x80\x02}K\x01" "a.", read_pickle, {"APPEND target is dict, expected list"});
  expect_error("binunicode_past_end.pkl", "\x80\x02X\xff\xff\xff\xff" "abc", read_pickle,
               {"BINUNICODE length 4294967295 exceeds the 3 bytes left"});
  expect_error("binbytes8_past_end.pkl", "\x80\x03\x8e\xff\xff\xff\xff\xff\xff\xff\x7f" "abc", read_pickle,
               {"BINBYTES8 length", "exceeds the 3 bytes left"});
  expect_error("binstring_negative.pkl", "\x80\x02T\xff\xff\xff\xff" "abc", read_pickle, {"negative length"});
  expect_error("stack_underflow.pkl", "\x80\x02R.", read_pickle, {"REDUCE on an empty stack"});
  expect_error("ext_opcode.pkl", "\x80\x02\x82\x01.", read_pickle, {"EXT opcodes"});
  expect_error("bad_utf8.pkl", "\x80\x02X\x02\x00\x00\x00\xff\xfe."s, read_pickle, {"invalid UTF-8"});
  expect_error("numpy_size_mismatch.pkl",
               "\x80\x02}U\x01w" "cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01" "b\x87R"
               "(K\x01(K\x04tcnumpy\ndtype\nU\x02" "f4K\x00K\x01\x87R(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
               "\x89U\x04" "abcdtbs."s,
               read_pickle, {"numpy array [4] of f4 needs 4 x 4 bytes but its data holds 4"});
}

TEST_CASE("hostile files: a 10^6-deep structure and a billion-laughs memo neither overflow nor explode") {
  // With the depth budget lifted the VM builds a 10^6-deep list; the arena frees it without recursion.
  const size_t N = 1'000'000;
  std::string deep = "\x80\x02" + std::string(N, ']') + std::string(N - 1, 'a') + ".";
  {
    data::pickle::Arena arena;
    data::pickle::Limits limits;
    limits.max_depth = 2 * N;
    data::pickle::Unpickler up(deep, 0, "deep", arena, limits);
    data::pickle::Value* v = up.load();
    CHECK(v->kind == data::pickle::Kind::List);
    CHECK(v->depth == int32_t(N));
    // flattening refuses to follow it that deep
    CHECK_THROWS_WITH_AS(data::pickle::flatten(v, "deep"), doctest::Contains("nested deeper than"), Error);
  }  // arena destroyed here: must not overflow the stack
  // Billion laughs: each level a dict whose two values are the level below (2^40 paths over 40 dicts).
  std::string laughs = "\x80\x02}q\x00"s;
  for (int i = 1; i <= 40; ++i) {
    laughs += "}q" + std::string(1, char(i)) + "(" + str("a") + "h" + std::string(1, char(i - 1)) + str("b") + "h" +
              std::string(1, char(i - 1)) + "u";
  }
  laughs += ".";
  expect_error("laughs.pkl", laughs, read_pickle, {"object visits"});
  // Object budget: many small objects
  data::pickle::Arena small(1000);
  std::string many = "\x80\x02" + std::string(2000, 'N') + ".";
  data::pickle::Unpickler up(many, 0, "many", small);
  CHECK_THROWS_WITH_AS(up.load(), doctest::Contains("object budget exceeded"), Error);
}
