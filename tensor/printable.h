// fk::printable: an error message made safe for a terminal and for JSON (see below). Tests:
// tests/tensor/test_error.cpp.
#pragma once

#include <cstdint>
#include <string>

namespace fk {

// `message` safe to print on a terminal and to put in JSON: control characters (C0, DEL, C1) and bytes
// that are not valid UTF-8 become \xNN, so a hostile file's bytes quoted in a message (a PNG chunk
// type of ESC[2J, a name in a pickle) cannot drive the terminal; valid UTF-8 text (accented names)
// is kept as it is. Used wherever the `facekit` command prints or records an error message.
inline std::string printable(const std::string& message) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(message.size());
  auto escape = [&](unsigned char c) {
    out += "\\x";
    out += hex[c >> 4];
    out += hex[c & 15];
  };
  const size_t n = message.size();
  for (size_t i = 0; i < n;) {
    const auto c = static_cast<unsigned char>(message[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) escape(c);
      else out += char(c);
      ++i;
      continue;
    }
    // a UTF-8 sequence: its length from the lead byte, continuation bytes 10xxxxxx, no overlong
    // forms or surrogates, at most U+10FFFF; C1 controls (U+0080..U+009F) escaped like C0
    const size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    bool ok = len > 0 && i + len <= n;
    uint32_t cp = len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    for (size_t k = 1; ok && k < len; ++k) {
      const auto d = static_cast<unsigned char>(message[i + k]);
      ok = (d & 0xc0) == 0x80;
      cp = (cp << 6) | (d & 0x3f);
    }
    ok = ok && !(len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) &&
         !(len == 4 && (cp < 0x10000 || cp > 0x10ffff)) && !(cp >= 0x80 && cp <= 0x9f);
    if (ok) {
      out.append(message, i, len);
      i += len;
    } else {
      escape(c);
      ++i;
    }
  }
  return out;
}

}  // namespace fk
