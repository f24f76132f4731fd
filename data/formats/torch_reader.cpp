// read_torch: PyTorch checkpoints (torch.load equivalent, weights_only-style: nothing is executed).
// Zip format (torch >= 1.6): `<prefix>/data.pkl` is unpickled; each persistent id
// ('storage', torch.XStorage, key, location, numel) loads `<prefix>/data/<key>`, whose size must be
// numel * itemsize exactly. Legacy format (torch <= 1.5, or _use_new_zipfile_serialization=False): five
// pickles (magic number, protocol 1001, sys_info, the object, the storage keys sorted as strings) then,
// per key, an int64 numel and the raw bytes. See docs/reference/weights-formats.md §3-4.
// Tensors come out contiguous (views copied), dtypes kept; dicts flattened with dotted keys, a whole
// pickled nn.Module flattened as model.state_dict() names it (pickle.h: flatten). The in-memory entry
// points and the content sniffing are declared in weights_bytes.h.
// Tests: tests/data/formats/test_torch_reader.cpp, tests/data/formats/test_hostile_files.cpp, tests/fuzz/fuzz_pickle.cpp.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <memory>

#include "data/formats/files.h"
#include "data/formats/weights.h"
#include "data/formats/weights_bytes.h"
#include "data/formats/zip.h"
#include "data/pickle/pickle.h"

namespace fk::data {

namespace pickle {

namespace {

// 0x1950A86A20F9469CFC6C little-endian: the legacy format's first pickle (LONG1 of 10 bytes).
const char kLegacyMagic[] = "\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";

bool starts_with(const std::string& b, const char* p, size_t n, size_t at = 0) {
  return b.size() >= at + n && std::memcmp(b.data() + at, p, n) == 0;
}

bool is_legacy(const std::string& b) {
  return starts_with(b, "\x80\x02\x8a\x0a", 4) && starts_with(b, kLegacyMagic, 10, 4);
}

// The storage class and fields of a persistent id tuple, checked.
struct Pid {
  std::string typename_;
  const Value* cls = nullptr;
  ElemType elem = ElemType::F32;
  std::string key;
  int64_t numel = 0;
  const Value* view = nullptr;  // legacy view_metadata or nullptr
};

Pid parse_pid(const Value* pid, size_t fields, const std::string& what) {
  FK_CHECK(pid->kind == Kind::Tuple && !pid->items.empty() && pid->items[0]->is_text(), what,
           ": persistent id is a ", kind_name(pid->kind), ", expected a ('storage', ...) tuple");
  Pid p;
  p.typename_ = pid->items[0]->as_utf8();
  if (p.typename_ == "module") {  // legacy whole-model pickles: ('module', cls, source_file, source)
    FK_CHECK(pid->items.size() >= 2 && pid->items[1]->kind == Kind::Global, what, ": malformed ('module', ...) persistent id");
    p.cls = pid->items[1];
    return p;
  }
  FK_CHECK(p.typename_ == "storage", what, ": persistent id of type '", p.typename_, "' (only 'storage' is supported)");
  FK_CHECK(pid->items.size() >= fields, what, ": storage persistent id has ", pid->items.size(), " fields, expected ", fields);
  const Value* cls = pid->items[1];
  static const std::map<std::string, ElemType> types = {
      {"FloatStorage", ElemType::F32}, {"DoubleStorage", ElemType::F64}, {"HalfStorage", ElemType::F16},
      {"BFloat16Storage", ElemType::BF16}, {"LongStorage", ElemType::I64}, {"IntStorage", ElemType::I32},
      {"ShortStorage", ElemType::I16}, {"CharStorage", ElemType::I8}, {"ByteStorage", ElemType::U8},
      {"BoolStorage", ElemType::Bool}};
  auto it = cls->kind == Kind::Global && cls->text == "torch" ? types.find(cls->name) : types.end();
  FK_CHECK(it != types.end(), what, ": storage type ",
           cls->kind == Kind::Global ? cls->text + "." + cls->name : std::string(kind_name(cls->kind)),
           " is not supported (Float/Double/Half/BFloat16/Long/Int/Short/Char/Byte/Bool storages are)");
  p.elem = it->second;
  FK_CHECK(pid->items[2]->is_text(), what, ": storage key is a ", kind_name(pid->items[2]->kind), ", expected str");
  p.key = pid->items[2]->as_utf8();
  FK_CHECK(pid->items[4]->kind == Kind::Int && pid->items[4]->integer >= 0, what, ": storage '", p.key,
           "' has a bad element count");
  p.numel = pid->items[4]->integer;
  if (fields >= 6 && pid->items[5]->kind != Kind::None) p.view = pid->items[5];
  return p;
}

// numel * itemsize in bytes, or throws naming the storage.
uint64_t storage_bytes(int64_t numel, ElemType e, const std::string& what, const std::string& key) {
  uint64_t n = 0;
  FK_CHECK(!__builtin_mul_overflow(uint64_t(numel), uint64_t(elem_size(e)), &n), what, ": storage '", key,
           "' declares ", numel, " elements: size overflows");
  return n;
}

StateDict read_zip(const ZipReader& zip) {
  const std::string& what = zip.what();
  std::string pkl;
  for (const ZipEntry& e : zip.entries()) {
    const std::string& n = e.name;
    if (n.size() >= 9 && n.compare(n.size() - 9, 9, "/data.pkl") == 0) {
      FK_CHECK(pkl.empty(), what, ": archive holds two checkpoints ('", pkl, "' and '", n, "')");
      pkl = n;
    }
  }
  FK_CHECK(!pkl.empty(), what, ": zip archive without '<name>/data.pkl': not a PyTorch checkpoint (an .npz? use read_npz)");
  std::string prefix = pkl.substr(0, pkl.size() - 8);  // keeps the trailing '/'
  if (zip.contains(prefix + "byteorder")) {
    std::string order = zip.read(prefix + "byteorder");
    FK_CHECK(order == "little", what, ": byteorder '", order.substr(0, 16), "': only little-endian checkpoints are supported");
  }
  std::string pickle_bytes = zip.read(pkl);
  Arena arena;
  Unpickler up(pickle_bytes, 0, what + " (" + pkl + ")", arena);
  std::map<std::string, Value*> storages;
  up.persistent_load = [&](Value* pid) -> Value* {
    Pid p = parse_pid(pid, 5, what);
    if (p.cls) return const_cast<Value*>(p.cls);
    auto it = storages.find(p.key);
    if (it != storages.end()) {
      FK_CHECK(it->second->elem == p.elem && it->second->integer == p.numel, what, ": storage '", p.key,
               "' is referenced with two different types or sizes");
      return it->second;
    }
    std::string record = prefix + "data/" + p.key;
    FK_CHECK(zip.contains(record), what, ": storage 'data/", p.key, "' missing from the archive");
    uint64_t want = storage_bytes(p.numel, p.elem, what, p.key);
    // Size first (from the central directory), then read: a forged numel never allocates.
    for (const ZipEntry& e : zip.entries())
      if (e.name == record)
        FK_CHECK(e.size == want, what, ": storage 'data/", p.key, "' declares ", p.numel, " elements of ",
                 elem_size(p.elem), " bytes (", want, " bytes) but the record holds ", e.size, " bytes");
    Value* s = arena.make(Kind::Storage, what);
    s->text = p.key;
    s->elem = p.elem;
    s->integer = p.numel;
    s->data = zip.read_view(record, s->bytes);
    FK_CHECK(s->data.size() == want, what, ": storage 'data/", p.key, "' holds ", s->data.size(), " bytes, expected ", want);
    storages[p.key] = s;
    return s;
  };
  Value* root = up.load();
  return flatten(root, what);
}

StateDict read_legacy(const std::string& bytes, const std::string& what) {
  Arena arena;
  Unpickler magic(bytes, 0, what + " (magic number)", arena);
  Value* m = magic.load();
  FK_CHECK(m->kind == Kind::BigInt && m->text == std::string(kLegacyMagic, 10), what,
           ": wrong magic number: not a PyTorch legacy checkpoint");
  Unpickler proto(bytes, magic.position(), what + " (protocol version)", arena);
  Value* pv = proto.load();
  FK_CHECK(pv->kind == Kind::Int && pv->integer == 1001, what, ": legacy protocol version ",
           pv->kind == Kind::Int ? std::to_string(pv->integer) : kind_name(pv->kind), ", expected 1001");
  Unpickler sys(bytes, proto.position(), what + " (sys_info)", arena);
  Value* info = sys.load();
  FK_CHECK(info->kind == Kind::Dict, what, ": sys_info is a ", kind_name(info->kind), ", expected a dict");
  if (const Value* le = info->get("little_endian"))
    FK_CHECK(le->kind == Kind::Bool && le->boolean, what, ": big-endian legacy checkpoints are not supported");

  Unpickler obj(bytes, sys.position(), what + " (object)", arena);
  std::map<std::string, Value*> roots;  // storage key -> root storage
  std::map<std::string, Value*> views;  // view key -> view storage (very old files)
  obj.persistent_load = [&](Value* pid) -> Value* {
    Pid p = parse_pid(pid, 6, what);
    if (p.cls) return const_cast<Value*>(p.cls);
    Value*& root = roots[p.key];
    if (!root) {
      // The data follows the pickles, so only a size bound is known now; no allocation yet.
      FK_CHECK(storage_bytes(p.numel, p.elem, what, p.key) <= bytes.size(), what, ": storage '", p.key, "' declares ",
               p.numel, " elements of ", elem_size(p.elem), " bytes, more than the file's ", bytes.size(), " bytes");
      root = arena.make(Kind::Storage, what);
      root->text = p.key;
      root->elem = p.elem;
      root->integer = p.numel;
    }
    FK_CHECK(root->elem == p.elem && root->integer == p.numel, what, ": storage '", p.key,
             "' is referenced with two different types or sizes");
    if (!p.view) return root;
    const Value* vm = p.view;  // (view_key, offset, view_numel)
    FK_CHECK(vm->kind == Kind::Tuple && vm->items.size() == 3 && vm->items[0]->is_text() &&
                 vm->items[1]->kind == Kind::Int && vm->items[2]->kind == Kind::Int,
             what, ": malformed view metadata of storage '", p.key, "'");
    std::string vkey = vm->items[0]->as_utf8();
    int64_t off = vm->items[1]->integer, n = vm->items[2]->integer;
    FK_CHECK(off >= 0 && n >= 0 && off <= p.numel && n <= p.numel - off, what, ": view storage '", vkey,
             "' (offset ", off, ", ", n, " elements) lies outside storage '", p.key, "' of ", p.numel, " elements");
    Value*& v = views[vkey];
    if (!v) {
      v = arena.make(Kind::Storage, what);
      v->text = vkey;
      v->elem = p.elem;
      v->integer = n;
      v->base = off;
      v->state = root;
    }
    FK_CHECK(v->state == root && v->base == off && v->integer == n, what, ": view storage '", vkey, "' is inconsistent");
    return v;
  };
  Value* root_obj = obj.load();

  Unpickler keys_p(bytes, obj.position(), what + " (storage keys)", arena);
  Value* keys = keys_p.load();
  FK_CHECK(keys->kind == Kind::List, what, ": storage key list is a ", kind_name(keys->kind), ", expected a list");
  size_t pos = keys_p.position();
  for (const Value* k : keys->items) {
    FK_CHECK(k->is_text(), what, ": storage key list holds a ", kind_name(k->kind));
    std::string key = k->as_utf8();
    auto it = roots.find(key);
    FK_CHECK(it != roots.end(), what, ": storage '", key, "' is listed but no tensor uses it");
    Value* s = it->second;
    FK_CHECK(s->bytes == nullptr, what, ": storage '", key, "' is listed twice");
    FK_CHECK(bytes.size() - pos >= 8, what, ": truncated: storage '", key, "' header needs 8 bytes at offset ", pos,
             " but the file ends at ", bytes.size());
    uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n |= uint64_t(static_cast<unsigned char>(bytes[pos + size_t(i)])) << (8 * i);
    pos += 8;
    FK_CHECK(n == uint64_t(s->integer), what, ": storage '", key, "' header says ", n, " elements but the pickle declared ",
             s->integer);
    uint64_t nb = storage_bytes(s->integer, s->elem, what, key);
    FK_CHECK(nb <= bytes.size() - pos, what, ": truncated: storage '", key, "' needs ", nb, " bytes at offset ", pos,
             " but only ", bytes.size() - pos, " remain");
    s->bytes = std::make_shared<const std::string>(bytes.substr(pos, size_t(nb)));
    s->data = *s->bytes;
    pos += size_t(nb);
  }
  for (const auto& [key, s] : roots)
    FK_CHECK(s->bytes != nullptr, what, ": storage '", key, "' is used by a tensor but missing from the file");
  return flatten(root_obj, what);
}

}  // namespace

std::string sniff(const std::string& b) {
  if (b.empty()) return "empty";
  if (starts_with(b, "PK\x03\x04", 4) || starts_with(b, "PK\x05\x06", 4)) return "zip";
  if (is_legacy(b)) return "torch-legacy";
  if (uint8_t(b[0]) == 0x80 && b.size() > 1 && uint8_t(b[1]) <= 5) return "pickle";
  if (starts_with(b, "\x93NUMPY", 6)) return "npy";
  if (starts_with(b, "ustar", 5, 257)) return "tar";
  if (starts_with(b, "\x1f\x8b", 2)) return "gzip";
  if (starts_with(b, "BZh", 3)) return "bzip2";
  if (starts_with(b, "\xfd" "7zXZ", 6)) return "xz";
  // Protocol 0/1 pickles start with MARK, EMPTY_DICT/LIST/TUPLE, or a GLOBAL line ("cmodule\nname\n").
  if (std::strchr("(}])", b[0]) != nullptr) return "pickle";
  if (b[0] == 'c' && b.size() > 1 && (std::isalpha(static_cast<unsigned char>(b[1])) || b[1] == '_')) {
    size_t nl = b.find('\n');
    if (nl != std::string::npos && nl < 256) return "pickle";
  }
  size_t i = b.find_first_not_of(" \t\r\n");
  if (i != std::string::npos && b[i] == '<') return "html";
  return "unknown";
}

std::string not_weights_message(const std::string& kind, const std::string& b) {
  if (kind == "empty") return "empty file";
  if (kind == "tar") return "pre-0.4 tar checkpoint not supported (load and re-save it with PyTorch >= 0.4)";
  if (kind == "gzip" || kind == "bzip2" || kind == "xz") return kind + "-compressed data: decompress it first";
  if (kind == "html") return "not a weights file (looks like HTML/XML, e.g. a saved download error page)";
  std::string hex;
  for (size_t i = 0; i < std::min<size_t>(8, b.size()); ++i) {
    static const char* d = "0123456789abcdef";
    hex += d[uint8_t(b[i]) >> 4];
    hex += d[uint8_t(b[i]) & 15];
    hex += ' ';
  }
  if (!hex.empty()) hex.pop_back();
  return "unrecognised weights format (first bytes: " + hex + ")";
}

StateDict read_torch_bytes(const std::string& bytes, const std::string& what) {
  std::string kind = sniff(bytes);
  if (kind == "zip") return read_zip(ZipReader(bytes, what));
  if (kind == "torch-legacy") return read_legacy(bytes, what);
  if (kind == "pickle")
    throw Error(what + ": a plain pickle, not a PyTorch checkpoint (no legacy magic number, not a zip) — "
                       "read it with read_pickle_arrays or read_weights");
  if (kind == "npy") throw Error(what + ": a numpy .npy file, not a PyTorch checkpoint — read it with read_npy");
  throw Error(what + ": not a PyTorch checkpoint: " + not_weights_message(kind, bytes));
}

StateDict read_torch_zip(const ZipReader& zip) { return read_zip(zip); }

}  // namespace pickle

StateDict read_torch(const std::string& path) {
  std::string bytes = read_file(path);
  if (pickle::sniff(bytes) == "zip") return pickle::read_zip(ZipReader(std::move(bytes), path));
  return pickle::read_torch_bytes(bytes, path);
}

}  // namespace fk::data
