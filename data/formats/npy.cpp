// .npy reader/writer. Header: "\x93NUMPY", major, minor, header length (2 bytes for v1, 4 for
// v2/v3), then a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
#include "data/formats/npy.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "data/formats/files.h"
#include "tensor/creation.h"

namespace fk::data {

static DType parse_descr(const std::string& d, const std::string& what) {
  if (d == "<f4") return DType::Float32;
  if (d == "<f8") return DType::Float64;
  if (d == "<i8") return DType::Int64;
  if (d == "|u1") return DType::UInt8;
  if (d == "|b1") return DType::Bool;
  if (d == "<f2") return DType::Float16;
  throw Error(detail::concat(what, ": unsupported .npy dtype '", d, "' (supported: <f4 <f8 <i8 |u1 |b1 <f2)"));
}

static std::string descr_of(DType t) {
  switch (t) {
    case DType::Float32: return "<f4";
    case DType::Float64: return "<f8";
    case DType::Int64: return "<i8";
    case DType::UInt8: return "|u1";
    case DType::Bool: return "|b1";
    case DType::Float16: return "<f2";
    default: throw Error(detail::concat("write_npy: dtype ", dtype_name(t), " has no .npy equivalent"));
  }
}

// The quoted value after 'key': in the header dict.
static std::string header_value(const std::string& h, const std::string& key, const std::string& what) {
  size_t k = h.find("'" + key + "'");
  FK_CHECK(k != std::string::npos, what, ": .npy header has no '", key, "': ", h);
  size_t colon = h.find(':', k);
  FK_CHECK(colon != std::string::npos, what, ": malformed .npy header: ", h);
  size_t start = h.find_first_not_of(' ', colon + 1);
  FK_CHECK(start != std::string::npos, what, ": malformed .npy header: ", h);
  if (h[start] == '\'') {
    size_t end = h.find('\'', start + 1);
    FK_CHECK(end != std::string::npos, what, ": malformed .npy header: ", h);
    return h.substr(start + 1, end - start - 1);
  }
  if (h[start] == '(') {
    size_t end = h.find(')', start);
    FK_CHECK(end != std::string::npos, what, ": malformed .npy header: ", h);
    return h.substr(start + 1, end - start - 1);
  }
  size_t end = h.find_first_of(",}", start);
  return h.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

namespace {

// What the header of a .npy says: the dtype string, the shape and where the data starts.
struct NpyHeader {
  std::string descr;
  Shape shape;
  int64_t count = 1;  // elements
  size_t data_start = 0;
};

constexpr size_t kNpyMaxHeaderBytes = 10000;

NpyHeader parse_header(const std::string& bytes, const std::string& what) {
  FK_CHECK(bytes.size() >= 10 && bytes.compare(0, 6, "\x93NUMPY") == 0, what, ": not a .npy file (bad magic)");
  int major = uint8_t(bytes[6]);
  FK_CHECK(major >= 1 && major <= 3, what, ": unsupported .npy version ", major);
  size_t hlen, hstart;
  if (major == 1) {
    hlen = uint8_t(bytes[8]) | size_t(uint8_t(bytes[9])) << 8;
    hstart = 10;
  } else {
    FK_CHECK(bytes.size() >= 12, what, ": truncated .npy header");
    hlen = 0;
    for (int i = 0; i < 4; ++i) hlen |= size_t(uint8_t(bytes[8 + size_t(i)])) << (8 * i);
    hstart = 12;
  }
  FK_CHECK(hstart + hlen <= bytes.size(), what, ": truncated .npy header (", hlen, " bytes announced)");
  // numpy >= 1.24 refuses headers over 10,000 bytes (max_header_size: a huge header is a parsing
  // attack, never a real array's); so does facekit
  FK_CHECK(hlen <= kNpyMaxHeaderBytes, what, ": .npy header of ", hlen, " bytes is over the ", kNpyMaxHeaderBytes,
           "-byte limit numpy also applies (not an array numpy wrote)");
  std::string h = bytes.substr(hstart, hlen);
  NpyHeader out;
  out.descr = header_value(h, "descr", what);
  FK_CHECK(header_value(h, "fortran_order", what) == "False", what, ": Fortran-order arrays are not supported");
  std::stringstream dims(header_value(h, "shape", what));
  std::string item;
  while (std::getline(dims, item, ',')) {
    size_t b = item.find_first_not_of(' ');
    if (b == std::string::npos) continue;
    char* end = nullptr;
    long long v = std::strtoll(item.c_str() + b, &end, 10);
    FK_CHECK(end != item.c_str() + b && v >= 0 && v < (1LL << 40), what, ": bad dimension '", item, "' in .npy shape");
    out.shape.push_back(v);
  }
  out.data_start = hstart + hlen;
  // Overflow-safe element count (and, as the strides use them, the product of all dims counted as
  // at least 1) before anything is allocated.
  int64_t extent = 1;
  for (int64_t d : out.shape) {
    FK_CHECK(!__builtin_mul_overflow(out.count, d, &out.count) &&
                 !__builtin_mul_overflow(extent, std::max<int64_t>(d, 1), &extent),
             what, ": .npy shape ", shape_str(out.shape), " is too large");
  }
  return out;
}

// Checks that the data after the header is exactly count * item_size bytes.
void check_data_size(const std::string& bytes, const NpyHeader& h, int64_t item_size, const std::string& what) {
  int64_t need = 0;
  FK_CHECK(!__builtin_mul_overflow(h.count, item_size, &need), what, ": .npy shape ", shape_str(h.shape), " is too large");
  FK_CHECK(bytes.size() - h.data_start == size_t(need), what, ": .npy data is ", bytes.size() - h.data_start,
           " bytes, shape ", shape_str(h.shape), " of '", h.descr, "' needs ", need);
}

std::string header_bytes(const std::string& descr, const Shape& dims) {
  std::string shape;
  for (size_t i = 0; i < dims.size(); ++i) shape += std::to_string(dims[i]) + ", ";
  if (dims.size() > 1) shape.resize(shape.size() - 1);  // "(2, 3)" but "(5,)" and "()"
  if (dims.size() > 1) shape.pop_back();
  std::string h = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += char(h.size() & 0xff);
  out += char(h.size() >> 8);
  return out + h;
}

// UTF-8 <-> the UTF-32LE code units numpy's '<U' arrays hold. Malformed UTF-8 bytes are taken as
// Latin-1 code points, so any file name survives the trip without throwing.
std::u32string utf8_to_utf32(const std::string& s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    auto b = uint8_t(s[i]);
    int extra = b < 0x80 ? 0 : (b >> 5) == 6 ? 1 : (b >> 4) == 14 ? 2 : (b >> 3) == 30 ? 3 : -1;
    bool ok = extra >= 0 && i + size_t(extra) < s.size() + (extra == 0 ? 1 : 0);
    char32_t cp = extra <= 0 ? b : char32_t(b & (0x3f >> extra));
    for (int k = 1; ok && k <= extra; ++k) {
      auto c = uint8_t(s[i + size_t(k)]);
      ok = (c >> 6) == 2;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (!ok) {
      out += char32_t(b);
      i += 1;
    } else {
      out += cp;
      i += size_t(extra) + 1;
    }
  }
  return out;
}

std::string utf32_to_utf8(const std::u32string& s) {
  std::string out;
  for (char32_t cp : s) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xc0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += char(0xe0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3f));
      out += char(0x80 | (cp & 0x3f));
    } else {
      out += char(0xf0 | ((cp >> 18) & 0x07));
      out += char(0x80 | ((cp >> 12) & 0x3f));
      out += char(0x80 | ((cp >> 6) & 0x3f));
      out += char(0x80 | (cp & 0x3f));
    }
  }
  return out;
}

}  // namespace

Tensor parse_npy(const std::string& bytes, const std::string& what) {
  NpyHeader h = parse_header(bytes, what);
  DType dtype = parse_descr(h.descr, what);
  check_data_size(bytes, h, int64_t(dtype_size(dtype)), what);
  return from_buffer(bytes.data() + h.data_start, h.shape, dtype);
}

bool npy_holds_strings(const std::string& bytes, const std::string& what) {
  return parse_header(bytes, what).descr.rfind("<U", 0) == 0;
}

std::vector<std::string> parse_npy_strings(const std::string& bytes, const std::string& what) {
  NpyHeader h = parse_header(bytes, what);
  FK_CHECK(h.descr.rfind("<U", 0) == 0, what, ": expected a numpy string array ('<U'), found dtype '", h.descr, "'");
  char* end = nullptr;
  long long chars = std::strtoll(h.descr.c_str() + 2, &end, 10);
  FK_CHECK(end != h.descr.c_str() + 2 && *end == '\0' && chars >= 1 && chars < (1 << 20), what,
           ": bad string dtype '", h.descr, "'");
  check_data_size(bytes, h, chars * 4, what);
  std::vector<std::string> out;
  const char* p = bytes.data() + h.data_start;
  for (int64_t i = 0; i < h.count; ++i) {
    std::u32string s;
    for (long long k = 0; k < chars; ++k, p += 4) {
      char32_t cp = char32_t(uint8_t(p[0])) | char32_t(uint8_t(p[1])) << 8 | char32_t(uint8_t(p[2])) << 16 |
                    char32_t(uint8_t(p[3])) << 24;
      if (cp != 0) s += cp;  // numpy pads with NULs (and strips trailing ones on access)
    }
    out.push_back(utf32_to_utf8(s));
  }
  return out;
}

std::string encode_npy_strings(const std::vector<std::string>& strings, bool scalar) {
  FK_CHECK(!scalar || strings.size() == 1, "encode_npy_strings: a 0-d array holds exactly one string");
  std::vector<std::u32string> wide;
  size_t chars = 1;
  for (const auto& s : strings) {
    wide.push_back(utf8_to_utf32(s));
    chars = std::max(chars, wide.back().size());
  }
  Shape shape = scalar ? Shape{} : Shape{int64_t(strings.size())};
  std::string out = header_bytes("<U" + std::to_string(chars), shape);
  for (const auto& w : wide) {
    for (size_t k = 0; k < chars; ++k) {
      char32_t cp = k < w.size() ? w[k] : 0;
      for (int b = 0; b < 4; ++b) out += char((cp >> (8 * b)) & 0xff);
    }
  }
  return out;
}

Tensor read_npy(const std::string& path) { return parse_npy(read_file(path), path); }

std::string encode_npy(const Tensor& t) {
  Tensor c = t.to(Device::cpu()).contiguous();
  std::string out = header_bytes(descr_of(c.dtype()), c.shape());
  out.append(static_cast<const char*>(c.raw_data()), size_t(c.numel()) * dtype_size(c.dtype()));
  return out;
}

void write_npy(const std::string& path, const Tensor& t) { write_file_atomic(path, encode_npy(t)); }

}  // namespace fk::data
