// .npy reader/writer. Header: "\x93NUMPY", major, minor, header length (2 bytes for v1, 4 for
// v2/v3), then a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
#include "data/npy.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "tensor/creation.h"

namespace fk::data {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  FK_CHECK(in.good(), path, ": cannot open: ", std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  FK_CHECK(!in.bad(), path, ": read error");
  return ss.str();
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  FK_CHECK(f != nullptr, path, ": cannot write: ", std::strerror(errno));
  size_t written = std::fwrite(bytes.data(), 1, bytes.size(), f);
  bool ok = written == bytes.size() && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  int err = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    throw Error(detail::concat(path, ": write failed (", std::strerror(err ? err : EIO), "); the old file, if any, is kept"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    std::remove(tmp.c_str());
    throw Error(detail::concat(path, ": cannot replace: ", std::strerror(err)));
  }
}

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

Tensor parse_npy(const std::string& bytes, const std::string& what) {
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
  std::string h = bytes.substr(hstart, hlen);
  DType dtype = parse_descr(header_value(h, "descr", what), what);
  FK_CHECK(header_value(h, "fortran_order", what) == "False", what, ": Fortran-order arrays are not supported");
  Shape shape;
  std::stringstream dims(header_value(h, "shape", what));
  std::string item;
  while (std::getline(dims, item, ',')) {
    size_t b = item.find_first_not_of(' ');
    if (b == std::string::npos) continue;
    char* end = nullptr;
    long long v = std::strtoll(item.c_str() + b, &end, 10);
    FK_CHECK(end != item.c_str() + b && v >= 0 && v < (1LL << 40), what, ": bad dimension '", item, "' in .npy shape");
    shape.push_back(v);
  }
  size_t data_start = hstart + hlen;
  // Overflow-safe size check before allocating anything: the element count (and, as the strides
  // use them, the product of all dims counted as at least 1) must fit, and match the data.
  int64_t n = 1, extent = 1, need = 0;
  for (int64_t d : shape) {
    FK_CHECK(!__builtin_mul_overflow(n, d, &n) && !__builtin_mul_overflow(extent, std::max<int64_t>(d, 1), &extent),
             what, ": .npy shape ", shape_str(shape), " is too large");
  }
  FK_CHECK(!__builtin_mul_overflow(n, int64_t(dtype_size(dtype)), &need), what, ": .npy shape ", shape_str(shape),
           " is too large");
  FK_CHECK(bytes.size() - data_start == size_t(need), what, ": .npy data is ", bytes.size() - data_start,
           " bytes, shape ", shape_str(shape), " of ", dtype_name(dtype), " needs ", need);
  return from_buffer(bytes.data() + data_start, shape, dtype);
}

Tensor read_npy(const std::string& path) { return parse_npy(read_file(path), path); }

std::string encode_npy(const Tensor& t) {
  Tensor c = t.to(Device::cpu()).contiguous();
  std::string shape;
  for (size_t i = 0; i < c.shape().size(); ++i) shape += std::to_string(c.shape()[i]) + ", ";
  if (c.shape().size() > 1) shape.resize(shape.size() - 1);  // "(2, 3)" but "(5,)"
  if (c.shape().size() > 1) shape.pop_back();
  std::string h = "{'descr': '" + descr_of(c.dtype()) + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += char(h.size() & 0xff);
  out += char(h.size() >> 8);
  out += h;
  out.append(static_cast<const char*>(c.raw_data()), size_t(c.numel()) * dtype_size(c.dtype()));
  return out;
}

void write_npy(const std::string& path, const Tensor& t) { write_file_atomic(path, encode_npy(t)); }

}  // namespace fk::data
