// Parsing for the pickle VM's protocol-0 text opcodes (machine.h): Python string literals (STRING),
// raw-unicode-escape text (UNICODE), decimal integers (INT, LONG, PUT, GET), the little-endian
// two's-complement bytes of LONG1/LONG4, and the UTF-8 / latin-1 helpers they and the other opcodes use.
// Every escape and digit is checked; a malformed literal is refused naming the opcode's byte offset.
// Tests: tests/data/pickle/test_pickle.cpp, tests/data/formats/test_hostile_files.cpp, tests/fuzz/fuzz_pickle.cpp.
#include <cstdint>
#include <string>

#include "data/pickle/machine.h"

namespace fk::data::pickle {

bool valid_utf8(const std::string& s) {
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
bool utf8_to_latin1(const std::string& s, std::string& out) {
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

std::string Unpickler::Impl::python_string_literal(const std::string& line, size_t at) {
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

std::string Unpickler::Impl::raw_unicode_escape(const std::string& line, size_t at) {
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

int64_t Unpickler::Impl::parse_decimal(const std::string& s, size_t at, const char* op) {
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

Value* Unpickler::Impl::long_bytes(std::string b) {
  if (b.size() <= 8) {
    uint64_t v = 0;
    for (size_t i = 0; i < b.size(); ++i) v |= uint64_t(static_cast<unsigned char>(b[i])) << (8 * i);
    if (!b.empty() && b.size() < 8 && (static_cast<unsigned char>(b.back()) & 0x80)) v |= ~uint64_t(0) << (8 * b.size());
    return make_int(int64_t(v));
  }
  return make_text(Kind::BigInt, std::move(b));
}

}  // namespace fk::data::pickle
