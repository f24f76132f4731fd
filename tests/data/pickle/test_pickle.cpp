// The pickle VM on hand-assembled opcode streams (protocols 0-4): values, memo, dict order, the
// allowlist (check_global), inert model classes, OrderedDict _metadata, numpy arrays, _codecs bytes.
// Hostile inputs are in test_hostile_files.cpp; real files in test_torch_reader.cpp.
#include "data/pickle/pickle.h"
#include "tests/test_util.h"

namespace {

using namespace fk;
using namespace fk::data::pickle;
using namespace std::string_literals;

// Holds the arena so the returned values stay alive.
struct Loaded {
  Arena arena;
  Value* root = nullptr;
  explicit Loaded(const std::string& bytes) : bytes_(bytes) {
    Unpickler up(bytes_, 0, "test.pkl", arena);
    root = up.load();
  }

 private:
  std::string bytes_;
};

std::string u32(uint32_t v) { return std::string{char(v), char(v >> 8), char(v >> 16), char(v >> 24)}; }
std::string str(const std::string& s) { return "X"s + u32(uint32_t(s.size())) + s; }

}  // namespace

TEST_CASE("pickle VM: protocol-2 scalars, strings, containers and the memo") {
  // [-2, 300, 70000, -1 (LONG1), 2**64 (LONG1 9 bytes), 1.5, True, None, 'h\xc3\xa9', b'\xff', (1, 2)]
  std::string p = "\x80\x02](J\xfe\xff\xff\xffM\x2c\x01J\x70\x11\x01\x00\x8a\x01\xff\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01"
                   "G\x3f\xf8\x00\x00\x00\x00\x00\x00\x88N"s +
                   str("h\xc3\xa9") + "U\x01\xff" "K\x01K\x02\x86q\x07h\x07" "e."s;
  Loaded l(p);
  const auto& it = l.root->items;
  REQUIRE(l.root->kind == Kind::List);
  REQUIRE(it.size() == 12);
  CHECK(it[0]->integer == -2);
  CHECK(it[1]->integer == 300);
  CHECK(it[2]->integer == 70000);
  CHECK(it[3]->integer == -1);
  CHECK(it[4]->kind == Kind::BigInt);
  CHECK(it[5]->real == 1.5);
  CHECK(it[6]->kind == Kind::Bool);
  CHECK(it[6]->boolean);
  CHECK(it[7]->kind == Kind::None);
  CHECK(it[8]->text == "h\xc3\xa9");
  CHECK(it[9]->kind == Kind::Bytes);
  CHECK(it[9]->as_utf8() == "\xc3\xbf");  // latin-1 decoding of a py2 str
  CHECK(it[10]->kind == Kind::Tuple);
  CHECK(it[11] == it[10]);  // BINGET returns the same object
}

TEST_CASE("pickle VM: dicts keep insertion order and a repeated key keeps its first position") {
  std::string p = "\x80\x02}(" + str("b") + "K\x01" + str("a") + "K\x02" + "U\x01" "b" "K\x03u.";
  Loaded l(p);
  REQUIRE(l.root->items.size() == 4);
  CHECK(l.root->items[0]->as_utf8() == "b");
  CHECK(l.root->items[1]->integer == 3);  // py2 str b'b' equals u'b', as with encoding='latin1'
  CHECK(l.root->get("a")->integer == 2);
  CHECK(l.root->get("zzz") == nullptr);
}

TEST_CASE("pickle VM: protocol-0 text opcodes") {
  std::string p = "(lp0\nI12\naI00\naL-99L\naF2.5\naS'a\\'b\\x41\\n'\np1\naVcaf\\u00e9\nag1\na.";
  Loaded l(p);
  const auto& it = l.root->items;
  REQUIRE(it.size() == 7);
  CHECK(it[0]->integer == 12);
  CHECK((it[1]->kind == Kind::Bool && !it[1]->boolean));
  CHECK(it[2]->integer == -99);
  CHECK(it[3]->real == 2.5);
  CHECK(it[4]->text == "a'bA\n");
  CHECK(it[5]->text == "caf\xc3\xa9");
  CHECK(it[6] == it[4]);
}

TEST_CASE("pickle VM: protocol-4 FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL, sets") {
  std::string p = "\x80\x04\x95\x30\x00\x00\x00\x00\x00\x00\x00"
                  "\x8c\x0b" "collections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94"
                  "\x8c\x01k\x94\x8f\x94(K\x01K\x02\x90s."s;
  Loaded l(p);
  REQUIRE(l.root->kind == Kind::Dict);
  const Value* s = l.root->get("k");
  REQUIRE(s);
  CHECK(s->kind == Kind::Set);
  CHECK(s->items.size() == 2);
}

TEST_CASE("pickle VM: OrderedDict BUILD keeps _metadata, unknown classes become inert records") {
  std::string od = "ccollections\nOrderedDict\n)R";
  std::string p = "\x80\x02"s + od + "(" + str("w") + "K\x01u}" + str("_metadata") + od + "sb.";
  Loaded l(p);
  REQUIRE(l.root->kind == Kind::Dict);
  REQUIRE(l.root->state);
  CHECK(l.root->state->get("_metadata") != nullptr);

  // NEWOBJ of a model class, then BUILD with its __dict__: nothing is called, the state is kept
  std::string m = "\x80\x02" "c__main__\nNet\n)\x81}" + str("training") + "\x88sb.";
  Loaded l2(m);
  REQUIRE(l2.root->kind == Kind::Object);
  CHECK(l2.root->cls->name == "Net");
  CHECK(l2.root->state->get("training")->boolean);
}

TEST_CASE("pickle VM: check_global allows exact names and inert classes, refuses everything callable") {
  for (const char* ok : {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage",
                         "numpy.core.multiarray._reconstruct", "_codecs.encode", "__builtin__.set",
                         "torch.nn.modules.conv.Conv2d", "torchvision.models.resnet.ResNet", "__main__.PNet"}) {
    std::string s = ok;
    size_t dot = s.rfind('.');
    CHECK_NOTHROW(check_global(s.substr(0, dot), s.substr(dot + 1), "t"));
  }
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"os", "system"}, {"posix", "system"}, {"nt", "system"}, {"builtins", "eval"}, {"__builtin__", "exec"},
      {"subprocess", "Popen"}, {"numpy", "__builtins__"}, {"numpy", "prod.os.system"}, {"numpy", "load"},
      {"torch", "load"}, {"torch._C", "Tensor"}, {"sys", "Modules"}, {"importlib", "import_module"},
      {"collections", "Counter.__init__"}, {"my.module", "helper"}, {"bad module", "X"}, {"", "X"}};
  for (const auto& [mod, name] : refused)
    CHECK_THROWS_WITH_AS(check_global(mod, name, "t.pkl"),
                         doctest::Contains(("t.pkl: global " + mod + "." + name + " is not allowed").c_str()), Error);
}

TEST_CASE("pickle VM: numpy arrays (C and Fortran order, big-endian) and _codecs.encode bytes") {
  auto array = [](const std::string& code, const std::string& order, bool fortran, const std::string& data,
                  const std::string& shape) {
    return "\x80\x02" "cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01" "b\x87R(K\x01("s + shape +
           "tcnumpy\ndtype\nU\x02" + code + "K\x00K\x01\x87R(K\x03U\x01"s + order +
           "NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"s + (fortran ? "\x88" : "\x89") + data + "tb.";
  };
  std::string six;  // int16 1..6
  for (int i = 1; i <= 6; ++i) six += std::string{char(i), '\0'};
  std::string bytes = "T"s + u32(uint32_t(six.size())) + six;
  {
    Loaded l(array("i2", "<", false, bytes, "K\x02K\x03"s));
    REQUIRE(l.root->kind == Kind::Tensor);
    CHECK(l.root->tensor.dtype() == DType::Int64);
    CHECK(l.root->tensor.to_vector<int64_t>() == std::vector<int64_t>{1, 2, 3, 4, 5, 6});
  }
  {
    Loaded l(array("i2", "<", true, bytes, "K\x02K\x03"s));  // Fortran: column-major data
    CHECK(l.root->tensor.to_vector<int64_t>() == std::vector<int64_t>{1, 3, 5, 2, 4, 6});
  }
  {
    std::string be;  // big-endian int16 1..6
    for (int i = 1; i <= 6; ++i) be += std::string{'\0', char(i)};
    Loaded l(array("i2", ">", false, "T"s + u32(12) + be, "K\x06"s));
    CHECK(l.root->tensor.to_vector<int64_t>() == std::vector<int64_t>{1, 2, 3, 4, 5, 6});
  }
  {
    // Python 3 protocol 2 writes bytes as _codecs.encode(latin-1 text, 'latin1'); 0xE9 is 'é' in UTF-8
    std::string data = "c_codecs\nencode\n"s + str("\x01\xc3\xa9") + str("latin1") + "\x86R";
    Loaded l(array("u1", "|", false, data, "K\x02"s));
    CHECK(l.root->tensor.to_vector<int64_t>() == std::vector<int64_t>{1, 0xE9});
  }
}
