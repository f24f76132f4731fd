// The pickle VM (see pickle.h): one loop over opcodes with a value stack, a mark stack and a memo map.
// Nothing is ever looked up dynamically or called: GLOBAL only records an allowlisted (module, name),
// and REDUCE/NEWOBJ/BUILD switch over that fixed list to build native values. Also: materialising
// torch tensor views (offset/shape/strides checked in 64-bit with overflow checks, then copied into
// contiguous tensors) and flattening unpickled objects into state dicts as PyTorch names them.
// Tests: tests/data/pickle/test_pickle.cpp, tests/data/formats/test_hostile_files.cpp, tests/fuzz/fuzz_pickle.cpp.
#include "data/pickle/pickle.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include "tensor/creation.h"

namespace fk::data::pickle {

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::BigInt: return "int (big)";
    case Kind::Float: return "float";
    case Kind::Str: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Set: return "set";
    case Kind::Global: return "global";
    case Kind::Object: return "object";
    case Kind::Storage: return "storage";
    case Kind::TensorView: return "tensor";
    case Kind::Tensor: return "tensor";
    case Kind::NumpyDtype: return "numpy.dtype";
    case Kind::NumpyArray: return "numpy.ndarray";
  }
  return "?";
}

size_t elem_size(ElemType t) {
  switch (t) {
    case ElemType::F32: case ElemType::I32: return 4;
    case ElemType::F64: case ElemType::I64: return 8;
    case ElemType::F16: case ElemType::BF16: case ElemType::I16: return 2;
    case ElemType::I8: case ElemType::U8: case ElemType::Bool: return 1;
  }
  return 1;
}

DType elem_dtype(ElemType t) {
  switch (t) {
    case ElemType::F32: return DType::Float32;
    case ElemType::F64: return DType::Float64;
    case ElemType::F16: return DType::Float16;
    case ElemType::BF16: return DType::BFloat16;
    case ElemType::I64: case ElemType::I32: case ElemType::I16: case ElemType::I8: return DType::Int64;
    case ElemType::U8: return DType::UInt8;
    case ElemType::Bool: return DType::Bool;
  }
  return DType::Float32;
}

static std::string latin1_to_utf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c < 0x80) {
      out += char(c);
    } else {
      out += char(0xC0 | (c >> 6));
      out += char(0x80 | (c & 0x3F));
    }
  }
  return out;
}

std::string Value::as_utf8() const { return kind == Kind::Bytes ? latin1_to_utf8(text) : text; }

// Dict keys are compared as Python would for the key types weight files use: str and latin-1 bytes
// (py2 str) alike, ints (bool as int), None, floats, tuples of those. Any other key is its identity.
static std::string tagged(char tag, const std::string& s) {
  std::string r(1, tag);
  r += s;
  return r;
}

static std::string identity_repr(const Value* k) { return tagged('p', std::to_string(reinterpret_cast<uintptr_t>(k))); }

static std::string key_repr(const Value* k) {
  switch (k->kind) {
    case Kind::Str: return tagged('s', k->text);
    case Kind::Bytes: return tagged('s', latin1_to_utf8(k->text));
    case Kind::Int: return tagged('i', std::to_string(k->integer));
    case Kind::Bool: return tagged('i', std::to_string(int(k->boolean)));
    case Kind::None: return "n";
    case Kind::BigInt: return tagged('I', k->text);
    case Kind::Float: {
      std::string r = "f";
      r.append(reinterpret_cast<const char*>(&k->real), sizeof(double));
      return r;
    }
    case Kind::Tuple: {
      std::string r = "t(";
      for (const Value* it : k->items) {
        if (it->kind == Kind::Tuple || it->kind == Kind::List || it->kind == Kind::Dict) {
          r += identity_repr(it);
        } else {
          r += key_repr(it);
        }
        r += '\x1f';
      }
      return r + ")";
    }
    default: return identity_repr(k);
  }
}

const Value* Value::get(const std::string& key) const {
  if (kind != Kind::Dict || !index) return nullptr;
  auto it = index->find(tagged('s', key));
  return it == index->end() ? nullptr : items[2 * it->second + 1];
}

Value* Arena::make(Kind kind, const std::string& what) {
  FK_CHECK(values_.size() < max_objects_, what, ": pickle makes more than ", max_objects_,
           " objects (object budget exceeded; the file is hostile or corrupt)");
  values_.push_back(std::make_unique<Value>());
  values_.back()->kind = kind;
  return values_.back().get();
}

// ---------------------------------------------------------------------------------------------
// The allowlist. Exact "module.name" strings map to the native constructors below; nothing else can
// be called. Unknown capitalised classes (model code) are allowed only as inert records.

enum class Builtin {
  None, OrderedDict, RebuildTensor, RebuildTensorV2, RebuildParameter, StorageType, NpReconstruct,
  NpNdarray, NpDtype, NpScalar, CodecsEncode, Set, FrozenSet, Bytearray, ObjectBase, Reconstructor,
  TorchSize, TorchDevice, Parameter, TorchDtype,
};

struct AllowedGlobal {
  Builtin builtin;
  ElemType elem;  // StorageType
};

static const std::unordered_map<std::string, AllowedGlobal>& allowlist() {
  static const std::unordered_map<std::string, AllowedGlobal> table = {
      {"collections.OrderedDict", {Builtin::OrderedDict, {}}},
      {"torch._utils._rebuild_tensor", {Builtin::RebuildTensor, {}}},
      {"torch._utils._rebuild_tensor_v2", {Builtin::RebuildTensorV2, {}}},
      {"torch._utils._rebuild_parameter", {Builtin::RebuildParameter, {}}},
      {"torch._utils._rebuild_parameter_with_state", {Builtin::RebuildParameter, {}}},
      {"torch.FloatStorage", {Builtin::StorageType, ElemType::F32}},
      {"torch.DoubleStorage", {Builtin::StorageType, ElemType::F64}},
      {"torch.HalfStorage", {Builtin::StorageType, ElemType::F16}},
      {"torch.BFloat16Storage", {Builtin::StorageType, ElemType::BF16}},
      {"torch.LongStorage", {Builtin::StorageType, ElemType::I64}},
      {"torch.IntStorage", {Builtin::StorageType, ElemType::I32}},
      {"torch.ShortStorage", {Builtin::StorageType, ElemType::I16}},
      {"torch.CharStorage", {Builtin::StorageType, ElemType::I8}},
      {"torch.ByteStorage", {Builtin::StorageType, ElemType::U8}},
      {"torch.BoolStorage", {Builtin::StorageType, ElemType::Bool}},
      {"numpy.core.multiarray._reconstruct", {Builtin::NpReconstruct, {}}},
      {"numpy._core.multiarray._reconstruct", {Builtin::NpReconstruct, {}}},
      {"numpy.ndarray", {Builtin::NpNdarray, {}}},
      {"numpy.dtype", {Builtin::NpDtype, {}}},
      {"numpy.core.multiarray.scalar", {Builtin::NpScalar, {}}},
      {"numpy._core.multiarray.scalar", {Builtin::NpScalar, {}}},
      {"_codecs.encode", {Builtin::CodecsEncode, {}}},
      {"builtins.set", {Builtin::Set, {}}},
      {"__builtin__.set", {Builtin::Set, {}}},
      {"builtins.frozenset", {Builtin::FrozenSet, {}}},
      {"__builtin__.frozenset", {Builtin::FrozenSet, {}}},
      {"builtins.bytearray", {Builtin::Bytearray, {}}},
      {"__builtin__.bytearray", {Builtin::Bytearray, {}}},
      {"builtins.object", {Builtin::ObjectBase, {}}},
      {"__builtin__.object", {Builtin::ObjectBase, {}}},
      {"copyreg._reconstructor", {Builtin::Reconstructor, {}}},
      {"copy_reg._reconstructor", {Builtin::Reconstructor, {}}},
      {"torch.Size", {Builtin::TorchSize, {}}},
      {"torch.device", {Builtin::TorchDevice, {}}},
      {"torch.nn.parameter.Parameter", {Builtin::Parameter, {}}},
      // dtype objects stored as module attributes in whole-model pickles: inert values, never called
      {"torch.float32", {Builtin::TorchDtype, {}}}, {"torch.float64", {Builtin::TorchDtype, {}}},
      {"torch.float16", {Builtin::TorchDtype, {}}}, {"torch.bfloat16", {Builtin::TorchDtype, {}}},
      {"torch.int64", {Builtin::TorchDtype, {}}},   {"torch.int32", {Builtin::TorchDtype, {}}},
      {"torch.uint8", {Builtin::TorchDtype, {}}},   {"torch.bool", {Builtin::TorchDtype, {}}},
  };
  return table;
}

static const AllowedGlobal* find_allowed(const Value* g) {
  auto& t = allowlist();
  auto it = t.find(g->text + "." + g->name);
  return it == t.end() ? nullptr : &it->second;
}

static bool is_identifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (unsigned char c : s)
    if (!(std::isalnum(c) || c == '_')) return false;
  return true;
}

void check_global(const std::string& module, const std::string& name, const std::string& what) {
  std::string full = module + "." + name;
  if (allowlist().count(full)) return;
  auto refuse = [&](const char* why) {
    throw Error(detail::concat(what, ": global ", full, " is not allowed (", why,
                               "); facekit's pickle reader executes nothing and builds only allowlisted types"));
  };
  // Modules whose capitalised names are gadgets too (subprocess.Popen, ctypes.CDLL, ...): refused whole.
  static const std::unordered_set<std::string> blocked = {
      "os", "posix", "nt", "sys", "subprocess", "builtins", "__builtin__", "importlib", "imp", "marshal",
      "pickle", "_pickle", "cPickle", "pickletools", "copyreg", "copy_reg", "pkgutil", "runpy", "shutil",
      "socket", "ctypes", "code", "codeop", "pty", "commands", "types", "functools", "operator", "io", "_io",
      "tempfile", "webbrowser", "numpy", "_codecs", "codecs", "timeit", "cProfile", "profile", "pdb", "bdb",
      "trace", "platform", "multiprocessing", "asyncio", "threading", "_thread", "thread", "urllib",
      "urllib2", "http", "requests", "ssl", "signal", "gc", "inspect", "ast", "dill", "joblib", "yaml",
      "glob", "pathlib", "zipimport", "site", "sysconfig", "distutils", "setuptools", "venv", "ensurepip",
      "atexit", "resource", "posixpath", "ntpath", "select", "selectors", "fcntl", "mmap", "telnetlib",
      "ftplib", "smtplib", "xmlrpc", "logging", "contextlib", "weakref", "abc", "collections", "torch._C",
      "torch.hub", "torch.jit", "torch.ops", "torch.serialization", "torch._utils", "torch.utils", "_operator",
      "_functools", "_posixsubprocess", "_winapi", "msvcrt", "winreg", "zipfile", "tarfile", "sqlite3", "dbm",
      "shelve", "sched", "concurrent", "queue", "string", "re", "random", "email", "xml"};
  if (name.find('.') != std::string::npos) refuse("dotted name");
  size_t start = 0;
  std::string prefix;
  while (true) {
    size_t dot = module.find('.', start);
    std::string part = module.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!is_identifier(part)) refuse("malformed module name");
    prefix += (prefix.empty() ? "" : ".") + part;
    if (blocked.count(prefix) || blocked.count(part)) refuse("blocked module");
    if (part[0] == '_' && part != "__main__") refuse("private module");
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (!is_identifier(name)) refuse("malformed name");
  if (name[0] == '_') refuse("private or dunder name");
  if (!std::isupper(static_cast<unsigned char>(name[0])))
    refuse("not an allowlisted function; only capitalised class names become inert records");
}

// Copies the elements of a strided array (element (i0..ik) at src[offset + sum i_j*strides_j]) into a
// contiguous row-major buffer, swapping big-endian bytes and widening int8/16/32 to int64.
static void copy_elements(const unsigned char* src, ElemType et, bool swap, const Shape& shape, const Shape& strides,
                          int64_t offset, void* dst);

// True when the product of max(d, 1) over `shape` fits in int64: then every stride computed for it
// (C or Fortran order) fits too, even for shapes with a zero dim.
static bool extent_fits(const Shape& shape) {
  int64_t p = 1;
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(p, std::max<int64_t>(d, 1), &p)) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Decoding helpers for the protocol-0 text opcodes.

static bool valid_utf8(const std::string& s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > n) return false;
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += len;
  }
  return true;
}

static void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

// UTF-8 text whose code points are all < 256 -> those bytes (latin-1 encoding), else false.
static bool utf8_to_latin1(const std::string& s, std::string& out) {
  out.clear();
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += char(c);
    } else if ((c >> 5) == 6 && i + 1 < s.size()) {
      uint32_t cp = (uint32_t(c & 0x1F) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3F);
      if (cp > 0xFF) return false;
      out += char(cp);
      ++i;
    } else {
      return false;
    }
  }
  return true;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// ---------------------------------------------------------------------------------------------
// The machine.

struct Unpickler::Impl {
  Unpickler& u;
  const std::string& in;
  size_t& pos;
  std::vector<Value*> stack;
  std::vector<size_t> marks;
  std::unordered_map<uint64_t, Value*> memo;

  Impl(Unpickler& owner) : u(owner), in(owner.bytes_), pos(owner.pos_) {}

  [[noreturn]] void fail(size_t at, const std::string& msg) const {
    throw Error(detail::concat(u.what_, ": ", msg, " (pickle opcode at byte ", at, ")"));
  }
  size_t left() const { return in.size() - pos; }
  void need(size_t n, size_t at, const char* what) const {
    if (n > left())
      fail(at, detail::concat("truncated: ", what, " needs ", n, " bytes but only ", left(), " remain"));
  }
  uint64_t read_le(size_t n, size_t at, const char* what) {
    need(n, at, what);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t(static_cast<unsigned char>(in[pos + i])) << (8 * i);
    pos += n;
    return v;
  }
  std::string read_bytes(uint64_t n, size_t at, const char* what) {
    // Checked against the bytes left before anything is allocated.
    if (n > left())
      fail(at, detail::concat(what, " length ", n, " exceeds the ", left(), " bytes left in the file"));
    std::string s = in.substr(pos, size_t(n));
    pos += size_t(n);
    return s;
  }
  std::string read_line(size_t at, const char* what) {
    size_t nl = in.find('\n', pos);
    if (nl == std::string::npos) fail(at, detail::concat("truncated: ", what, " has no terminating newline"));
    std::string s = in.substr(pos, nl - pos);
    pos = nl + 1;
    if (!s.empty() && s.back() == '\r') s.pop_back();
    return s;
  }

  Value* make(Kind k) { return u.arena_.make(k, u.what_); }
  Value* make_int(int64_t v) {
    Value* x = make(Kind::Int);
    x->integer = v;
    return x;
  }
  Value* make_text(Kind k, std::string s) {
    Value* x = make(k);
    x->text = std::move(s);
    return x;
  }

  void push(Value* v, size_t at) {
    if (stack.size() >= u.limits_.max_stack) fail(at, "stack budget exceeded");
    stack.push_back(v);
  }
  Value* pop(size_t at, const char* op) {
    if (stack.empty() || (!marks.empty() && stack.size() <= marks.back()))
      fail(at, detail::concat(op, " on an empty stack (corrupt pickle)"));
    Value* v = stack.back();
    stack.pop_back();
    return v;
  }
  Value* top(size_t at, const char* op) {
    if (stack.empty() || (!marks.empty() && stack.size() <= marks.back()))
      fail(at, detail::concat(op, " on an empty stack (corrupt pickle)"));
    return stack.back();
  }
  std::vector<Value*> pop_mark(size_t at, const char* op) {
    if (marks.empty()) fail(at, detail::concat(op, " without a MARK (corrupt pickle)"));
    size_t m = marks.back();
    marks.pop_back();
    std::vector<Value*> items(stack.begin() + std::ptrdiff_t(m), stack.end());
    stack.resize(m);
    return items;
  }

  void deepen(Value* container, const Value* child, size_t at) {
    int32_t d = child->depth + 1;
    if (d > container->depth) container->depth = d;
    if (size_t(container->depth) > u.limits_.max_depth)
      fail(at, detail::concat("nesting deeper than ", u.limits_.max_depth, " levels (depth budget)"));
  }
  Value* make_seq(Kind k, std::vector<Value*> items, size_t at) {
    Value* v = make(k);
    for (Value* it : items) deepen(v, it, at);
    v->items = std::move(items);
    return v;
  }

  void memo_put(uint64_t idx, Value* v, size_t at) {
    if (memo.size() >= u.limits_.max_memo && !memo.count(idx))
      fail(at, detail::concat("memo budget of ", u.limits_.max_memo, " entries exceeded"));
    memo[idx] = v;
  }
  Value* memo_get(uint64_t idx, size_t at) {
    auto it = memo.find(idx);
    if (it == memo.end()) fail(at, detail::concat("memo index ", idx, " is not set (corrupt pickle)"));
    return it->second;
  }

  void dict_set(Value* d, Value* k, Value* v, size_t at) {
    if (!d->index) d->index = std::make_unique<std::unordered_map<std::string, size_t>>();
    std::string r = key_repr(k);
    auto it = d->index->find(r);
    if (it != d->index->end()) {
      d->items[2 * it->second + 1] = v;  // Python keeps the first key's position
    } else {
      (*d->index)[r] = d->items.size() / 2;
      d->items.push_back(k);
      d->items.push_back(v);
    }
    deepen(d, v, at);
  }

  static std::string global_name(const Value* g) { return g->text + "." + g->name; }

  Value* make_global(const std::string& module, const std::string& name, size_t at) {
    check_global(module, name, u.what_);
    Value* g = make(Kind::Global);
    g->text = module;
    g->name = name;
    return g;
  }

  int64_t arg_int(const std::vector<Value*>& a, size_t i, const char* fn, const char* what, size_t at) {
    if (i >= a.size() || (a[i]->kind != Kind::Int && a[i]->kind != Kind::Bool))
      fail(at, detail::concat(fn, ": argument ", i, " (", what, ") is ",
                              i < a.size() ? kind_name(a[i]->kind) : "missing", ", expected an int"));
    return a[i]->kind == Kind::Bool ? int64_t(a[i]->boolean) : a[i]->integer;
  }
  Shape arg_ints(const std::vector<Value*>& a, size_t i, const char* fn, const char* what, size_t at) {
    if (i >= a.size() || (a[i]->kind != Kind::Tuple && a[i]->kind != Kind::List))
      fail(at, detail::concat(fn, ": argument ", i, " (", what, ") is ",
                              i < a.size() ? kind_name(a[i]->kind) : "missing", ", expected a tuple of ints"));
    Shape s;
    for (size_t k = 0; k < a[i]->items.size(); ++k) {
      const Value* x = a[i]->items[k];
      if (x->kind != Kind::Int) fail(at, detail::concat(fn, ": ", what, " holds a ", kind_name(x->kind), ", expected ints"));
      s.push_back(x->integer);
    }
    if (s.size() > 64) fail(at, detail::concat(fn, ": ", what, " has ", s.size(), " dims (at most 64)"));
    return s;
  }

  Value* rebuild_tensor(const std::vector<Value*>& a, const char* fn, size_t at) {
    if (a.size() < 4) fail(at, detail::concat(fn, ": expected at least 4 arguments, got ", a.size()));
    if (a[0]->kind != Kind::Storage)
      fail(at, detail::concat(fn, ": argument 0 is ", kind_name(a[0]->kind), ", expected a storage"));
    Value* t = make(Kind::TensorView);
    t->state = a[0];
    t->integer = arg_int(a, 1, fn, "storage offset", at);
    t->shape = arg_ints(a, 2, fn, "size", at);
    t->strides = arg_ints(a, 3, fn, "stride", at);
    if (t->shape.size() != t->strides.size())
      fail(at, detail::concat(fn, ": size ", shape_str(t->shape), " and stride ", shape_str(t->strides),
                              " have different lengths"));
    return t;
  }

  Value* numpy_dtype(const std::vector<Value*>& a, size_t at) {
    if (a.empty() || !a[0]->is_text()) fail(at, "numpy.dtype: expected a type code string");
    std::string code = a[0]->as_utf8();
    Value* d = make(Kind::NumpyDtype);
    if (!code.empty() && std::strchr("<>|=", code[0])) {
      d->byteorder = code[0];
      code = code.substr(1);
    }
    d->text = code;
    static const std::unordered_map<std::string, ElemType> codes = {
        {"f4", ElemType::F32}, {"f8", ElemType::F64}, {"f2", ElemType::F16}, {"i8", ElemType::I64},
        {"i4", ElemType::I32}, {"i2", ElemType::I16}, {"i1", ElemType::I8},  {"u1", ElemType::U8},
        {"b1", ElemType::Bool}};
    auto it = codes.find(code);
    if (it != codes.end()) {
      d->elem = it->second;
    } else if (code != "O8" && code != "O4") {
      fail(at, detail::concat("numpy dtype '", code, "' is not supported (f2 f4 f8 i1 i2 i4 i8 u1 b1 and object arrays are)"));
    }
    return d;
  }

  // REDUCE(callable, args): the callable must be an allowlisted global or an inert class.
  Value* reduce(Value* fn, Value* args, size_t at) {
    if (fn->kind != Kind::Global)
      fail(at, detail::concat("REDUCE on a ", kind_name(fn->kind), " (only allowlisted globals can be called)"));
    if (args->kind != Kind::Tuple)
      fail(at, detail::concat("REDUCE of ", global_name(fn), ": arguments are a ", kind_name(args->kind), ", expected a tuple"));
    const std::vector<Value*>& a = args->items;
    const AllowedGlobal* g = find_allowed(fn);
    std::string name = global_name(fn);
    if (!g) {  // an inert class (check_global let only capitalised class names through)
      Value* o = make(Kind::Object);
      o->cls = fn;
      o->args = args;
      deepen(o, args, at);
      return o;
    }
    switch (g->builtin) {
      case Builtin::OrderedDict: {
        Value* d = make(Kind::Dict);
        if (!a.empty()) {
          if (a[0]->kind != Kind::List && a[0]->kind != Kind::Tuple)
            fail(at, "OrderedDict: argument must be a list of (key, value) pairs");
          for (Value* p : a[0]->items) {
            if (p->kind != Kind::Tuple || p->items.size() != 2) fail(at, "OrderedDict: item is not a (key, value) pair");
            dict_set(d, p->items[0], p->items[1], at);
          }
        }
        return d;
      }
      case Builtin::RebuildTensor: return rebuild_tensor(a, "_rebuild_tensor", at);
      case Builtin::RebuildTensorV2: return rebuild_tensor(a, "_rebuild_tensor_v2", at);
      case Builtin::RebuildParameter:
      case Builtin::Parameter:
        if (a.empty() || (a[0]->kind != Kind::TensorView && a[0]->kind != Kind::Tensor))
          fail(at, detail::concat(name, ": expected a tensor as first argument"));
        return a[0];
      case Builtin::NpReconstruct: {
        if (a.size() != 3 || a[0]->kind != Kind::Global || find_allowed(a[0]) == nullptr ||
            find_allowed(a[0])->builtin != Builtin::NpNdarray)
          fail(at, "numpy _reconstruct: expected (numpy.ndarray, shape, typecode)");
        return make(Kind::NumpyArray);
      }
      case Builtin::NpDtype: return numpy_dtype(a, at);
      case Builtin::NpScalar: {
        if (a.size() != 2 || a[0]->kind != Kind::NumpyDtype || !a[1]->is_text())
          fail(at, "numpy scalar: expected (dtype, bytes)");
        std::string raw = a[1]->kind == Kind::Bytes ? a[1]->text : std::string();
        if (a[1]->kind == Kind::Str && !utf8_to_latin1(a[1]->text, raw)) fail(at, "numpy scalar: data is not latin-1 text");
        if (a[0]->text == "O8" || a[0]->text == "O4") fail(at, "numpy scalar: object dtype");
        size_t es = elem_size(a[0]->elem);
        if (raw.size() != es) fail(at, detail::concat("numpy scalar: ", raw.size(), " data bytes for a ", es, "-byte dtype"));
        Value* t = make(Kind::Tensor);
        t->tensor = empty({}, elem_dtype(a[0]->elem));
        copy_elements(reinterpret_cast<const unsigned char*>(raw.data()), a[0]->elem, a[0]->byteorder == '>', {}, {}, 0,
                      t->tensor.raw_data());
        return t;
      }
      case Builtin::CodecsEncode: {
        if (a.empty() || a[0]->kind != Kind::Str) fail(at, "_codecs.encode: expected (str, encoding)");
        std::string enc = a.size() > 1 && a[1]->is_text() ? a[1]->as_utf8() : "utf-8";
        std::string out;
        if (enc == "latin1" || enc == "latin-1" || enc == "iso-8859-1") {
          if (!utf8_to_latin1(a[0]->text, out)) fail(at, "_codecs.encode: text has characters outside latin-1");
        } else if (enc == "utf-8" || enc == "utf8") {
          out = a[0]->text;
        } else {
          fail(at, detail::concat("_codecs.encode: encoding '", enc, "' not supported"));
        }
        return make_text(Kind::Bytes, std::move(out));
      }
      case Builtin::Set:
      case Builtin::FrozenSet: {
        Value* s = make(Kind::Set);
        if (!a.empty()) {
          if (a[0]->kind != Kind::List && a[0]->kind != Kind::Tuple && a[0]->kind != Kind::Set)
            fail(at, detail::concat(name, ": argument is a ", kind_name(a[0]->kind), ", expected a list"));
          for (Value* it : a[0]->items) deepen(s, it, at);
          s->items = a[0]->items;
        }
        return s;
      }
      case Builtin::Bytearray: {
        if (a.empty()) return make_text(Kind::Bytes, "");
        if (a[0]->kind != Kind::Bytes) fail(at, "bytearray: expected bytes");
        return make_text(Kind::Bytes, a[0]->text);
      }
      case Builtin::Reconstructor: {
        if (a.size() < 2 || a[0]->kind != Kind::Global || find_allowed(a[0]) != nullptr)
          fail(at, "copyreg._reconstructor: expected a model class as first argument");
        Value* o = make(Kind::Object);
        o->cls = a[0];
        o->args = args;
        return o;
      }
      case Builtin::TorchSize: {
        if (a.size() != 1 || (a[0]->kind != Kind::Tuple && a[0]->kind != Kind::List)) fail(at, "torch.Size: expected a tuple");
        return make_seq(Kind::Tuple, a[0]->items, at);
      }
      case Builtin::TorchDevice: {
        if (a.empty() || !a[0]->is_text()) fail(at, "torch.device: expected a device name");
        return make_text(Kind::Str, a[0]->as_utf8());
      }
      case Builtin::StorageType:
      case Builtin::TorchDtype:
      case Builtin::NpNdarray:
      case Builtin::ObjectBase:
      case Builtin::None: break;
    }
    fail(at, detail::concat("global ", name, " cannot be called"));
  }

  Value* newobj(Value* cls, Value* args, size_t at) {
    if (cls->kind != Kind::Global)
      fail(at, detail::concat("NEWOBJ on a ", kind_name(cls->kind), ", expected a class"));
    const AllowedGlobal* g = find_allowed(cls);
    if (!g) return reduce(cls, args, at);  // an inert class: same record as REDUCE makes
    switch (g->builtin) {
      case Builtin::OrderedDict: return make(Kind::Dict);
      case Builtin::Set: case Builtin::FrozenSet: return make(Kind::Set);
      case Builtin::Parameter: return reduce(cls, args, at);
      default: fail(at, detail::concat("NEWOBJ on global ", global_name(cls), " is not allowed"));
    }
  }

  void build_numpy(Value* arr, Value* state, size_t at) {
    if (state->kind != Kind::Tuple || (state->items.size() != 5 && state->items.size() != 4))
      fail(at, "numpy array BUILD: expected (version, shape, dtype, is_fortran, data)");
    std::vector<Value*> s = state->items;
    if (s.size() == 5) s.erase(s.begin());
    Shape shape = arg_ints(s, 0, "numpy array", "shape", at);
    if (s[1]->kind != Kind::NumpyDtype) fail(at, "numpy array BUILD: dtype is not a numpy.dtype");
    const Value* dt = s[1];
    bool fortran = s[2]->kind == Kind::Bool ? s[2]->boolean : s[2]->kind == Kind::Int ? s[2]->integer != 0 : false;
    for (int64_t d : shape)
      if (d < 0) fail(at, detail::concat("numpy array: negative dimension in shape ", shape_str(shape)));
    if (!extent_fits(shape)) fail(at, detail::concat("numpy array: shape ", shape_str(shape), " overflows"));
    int64_t numel = numel_of(shape);
    arr->shape = shape;
    arr->cls = s[1];
    if (dt->text == "O8" || dt->text == "O4") {  // object array: the data is a list of the elements
      if (s[3]->kind != Kind::List || int64_t(s[3]->items.size()) != numel)
        fail(at, detail::concat("numpy object array ", shape_str(shape), ": expected a list of ", numel, " elements"));
      for (Value* it : s[3]->items) deepen(arr, it, at);
      arr->items = s[3]->items;
      return;
    }
    std::string latin;
    const std::string* raw = nullptr;
    if (s[3]->kind == Kind::Bytes) {
      raw = &s[3]->text;
    } else if (s[3]->kind == Kind::Str && utf8_to_latin1(s[3]->text, latin)) {
      raw = &latin;
    } else {
      fail(at, detail::concat("numpy array BUILD: data is a ", kind_name(s[3]->kind), ", expected bytes"));
    }
    size_t es = elem_size(dt->elem);
    int64_t nbytes = 0;
    if (__builtin_mul_overflow(numel, int64_t(es), &nbytes) || uint64_t(nbytes) != raw->size())
      fail(at, detail::concat("numpy array ", shape_str(shape), " of ", dt->text, " needs ", numel, " x ", es,
                              " bytes but its data holds ", raw->size()));
    // Fortran order: element (i0..ik) lives at sum i_j * prod(shape[:j]).
    Shape strides(shape.size());
    int64_t st = 1;
    if (fortran) {
      for (size_t j = 0; j < shape.size(); ++j) {
        strides[j] = st;
        st *= std::max<int64_t>(shape[j], 1);
      }
    } else {
      strides = contiguous_strides(shape);
    }
    arr->kind = Kind::Tensor;
    arr->tensor = empty(shape, elem_dtype(dt->elem));
    copy_elements(reinterpret_cast<const unsigned char*>(raw->data()), dt->elem, dt->byteorder == '>', shape, strides, 0,
                  numel ? arr->tensor.raw_data() : nullptr);
  }

  void build(Value* obj, Value* state, size_t at) {
    switch (obj->kind) {
      case Kind::Object:
        if (state->kind == Kind::Tuple && state->items.size() == 2 &&
            (state->items[0]->kind == Kind::Dict || state->items[0]->kind == Kind::None))
          state = state->items[0]->kind == Kind::Dict ? state->items[0] : state->items[1];
        obj->state = state;
        deepen(obj, state, at);
        return;
      case Kind::Dict:  // OrderedDict attributes, e.g. a state dict's _metadata
        obj->state = state;
        deepen(obj, state, at);
        return;
      case Kind::NumpyDtype:
        if (state->kind != Kind::Tuple || state->items.size() < 2 || !state->items[1]->is_text())
          fail(at, "numpy dtype BUILD: expected (version, byteorder, ...)");
        {
          std::string bo = state->items[1]->as_utf8();
          if (bo.size() != 1 || !std::strchr("<>|=", bo[0])) fail(at, detail::concat("numpy dtype: byte order '", bo, "'"));
          obj->byteorder = bo[0];
        }
        return;
      case Kind::NumpyArray:
        if (!obj->shape.empty() || obj->cls) fail(at, "numpy array BUILD twice");
        build_numpy(obj, state, at);
        return;
      case Kind::TensorView:
      case Kind::Tensor: return;  // tensor attributes (e.g. requires_grad state): nothing to keep
      case Kind::Global:
        fail(at, detail::concat("BUILD on global ", global_name(obj), " is not allowed (it would set attributes on code)"));
      default: fail(at, detail::concat("BUILD target is a ", kind_name(obj->kind), " (not an object)"));
    }
  }

  std::string python_string_literal(const std::string& line, size_t at) {
    if (line.size() < 2 || (line[0] != '\'' && line[0] != '"') || line.back() != line[0])
      fail(at, "STRING argument is not a quoted literal");
    std::string out;
    for (size_t i = 1; i + 1 < line.size(); ++i) {
      char c = line[i];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (++i + 1 > line.size() - 1) fail(at, "STRING literal ends in a backslash");
      char e = line[i];
      switch (e) {
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '\\': case '\'': case '"': out += e; break;
        case 'x': {
          if (i + 2 >= line.size() - 0 || hex_digit(line[i + 1]) < 0 || hex_digit(line[i + 2]) < 0)
            fail(at, "STRING literal has a bad \\x escape");
          out += char(hex_digit(line[i + 1]) * 16 + hex_digit(line[i + 2]));
          i += 2;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            int v = e - '0';
            for (int k = 0; k < 2 && i + 1 < line.size() - 1 && line[i + 1] >= '0' && line[i + 1] <= '7'; ++k)
              v = v * 8 + (line[++i] - '0');
            out += char(v & 0xFF);
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    return out;
  }

  std::string raw_unicode_escape(const std::string& line, size_t at) {
    std::string out;
    for (size_t i = 0; i < line.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      if (c == '\\' && i + 1 < line.size() && (line[i + 1] == 'u' || line[i + 1] == 'U')) {
        size_t n = line[i + 1] == 'u' ? 4 : 8;
        if (i + 2 + n > line.size()) fail(at, "UNICODE literal has a truncated \\u escape");
        uint32_t cp = 0;
        for (size_t k = 0; k < n; ++k) {
          int h = hex_digit(line[i + 2 + k]);
          if (h < 0) fail(at, "UNICODE literal has a bad \\u escape");
          cp = cp * 16 + uint32_t(h);
        }
        if (cp > 0x10FFFF) fail(at, "UNICODE literal has a code point past U+10FFFF");
        append_utf8(out, cp);
        i += 1 + n;
      } else {
        append_utf8(out, c);
      }
    }
    return out;
  }

  int64_t parse_decimal(const std::string& s, size_t at, const char* op) {
    std::string t = s;
    if (!t.empty() && t.back() == 'L') t.pop_back();
    if (t.empty() || t.size() > 20) fail(at, detail::concat(op, ": bad integer '", s.substr(0, 40), "'"));
    size_t i = (t[0] == '-' || t[0] == '+') ? 1 : 0;
    if (i == t.size()) fail(at, detail::concat(op, ": bad integer '", s, "'"));
    int64_t v = 0;
    for (; i < t.size(); ++i) {
      if (t[i] < '0' || t[i] > '9') fail(at, detail::concat(op, ": bad integer '", s, "'"));
      if (__builtin_mul_overflow(v, int64_t(10), &v) || __builtin_add_overflow(v, int64_t(t[i] - '0'), &v))
        fail(at, detail::concat(op, ": integer '", s, "' does not fit 64 bits"));
    }
    return t[0] == '-' ? -v : v;
  }

  Value* long_bytes(std::string b) {
    if (b.size() <= 8) {
      uint64_t v = 0;
      for (size_t i = 0; i < b.size(); ++i) v |= uint64_t(static_cast<unsigned char>(b[i])) << (8 * i);
      if (!b.empty() && b.size() < 8 && (static_cast<unsigned char>(b.back()) & 0x80)) v |= ~uint64_t(0) << (8 * b.size());
      return make_int(int64_t(v));
    }
    return make_text(Kind::BigInt, std::move(b));
  }

  Value* run();
};

Unpickler::Unpickler(const std::string& bytes, size_t pos, std::string what, Arena& arena, Limits limits)
    : bytes_(bytes), pos_(pos), what_(std::move(what)), arena_(arena), limits_(limits) {}

Value* Unpickler::load() {
  Impl impl(*this);
  return impl.run();
}

Value* Unpickler::Impl::run() {
  FK_CHECK(pos < in.size(), u.what_, ": truncated: no pickle data at byte ", pos, " (the file ends there)");
  while (true) {
    size_t at = pos;
    if (pos >= in.size()) fail(at, "truncated: the file ends before the pickle's STOP opcode");
    unsigned char op = static_cast<unsigned char>(in[pos++]);
    switch (op) {
      case 0x80: {  // PROTO
        uint64_t v = read_le(1, at, "PROTO");
        if (v > 5) fail(at, detail::concat("unsupported pickle protocol ", v));
        break;
      }
      case 0x95: read_le(8, at, "FRAME"); break;  // framing hint: lengths are checked per opcode anyway
      case '.': {  // STOP
        Value* v = pop(at, "STOP");
        return v;
      }
      case '(':
        if (marks.size() >= u.limits_.max_depth * 16) fail(at, "too many nested MARKs (depth budget)");
        marks.push_back(stack.size());
        break;
      case '0': pop(at, "POP"); break;
      case '1': pop_mark(at, "POP_MARK"); break;
      case '2': push(top(at, "DUP"), at); break;
      case 'N': push(make(Kind::None), at); break;
      case 0x88: case 0x89: {
        Value* b = make(Kind::Bool);
        b->boolean = op == 0x88;
        push(b, at);
        break;
      }
      case 'J': push(make_int(int32_t(uint32_t(read_le(4, at, "BININT")))), at); break;
      case 'K': push(make_int(int64_t(read_le(1, at, "BININT1"))), at); break;
      case 'M': push(make_int(int64_t(read_le(2, at, "BININT2"))), at); break;
      case 0x8a: {
        uint64_t n = read_le(1, at, "LONG1");
        push(long_bytes(read_bytes(n, at, "LONG1")), at);
        break;
      }
      case 0x8b: {
        int32_t n = int32_t(uint32_t(read_le(4, at, "LONG4")));
        if (n < 0) fail(at, "LONG4 with a negative length");
        push(long_bytes(read_bytes(uint64_t(n), at, "LONG4")), at);
        break;
      }
      case 'I': {
        std::string line = read_line(at, "INT");
        if (line == "00" || line == "01") {
          Value* b = make(Kind::Bool);
          b->boolean = line == "01";
          push(b, at);
        } else {
          push(make_int(parse_decimal(line, at, "INT")), at);
        }
        break;
      }
      case 'L': push(make_int(parse_decimal(read_line(at, "LONG"), at, "LONG")), at); break;
      case 'G': {
        uint64_t bits = 0;
        need(8, at, "BINFLOAT");
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<unsigned char>(in[pos + size_t(i)]);  // big-endian
        pos += 8;
        Value* f = make(Kind::Float);
        std::memcpy(&f->real, &bits, 8);
        push(f, at);
        break;
      }
      case 'F': {
        std::string line = read_line(at, "FLOAT");
        char* end = nullptr;
        double v = std::strtod(line.c_str(), &end);
        if (line.empty() || end != line.c_str() + line.size()) fail(at, detail::concat("FLOAT: bad number '", line.substr(0, 40), "'"));
        Value* f = make(Kind::Float);
        f->real = v;
        push(f, at);
        break;
      }
      case 'U': push(make_text(Kind::Bytes, read_bytes(read_le(1, at, "SHORT_BINSTRING"), at, "SHORT_BINSTRING")), at); break;
      case 'T': {
        int32_t n = int32_t(uint32_t(read_le(4, at, "BINSTRING")));
        if (n < 0) fail(at, "BINSTRING with a negative length");
        push(make_text(Kind::Bytes, read_bytes(uint64_t(n), at, "BINSTRING")), at);
        break;
      }
      case 'S': push(make_text(Kind::Bytes, python_string_literal(read_line(at, "STRING"), at)), at); break;
      case 'C': push(make_text(Kind::Bytes, read_bytes(read_le(1, at, "SHORT_BINBYTES"), at, "SHORT_BINBYTES")), at); break;
      case 'B': push(make_text(Kind::Bytes, read_bytes(read_le(4, at, "BINBYTES"), at, "BINBYTES")), at); break;
      case 0x8e: push(make_text(Kind::Bytes, read_bytes(read_le(8, at, "BINBYTES8"), at, "BINBYTES8")), at); break;
      case 0x96: push(make_text(Kind::Bytes, read_bytes(read_le(8, at, "BYTEARRAY8"), at, "BYTEARRAY8")), at); break;
      case 'X': case 0x8c: case 0x8d: {
        const char* nm = op == 'X' ? "BINUNICODE" : op == 0x8c ? "SHORT_BINUNICODE" : "BINUNICODE8";
        uint64_t n = read_le(op == 'X' ? 4 : op == 0x8c ? 1 : 8, at, nm);
        std::string s = read_bytes(n, at, nm);
        if (!valid_utf8(s)) fail(at, detail::concat(nm, ": invalid UTF-8"));
        push(make_text(Kind::Str, std::move(s)), at);
        break;
      }
      case 'V': push(make_text(Kind::Str, raw_unicode_escape(read_line(at, "UNICODE"), at)), at); break;
      case ')': push(make(Kind::Tuple), at); break;
      case 0x85: case 0x86: case 0x87: {
        size_t n = op - 0x84;
        std::vector<Value*> items(n);
        for (size_t i = n; i-- > 0;) items[i] = pop(at, "TUPLE1/2/3");
        push(make_seq(Kind::Tuple, std::move(items), at), at);
        break;
      }
      case 't': push(make_seq(Kind::Tuple, pop_mark(at, "TUPLE"), at), at); break;
      case ']': push(make(Kind::List), at); break;
      case 'l': push(make_seq(Kind::List, pop_mark(at, "LIST"), at), at); break;
      case 'a': case 'e': {
        std::vector<Value*> items;
        if (op == 'a') items.push_back(pop(at, "APPEND"));
        else items = pop_mark(at, "APPENDS");
        Value* list = top(at, op == 'a' ? "APPEND" : "APPENDS");
        if (list->kind != Kind::List)
          fail(at, detail::concat(op == 'a' ? "APPEND" : "APPENDS", " target is ", kind_name(list->kind), ", expected list"));
        for (Value* it : items) {
          deepen(list, it, at);
          list->items.push_back(it);
        }
        break;
      }
      case '}': push(make(Kind::Dict), at); break;
      case 'd': {
        std::vector<Value*> items = pop_mark(at, "DICT");
        if (items.size() % 2) fail(at, "DICT with an odd number of items");
        Value* d = make(Kind::Dict);
        for (size_t i = 0; i < items.size(); i += 2) dict_set(d, items[i], items[i + 1], at);
        push(d, at);
        break;
      }
      case 's': case 'u': {
        std::vector<Value*> items;
        if (op == 's') {
          Value* v = pop(at, "SETITEM");
          Value* k = pop(at, "SETITEM");
          items = {k, v};
        } else {
          items = pop_mark(at, "SETITEMS");
          if (items.size() % 2) fail(at, "SETITEMS with an odd number of items");
        }
        Value* d = top(at, op == 's' ? "SETITEM" : "SETITEMS");
        if (d->kind != Kind::Dict)
          fail(at, detail::concat(op == 's' ? "SETITEM" : "SETITEMS", " target is ", kind_name(d->kind), ", expected dict"));
        for (size_t i = 0; i < items.size(); i += 2) dict_set(d, items[i], items[i + 1], at);
        break;
      }
      case 0x8f: push(make(Kind::Set), at); break;
      case 0x90: {
        std::vector<Value*> items = pop_mark(at, "ADDITEMS");
        Value* s = top(at, "ADDITEMS");
        if (s->kind != Kind::Set) fail(at, detail::concat("ADDITEMS target is ", kind_name(s->kind), ", expected set"));
        for (Value* it : items) {
          deepen(s, it, at);
          s->items.push_back(it);
        }
        break;
      }
      case 0x91: push(make_seq(Kind::Set, pop_mark(at, "FROZENSET"), at), at); break;
      case 'p': memo_put(uint64_t(parse_decimal(read_line(at, "PUT"), at, "PUT")), top(at, "PUT"), at); break;
      case 'q': {
        uint64_t i = read_le(1, at, "BINPUT");
        memo_put(i, top(at, "BINPUT"), at);
        break;
      }
      case 'r': {
        uint64_t i = read_le(4, at, "LONG_BINPUT");
        memo_put(i, top(at, "LONG_BINPUT"), at);
        break;
      }
      case 0x94: memo_put(memo.size(), top(at, "MEMOIZE"), at); break;
      case 'g': push(memo_get(uint64_t(parse_decimal(read_line(at, "GET"), at, "GET")), at), at); break;
      case 'h': push(memo_get(read_le(1, at, "BINGET"), at), at); break;
      case 'j': push(memo_get(read_le(4, at, "LONG_BINGET"), at), at); break;
      case 'c': {
        std::string module = read_line(at, "GLOBAL");
        std::string name = read_line(at, "GLOBAL");
        push(make_global(module, name, at), at);
        break;
      }
      case 0x93: {
        Value* name = pop(at, "STACK_GLOBAL");
        Value* module = pop(at, "STACK_GLOBAL");
        if (module->kind != Kind::Str || name->kind != Kind::Str) fail(at, "STACK_GLOBAL: module and name must be str");
        push(make_global(module->text, name->text, at), at);
        break;
      }
      case 'R': {
        Value* args = pop(at, "REDUCE");
        Value* fn = pop(at, "REDUCE");
        push(reduce(fn, args, at), at);
        break;
      }
      case 0x81: {
        Value* args = pop(at, "NEWOBJ");
        Value* cls = pop(at, "NEWOBJ");
        push(newobj(cls, args, at), at);
        break;
      }
      case 0x92: {
        Value* kwargs = pop(at, "NEWOBJ_EX");
        Value* args = pop(at, "NEWOBJ_EX");
        Value* cls = pop(at, "NEWOBJ_EX");
        (void)kwargs;
        push(newobj(cls, args, at), at);
        break;
      }
      case 'i': {  // INST: module\nname\n, arguments since the mark
        std::string module = read_line(at, "INST");
        std::string name = read_line(at, "INST");
        Value* cls = make_global(module, name, at);
        Value* args = make_seq(Kind::Tuple, pop_mark(at, "INST"), at);
        push(newobj(cls, args, at), at);
        break;
      }
      case 'o': {  // OBJ: class and arguments since the mark
        std::vector<Value*> items = pop_mark(at, "OBJ");
        if (items.empty()) fail(at, "OBJ without a class");
        Value* cls = items[0];
        items.erase(items.begin());
        push(newobj(cls, make_seq(Kind::Tuple, std::move(items), at), at), at);
        break;
      }
      case 'b': {
        Value* state = pop(at, "BUILD");
        build(top(at, "BUILD"), state, at);
        break;
      }
      case 'Q': case 'P': {
        Value* pid = op == 'Q' ? pop(at, "BINPERSID") : make_text(Kind::Str, read_line(at, "PERSID"));
        if (!u.persistent_load) fail(at, "persistent id in a pickle that has no external storages");
        Value* v = u.persistent_load(pid);
        if (!v) fail(at, "persistent id could not be resolved");
        push(v, at);
        break;
      }
      case 0x98: top(at, "READONLY_BUFFER"); break;
      case 0x82: case 0x83: case 0x84:
        fail(at, "EXT opcodes (the copyreg extension registry) are not allowed");
      case 0x97: fail(at, "NEXT_BUFFER (out-of-band buffers) is not supported");
      default:
        fail(at, detail::concat("unknown pickle opcode 0x", "0123456789abcdef"[op >> 4], "0123456789abcdef"[op & 15],
                                " (corrupt file or not a pickle)"));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Tensors out of values.

static void copy_elements(const unsigned char* src, ElemType et, bool swap, const Shape& shape,
                          const Shape& strides, int64_t offset, void* dst_void) {
  int64_t numel = numel_of(shape);
  if (numel == 0) return;
  size_t es = std::min<size_t>(elem_size(et), 8);
  bool widen = et == ElemType::I32 || et == ElemType::I16 || et == ElemType::I8;
  size_t out_es = widen ? 8 : es;
  auto* dst = static_cast<unsigned char*>(dst_void);
  if (!swap && !widen && strides == contiguous_strides(shape)) {
    std::memcpy(dst, src + size_t(offset) * es, size_t(numel) * es);
    return;
  }
  size_t nd = shape.size();
  std::vector<int64_t> idx(nd, 0);
  int64_t src_off = offset;
  for (int64_t n = 0; n < numel; ++n) {
    unsigned char tmp[8];
    std::memcpy(tmp, src + size_t(src_off) * es, es);
    if (swap)
      for (size_t i = 0; i < es / 2; ++i) std::swap(tmp[i], tmp[es - 1 - i]);
    unsigned char* out = dst + size_t(n) * out_es;
    if (widen) {
      int64_t v = et == ElemType::I32 ? int64_t(int32_t(uint32_t(tmp[0]) | uint32_t(tmp[1]) << 8 | uint32_t(tmp[2]) << 16 | uint32_t(tmp[3]) << 24))
                : et == ElemType::I16 ? int64_t(int16_t(uint16_t(tmp[0] | tmp[1] << 8)))
                                      : int64_t(int8_t(tmp[0]));
      std::memcpy(out, &v, 8);
    } else {
      std::memcpy(out, tmp, es);
    }
    for (size_t d = nd; d-- > 0;) {  // odometer over the row-major output index
      if (++idx[d] < shape[d]) {
        src_off += strides[d];
        break;
      }
      src_off -= strides[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

static const Value* root_storage(const Value* s) { return s->state ? s->state : s; }

Tensor materialize(const Value* v, const std::string& what, const std::string& key) {
  if (v->kind == Kind::Tensor) return v->tensor;
  if (v->kind == Kind::NumpyArray && v->shape.empty() && v->items.size() == 1)
    return materialize(v->items[0], what, key);
  FK_CHECK(v->kind == Kind::TensorView, what, ": '", key, "' is a ", kind_name(v->kind), ", not a tensor");
  const Value* st = v->state;
  const Value* root = root_storage(st);
  const std::string desc = detail::concat(what, ": tensor '", key, "' (shape ", shape_str(v->shape), ", stride ",
                                          shape_str(v->strides), ", storage offset ", v->integer, ", storage '",
                                          st->text, "' of ", st->integer, " elements)");
  FK_CHECK(root->bytes != nullptr, desc, ": storage data missing from the file");
  FK_CHECK(v->integer >= 0, desc, ": negative storage offset");
  int64_t numel = 1, last = v->integer;
  for (size_t d = 0; d < v->shape.size(); ++d) {
    FK_CHECK(v->shape[d] >= 0, desc, ": negative size ", v->shape[d], " in dim ", d);
    FK_CHECK(v->strides[d] >= 0, desc, ": negative stride ", v->strides[d], " in dim ", d);
    FK_CHECK(!__builtin_mul_overflow(numel, v->shape[d], &numel), desc, ": shape overflows 64 bits");
  }
  FK_CHECK(extent_fits(v->shape), desc, ": shape overflows 64 bits");
  if (numel > 0) {
    for (size_t d = 0; d < v->shape.size(); ++d) {
      int64_t span = 0;
      FK_CHECK(!__builtin_mul_overflow(v->shape[d] - 1, v->strides[d], &span) && !__builtin_add_overflow(last, span, &last),
               desc, ": stride arithmetic overflows 64 bits");
    }
    FK_CHECK(last < st->integer, desc, ": reads element ", last, ", past the end of the storage");
  } else {
    FK_CHECK(v->integer <= st->integer, desc, ": storage offset past the end of the storage");
  }
  size_t es = elem_size(st->elem);
  // The storage's bytes were checked against its declared numel when it was loaded.
  FK_CHECK(uint64_t(st->base + st->integer) * es <= root->data.size(), desc, ": storage holds only ",
           root->data.size(), " bytes");
  Tensor out = empty(v->shape, elem_dtype(st->elem));
  copy_elements(reinterpret_cast<const unsigned char*>(root->data.data()) + size_t(st->base) * es, st->elem, false,
                v->shape, v->strides, v->integer, numel ? out.raw_data() : nullptr);
  return out;
}

namespace {

struct Flattener {
  std::string what;
  StateDict out;
  std::unordered_map<const Value*, Tensor> done;  // tied weights stay one tensor
  size_t visits = 0;
  static constexpr size_t kMaxVisits = 4'000'000;
  static constexpr int kMaxDepth = 1000;

  static std::string join(const std::string& prefix, const std::string& k) { return prefix.empty() ? k : prefix + "." + k; }

  void add(const std::string& key, const Value* v) {
    std::string k = key.empty() ? "tensor" : key;
    FK_CHECK(!out.contains(k), what, ": key '", k, "' appears twice after flattening nested dicts");
    auto it = done.find(v);
    if (it == done.end()) it = done.emplace(v, materialize(v, what, k)).first;
    out.set(k, it->second);
  }

  void step(int depth) {
    FK_CHECK(depth <= kMaxDepth, what, ": objects nested deeper than ", kMaxDepth, " levels");
    FK_CHECK(++visits <= kMaxVisits, what, ": more than ", kMaxVisits,
             " object visits while flattening (shared references blow up; hostile file?)");
  }

  static bool key_text(const Value* k, std::string& s) {
    if (k->is_text()) s = k->as_utf8();
    else if (k->kind == Kind::Int) s = std::to_string(k->integer);
    else return false;
    return true;
  }

  void module(const Value* obj, const std::string& prefix, int depth) {
    step(depth);
    const Value* st = obj->state;
    std::unordered_set<std::string> non_persistent;
    if (const Value* np = st->get("_non_persistent_buffers_set"); np && np->kind == Kind::Set)
      for (const Value* n : np->items)
        if (n->is_text()) non_persistent.insert(n->as_utf8());
    for (const char* group : {"_parameters", "_buffers"}) {
      const Value* d = st->get(group);
      if (!d || d->kind != Kind::Dict) continue;
      for (size_t i = 0; i + 1 < d->items.size(); i += 2) {
        std::string k;
        const Value* v = d->items[i + 1];
        if (!key_text(d->items[i], k) || v->kind == Kind::None) continue;
        if (group[1] == 'b' && non_persistent.count(k)) continue;
        add(join(prefix, k), v);
      }
    }
    const Value* mods = st->get("_modules");
    if (!mods || mods->kind != Kind::Dict) return;
    for (size_t i = 0; i + 1 < mods->items.size(); i += 2) {
      std::string k;
      const Value* m = mods->items[i + 1];
      if (!key_text(mods->items[i], k) || m->kind == Kind::None) continue;
      value(m, join(prefix, k), depth + 1);
    }
  }

  static bool is_module(const Value* v) {
    return v->kind == Kind::Object && v->state && v->state->kind == Kind::Dict &&
           (v->state->get("_parameters") || v->state->get("_modules"));
  }

  static bool is_leaf(const Value* v) {
    switch (v->kind) {
      case Kind::Tensor: case Kind::TensorView: case Kind::NumpyArray: case Kind::Dict:
      case Kind::List: case Kind::Tuple: case Kind::Object: return false;
      default: return true;
    }
  }

  void value(const Value* v, const std::string& prefix, int depth) {
    if (is_leaf(v)) return;  // numbers, strings, None: checkpoint metadata, not tensors
    step(depth);
    switch (v->kind) {
      case Kind::Tensor:
      case Kind::TensorView: add(prefix, v); return;
      case Kind::NumpyArray:
        if (v->shape.empty() && v->items.size() == 1) return value(v->items[0], prefix, depth + 1);
        for (size_t i = 0; i < v->items.size(); ++i)
          if (!is_leaf(v->items[i])) value(v->items[i], join(prefix, std::to_string(i)), depth + 1);
        return;
      case Kind::Dict:
        for (size_t i = 0; i + 1 < v->items.size(); i += 2) {
          std::string k;
          if (!is_leaf(v->items[i + 1]) && key_text(v->items[i], k)) value(v->items[i + 1], join(prefix, k), depth + 1);
        }
        return;
      case Kind::List:
      case Kind::Tuple:
        for (size_t i = 0; i < v->items.size(); ++i)
          if (!is_leaf(v->items[i])) value(v->items[i], join(prefix, std::to_string(i)), depth + 1);
        return;
      case Kind::Object:
        if (is_module(v)) module(v, prefix, depth + 1);
        return;
      default: return;
    }
  }
};

}  // namespace

StateDict flatten(const Value* root, const std::string& what) {
  Flattener f;
  f.what = what;
  f.value(root, "", 0);
  return std::move(f.out);
}

}  // namespace fk::data::pickle
