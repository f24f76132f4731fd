// The pickle VM's opcode loop (unpickler.h, machine.h): one switch over the opcodes of protocols 0-5 with
// a value stack, a mark stack and a memo map. Nothing is ever looked up dynamically or called: GLOBAL
// only records an allowlisted (module, name), and REDUCE/NEWOBJ/BUILD hand that fixed list to the
// constructors of constructors.cpp. Lengths are checked against the bytes left before reading.
// Tests: tests/data/pickle/test_pickle.cpp, tests/data/formats/test_hostile_files.cpp, tests/fuzz/fuzz_pickle.cpp.
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "data/pickle/machine.h"

namespace fk::data::pickle {

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

}  // namespace fk::data::pickle
