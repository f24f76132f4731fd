// Internal to data/pickle/ (not API): the state of the pickle VM (unpickler.h) and its steps, shared by
// the .cpp files that make up the machine: the opcode loop (unpickler.cpp), the allowlisted constructors
// REDUCE/NEWOBJ/BUILD call (constructors.cpp), the parsing of protocol-0 text arguments and of longs
// (literals.cpp), and the allowlist those constructors are looked up in (allowlist.cpp). The small steps
// (reading bytes, the stack, marks, memo, dict keys, depth) are defined here, inline.
// Tests: tests/data/pickle/test_pickle.cpp, tests/data/formats/test_hostile_files.cpp, tests/fuzz/fuzz_pickle.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/pickle/unpickler.h"
#include "data/pickle/value.h"

namespace fk::data::pickle {

// ---------------------------------------------------------------------------------------------
// The allowlist (allowlist.cpp). Exact "module.name" strings map to the native constructors of
// constructors.cpp; nothing else can be called. Unknown capitalised classes (model code) are allowed
// only as inert records.

enum class Builtin {
  None, OrderedDict, RebuildTensor, RebuildTensorV2, RebuildParameter, StorageType, NpReconstruct,
  NpNdarray, NpDtype, NpScalar, CodecsEncode, Set, FrozenSet, Bytearray, ObjectBase, Reconstructor,
  TorchSize, TorchDevice, Parameter, TorchDtype,
};

struct AllowedGlobal {
  Builtin builtin;
  ElemType elem;  // StorageType
};

// The allowlist entry of a Global, or nullptr for an inert class.
const AllowedGlobal* find_allowed(const Value* g);

// ---------------------------------------------------------------------------------------------
// Text helpers (literals.cpp), also used by the opcode loop and the constructors.

bool valid_utf8(const std::string& s);
// UTF-8 text whose code points are all < 256 -> those bytes (latin-1 encoding), else false.
bool utf8_to_latin1(const std::string& s, std::string& out);

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

  // Arguments of the allowlisted constructors, checked (constructors.cpp).
  int64_t arg_int(const std::vector<Value*>& a, size_t i, const char* fn, const char* what, size_t at);
  Shape arg_ints(const std::vector<Value*>& a, size_t i, const char* fn, const char* what, size_t at);

  // The allowlisted constructors (constructors.cpp).
  Value* rebuild_tensor(const std::vector<Value*>& a, const char* fn, size_t at);
  Value* numpy_dtype(const std::vector<Value*>& a, size_t at);
  // REDUCE(callable, args): the callable must be an allowlisted global or an inert class.
  Value* reduce(Value* fn, Value* args, size_t at);
  Value* newobj(Value* cls, Value* args, size_t at);
  void build_numpy(Value* arr, Value* state, size_t at);
  void build(Value* obj, Value* state, size_t at);

  // Protocol-0 text arguments and longs (literals.cpp).
  std::string python_string_literal(const std::string& line, size_t at);
  std::string raw_unicode_escape(const std::string& line, size_t at);
  int64_t parse_decimal(const std::string& s, size_t at, const char* op);
  Value* long_bytes(std::string b);

  // The opcode loop (unpickler.cpp): runs until STOP and returns the object.
  Value* run();
};

}  // namespace fk::data::pickle
