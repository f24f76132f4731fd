// Zip archives (PKWARE APPNOTE 6.3): the reader behind PyTorch checkpoints and .npz, and the stored-only
// writer behind write_torch/write_npz. Reading: find the end-of-central-directory record scanning
// backwards (at most 65535 comment bytes + 22), follow the ZIP64 locator when present, take sizes and
// offsets from the central directory only, data offset = local header offset + 30 + local name length
// + local extra length. Every offset/size is checked against the archive; deflate goes through zlib raw
// inflate (window bits -15), capped at the declared size. Python's zipfile / PyTorch's miniz match.
// Tests: tests/data/formats/test_zip.cpp (hostile archives, ZIP64, a torch-written file), tests/fuzz/fuzz_zip.cpp.
#include "data/formats/zip.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <unordered_set>

#include "data/formats/files.h"
#include "tensor/error.h"

namespace fk::data {

namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;
constexpr size_t kLocalSize = 30, kCentralSize = 46, kEndSize = 22, kZip64EndSize = 56, kZip64LocatorSize = 20;
constexpr uint32_t kMax32 = 0xFFFFFFFFu;
// DEFLATE cannot expand more than 1032:1 (258-byte matches coded in 2 bits), so a larger declared
// ratio is a forged size: refuse it before allocating anything.
constexpr uint64_t kMaxDeflateRatio = 1032;

uint16_t get16(const std::string& b, uint64_t at) {
  return uint16_t(uint8_t(b[at]) | uint16_t(uint8_t(b[at + 1])) << 8);
}
uint32_t get32(const std::string& b, uint64_t at) { return get16(b, at) | uint32_t(get16(b, at + 2)) << 16; }
uint64_t get64(const std::string& b, uint64_t at) { return get32(b, at) | uint64_t(get32(b, at + 4)) << 32; }

void put16(std::string& out, uint16_t v) {
  out += char(v & 0xff);
  out += char(v >> 8);
}
void put32(std::string& out, uint32_t v) {
  put16(out, uint16_t(v & 0xffff));
  put16(out, uint16_t(v >> 16));
}
void put64(std::string& out, uint64_t v) {
  put32(out, uint32_t(v & kMax32));
  put32(out, uint32_t(v >> 32));
}

// "" when `name` is a safe relative path, else what is wrong with it.
std::string name_problem(const std::string& name) {
  if (name.empty()) return "empty entry name";
  if (name.find('\0') != std::string::npos) return "entry name contains a NUL byte";
  if (name.find('\\') != std::string::npos) return "entry name contains a backslash";
  if (name[0] == '/') return "absolute entry name (leading '/')";
  if (name.size() >= 2 && name[1] == ':' && std::isalpha(uint8_t(name[0]))) return "entry name starts with a drive letter";
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    if (name.compare(start, end - start, "..") == 0 && end - start == 2) return "entry name has a '..' component";
    start = end + 1;
  }
  return "";
}

const char* method_name(uint16_t m) {
  switch (m) {
    case 1: return " (shrink)";
    case 6: return " (implode)";
    case 9: return " (deflate64)";
    case 12: return " (bzip2)";
    case 14: return " (lzma)";
    case 93: return " (zstd)";
    case 95: return " (xz)";
    case 99: return " (AES encryption)";
    default: return "";
  }
}

}  // namespace

uint32_t crc32(std::string_view data) {
  uLong c = ::crc32(0L, Z_NULL, 0);
  size_t done = 0;
  while (done < data.size()) {  // zlib takes 32-bit lengths
    uInt n = uInt(std::min<size_t>(data.size() - done, 1u << 30));
    c = ::crc32(c, reinterpret_cast<const Bytef*>(data.data() + done), n);
    done += n;
  }
  return uint32_t(c);
}

// ---------------------------------------------------------------- reader

ZipReader ZipReader::open(const std::string& path) { return ZipReader(read_file(path), path); }

ZipReader::ZipReader(std::string bytes, std::string what)
    : bytes_(std::make_shared<const std::string>(std::move(bytes))), what_(std::move(what)) {
  const std::string& b = *bytes_;
  const uint64_t n = b.size();
  FK_CHECK(n >= kEndSize, what_, ": not a zip archive (", n, " bytes, too short for the 22-byte end record)");

  // 1. End of central directory: the last signature whose comment fits in the file.
  uint64_t end_at = n;
  uint64_t lowest = n - kEndSize > 65535 ? n - kEndSize - 65535 : 0;
  for (uint64_t p = n - kEndSize + 1; p-- > lowest;) {
    if (get32(b, p) == kEndSig && p + kEndSize + get16(b, p + 20) <= n) {
      end_at = p;
      break;
    }
  }
  if (end_at == n) {
    bool local_magic = get32(b, 0) == kLocalSig;
    throw Error(detail::concat(what_, ": not a zip archive (no end-of-central-directory record",
                               local_magic ? "; the archive looks truncated)" : "; bad magic)"));
  }
  uint64_t disk = get16(b, end_at + 4), cd_disk = get16(b, end_at + 6);
  uint64_t count_disk = get16(b, end_at + 8), count = get16(b, end_at + 10);
  uint64_t cd_size = get32(b, end_at + 12), cd_offset = get32(b, end_at + 16);
  uint64_t cd_limit = end_at;  // the central directory must end before this

  // 2. ZIP64: a locator right before the end record points at the ZIP64 end record.
  if (end_at >= kZip64LocatorSize && get32(b, end_at - kZip64LocatorSize) == kZip64LocatorSig) {
    uint64_t loc = end_at - kZip64LocatorSize;
    uint64_t z64 = get64(b, loc + 8);
    FK_CHECK(get32(b, loc + 4) == 0 && get32(b, loc + 16) <= 1, what_, ": multi-disk zip archives are not supported");
    FK_CHECK(z64 <= loc && loc - z64 >= kZip64EndSize, what_, ": ZIP64 end record offset ", z64,
             " is outside the archive (", n, " bytes)");
    FK_CHECK(get32(b, z64) == kZip64EndSig, what_, ": bad ZIP64 end-of-central-directory signature at offset ", z64);
    disk = get32(b, z64 + 16), cd_disk = get32(b, z64 + 20);
    count_disk = get64(b, z64 + 24), count = get64(b, z64 + 32);
    cd_size = get64(b, z64 + 40), cd_offset = get64(b, z64 + 48);
    cd_limit = z64;
  } else {
    FK_CHECK(count != 0xFFFF && cd_size != kMax32 && cd_offset != kMax32, what_,
             ": ZIP64 archive without a ZIP64 end-of-central-directory locator (truncated?)");
  }
  FK_CHECK(disk == 0 && cd_disk == 0 && count_disk == count, what_, ": multi-disk zip archives are not supported");
  FK_CHECK(cd_offset <= cd_limit && cd_size <= cd_limit - cd_offset, what_, ": central directory [", cd_offset, ", +",
           cd_size, ") extends past its end record at ", cd_limit, " (truncated or corrupt archive)");
  FK_CHECK(count <= cd_size / kCentralSize, what_, ": ", count, " entries cannot fit in a ", cd_size,
           "-byte central directory");

  // 3. Central directory records.
  std::unordered_set<std::string> names;
  std::vector<std::pair<uint64_t, size_t>> by_offset;  // (local header offset, entry index)
  uint64_t p = cd_offset;
  const uint64_t cd_end = cd_offset + cd_size;
  for (uint64_t i = 0; i < count; ++i) {
    FK_CHECK(cd_end - p >= kCentralSize && get32(b, p) == kCentralSig, what_, ": central directory record ", i,
             " at offset ", p, " is truncated or has a bad signature");
    uint16_t flags = get16(b, p + 8);
    ZipEntry e;
    e.method = get16(b, p + 10);
    e.crc32 = get32(b, p + 16);
    e.compressed_size = get32(b, p + 20);
    e.size = get32(b, p + 24);
    uint64_t name_len = get16(b, p + 28), extra_len = get16(b, p + 30), comment_len = get16(b, p + 32);
    uint64_t start_disk = get16(b, p + 34);
    uint64_t local = get32(b, p + 42);
    FK_CHECK(cd_end - p - kCentralSize >= name_len + extra_len + comment_len, what_, ": central directory record ",
             i, " runs past the central directory");
    e.name = b.substr(p + kCentralSize, name_len);
    const std::string where = detail::concat(what_, ": entry '", e.name, "': ");
    // ZIP64 extended information: the 64-bit values of the fields that hold 0xFFFFFFFF, in this order.
    uint64_t x = p + kCentralSize + name_len, x_end = x + extra_len;
    while (x_end - x >= 4) {
      uint16_t id = get16(b, x), len = get16(b, x + 2);
      FK_CHECK(x_end - x - 4 >= len, where, "extra field 0x", std::hex, id, std::dec, " runs past its record");
      if (id == 0x0001) {
        uint64_t q = x + 4, q_end = q + len;
        auto take = [&](uint64_t& field, const char* what) {
          FK_CHECK(q_end - q >= 8, where, "ZIP64 extra field lacks the 64-bit ", what);
          field = get64(b, q);
          q += 8;
        };
        if (e.size == kMax32) take(e.size, "size");
        if (e.compressed_size == kMax32) take(e.compressed_size, "compressed size");
        if (local == kMax32) take(local, "local header offset");
        if (start_disk == 0xFFFF) {
          FK_CHECK(q_end - q >= 4, where, "ZIP64 extra field lacks the disk number");
          start_disk = get32(b, q);
        }
      }
      x += 4 + uint64_t(len);
    }
    p += kCentralSize + name_len + extra_len + comment_len;

    std::string bad_name = name_problem(e.name);
    FK_CHECK(bad_name.empty(), where, bad_name);
    FK_CHECK(names.insert(e.name).second, where, "duplicate entry name");
    FK_CHECK(start_disk == 0, where, "multi-disk zip archives are not supported");
    FK_CHECK(!(flags & 0x0001) && !(flags & 0x0040) && e.method != 99, where,
             "encrypted entries are not supported");
    FK_CHECK(e.method == 0 || e.method == 8, where, "compression method ", e.method, method_name(e.method),
             " is not supported (only stored and deflate)");
    FK_CHECK(e.method != 0 || e.compressed_size == e.size, where, "stored entry has compressed size ",
             e.compressed_size, " but size ", e.size);
    FK_CHECK(e.method != 8 || e.size <= 64 || (e.size - 64) / kMaxDeflateRatio <= e.compressed_size, where, "declared size ", e.size,
             " is impossible for ", e.compressed_size, " deflated bytes (ratio above 1032:1: a zip bomb?)");

    // The local header: its own name and extra lengths decide where the data starts.
    FK_CHECK(local < cd_offset && cd_offset - local >= kLocalSize, where, "local header offset ", local,
             " is outside the archive's data area (central directory at ", cd_offset, ")");
    FK_CHECK(get32(b, local) == kLocalSig, where, "bad local header signature at offset ", local);
    uint16_t local_flags = get16(b, local + 6);
    FK_CHECK(!(local_flags & 0x0001), where, "encrypted entries are not supported");
    FK_CHECK(get16(b, local + 8) == e.method, where, "local header says method ", get16(b, local + 8),
             ", central directory says ", e.method);
    uint64_t local_name = get16(b, local + 26), local_extra = get16(b, local + 28);
    FK_CHECK(cd_offset - local - kLocalSize >= local_name + local_extra, where,
             "local header name/extra run into the central directory");
    FK_CHECK(b.compare(local + kLocalSize, local_name, e.name) == 0, where, "local header names a different file '",
             b.substr(local + kLocalSize, local_name), "'");
    if (!(local_flags & 0x0008)) {  // without a data descriptor the local sizes must agree (0xFFFFFFFF: ZIP64)
      uint32_t lc = get32(b, local + 18), lu = get32(b, local + 22);
      FK_CHECK((lc == kMax32 || lc == e.compressed_size) && (lu == kMax32 || lu == e.size), where,
               "local header sizes (", lc, ", ", lu, ") disagree with the central directory (", e.compressed_size,
               ", ", e.size, ")");
    }
    e.data_offset = local + kLocalSize + local_name + local_extra;
    FK_CHECK(e.compressed_size <= n - e.data_offset, where, "data [", e.data_offset, ", +", e.compressed_size,
             ") extends past the end of the archive (", n, " bytes)");
    FK_CHECK(e.data_offset + e.compressed_size <= cd_offset, where, "data [", e.data_offset, ", +",
             e.compressed_size, ") overlaps the central directory at ", cd_offset);
    by_offset.emplace_back(local, entries_.size());
    entries_.push_back(std::move(e));
  }
  // Each entry must own its byte range (overlapping entries are the non-recursive zip bomb).
  std::sort(by_offset.begin(), by_offset.end());
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const ZipEntry& prev = entries_[by_offset[i - 1].second];
    FK_CHECK(prev.data_offset + prev.compressed_size <= by_offset[i].first, what_, ": entry '", prev.name,
             "' overlaps entry '", entries_[by_offset[i].second].name, "'");
  }
}

bool ZipReader::contains(const std::string& name) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const ZipEntry& e) { return e.name == name; });
}

const ZipEntry& ZipReader::entry(const std::string& name) const {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const ZipEntry& e) { return e.name == name; });
  FK_CHECK(it != entries_.end(), what_, ": no entry '", name, "' in the archive");
  return *it;
}

std::string_view ZipReader::read_view(const std::string& name, std::shared_ptr<const std::string>& owner) const {
  const ZipEntry& e = entry(name);
  if (e.method != 0 || e.size != e.compressed_size) {  // (a stored entry of two sizes: read() names the fault)
    owner = std::make_shared<const std::string>(read(name));
    return *owner;
  }
  // the central directory's offset and size were checked against the archive when it was opened
  const std::string_view out(bytes_->data() + e.data_offset, size_t(e.size));
  check_crc(e, out);
  owner = bytes_;
  return out;
}

void ZipReader::check_crc(const ZipEntry& e, std::string_view data) const {
  const uint32_t crc = crc32(data);
  FK_CHECK(crc == e.crc32, what_, ": entry '", e.name, "': CRC-32 mismatch (computed ", std::hex, crc, ", stored ",
           e.crc32, std::dec, "): the data is corrupt");
}

std::string ZipReader::read(const std::string& name) const {
  const ZipEntry& e = entry(name);
  const std::string where = detail::concat(what_, ": entry '", e.name, "': ");
  std::string out;
  if (e.method == 0) {
    out = bytes_->substr(e.data_offset, e.size);
  } else {
    z_stream z{};
    FK_CHECK(inflateInit2(&z, -15) == Z_OK, where, "zlib inflateInit2 failed");
    struct End {
      z_stream* z;
      ~End() { inflateEnd(z); }
    } end{&z};
    // Grow the output as data arrives (a forged declared size never allocates by itself), and allow
    // one byte beyond it so that inflating past the declared size is detected, not truncated.
    const uint64_t cap = e.size + 1;
    uint64_t in_left = e.compressed_size;
    const char* in = bytes_->data() + e.data_offset;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      if (out.size() == cap) break;
      size_t have = out.size();
      out.resize(size_t(std::min<uint64_t>(cap, std::max<uint64_t>(have * 2, 1 << 16))));
      z.next_out = reinterpret_cast<Bytef*>(&out[have]);
      z.avail_out = uInt(std::min<uint64_t>(out.size() - have, 1u << 30));
      if (z.avail_in == 0 && in_left > 0) {
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in));
        z.avail_in = uInt(std::min<uint64_t>(in_left, 1u << 30));
        in += z.avail_in;
        in_left -= z.avail_in;
      }
      uInt before = z.avail_out;
      rc = inflate(&z, Z_NO_FLUSH);
      out.resize(have + (before - z.avail_out));
      // Z_BUF_ERROR: no progress possible with output space left, i.e. the compressed data ran out.
      FK_CHECK(rc != Z_BUF_ERROR, where, "deflate data ends early (truncated entry)");
      FK_CHECK(rc == Z_OK || rc == Z_STREAM_END, where, "corrupt deflate data (", z.msg ? z.msg : "zlib error ",
               z.msg ? "" : std::to_string(rc), ")");
    }
    FK_CHECK(out.size() <= e.size, where, "inflates to more than its declared size of ", e.size,
             " bytes (zip bomb or corrupt size)");
  }
  FK_CHECK(out.size() == e.size, where, "uncompressed size is ", out.size(), " bytes, the central directory says ",
           e.size);
  check_crc(e, out);
  return out;
}

// ---------------------------------------------------------------- writer

void ZipWriter::add(const std::string& name, const std::string& data) {
  std::string bad = name_problem(name);
  FK_CHECK(bad.empty(), "zip writer: '", name, "': ", bad);
  FK_CHECK(name.size() < 0xFFFF, "zip writer: entry name of ", name.size(), " bytes is too long");
  for (const ZipEntry& e : entries_) FK_CHECK(e.name != name, "zip writer: duplicate entry name '", name, "'");
  ZipEntry e;
  e.name = name;
  e.crc32 = crc32(data);
  e.size = e.compressed_size = data.size();
  const uint64_t offset = out_.size();
  const bool zip64 = e.size >= kMax32 || offset >= kMax32;
  // Extra fields: ZIP64 sizes when needed, then PyTorch's "FB" field of 'Z' bytes padding the data to
  // a 64-byte boundary.
  std::string extra;
  if (zip64) {
    put16(extra, 0x0001);
    put16(extra, 16);
    put64(extra, e.size);
    put64(extra, e.compressed_size);
  }
  uint64_t start = offset + kLocalSize + name.size() + extra.size() + 4;
  uint64_t pad = (64 - start % 64) % 64;
  put16(extra, 0x4246);  // "FB"
  put16(extra, uint16_t(pad));
  extra.append(pad, 'Z');

  const bool utf8 = std::any_of(name.begin(), name.end(), [](char c) { return uint8_t(c) >= 0x80; });
  put32(out_, kLocalSig);
  put16(out_, zip64 ? 45 : 20);           // version needed to extract
  put16(out_, utf8 ? 0x0800 : 0);         // flags: bit 11 = UTF-8 names
  put16(out_, 0);                         // method: stored
  put16(out_, 0);                         // time 00:00:00
  put16(out_, 0x0021);                    // date 1980-01-01 (fixed: output depends on content only)
  put32(out_, e.crc32);
  put32(out_, zip64 ? kMax32 : uint32_t(e.size));
  put32(out_, zip64 ? kMax32 : uint32_t(e.size));
  put16(out_, uint16_t(name.size()));
  put16(out_, uint16_t(extra.size()));
  out_ += name;
  out_ += extra;
  e.data_offset = out_.size();
  out_ += data;
  header_offsets_.push_back(offset);
  entries_.push_back(std::move(e));
}

std::string ZipWriter::finish() {
  const uint64_t cd_offset = out_.size();
  for (size_t i = 0; i < entries_.size(); ++i) {
    const ZipEntry& e = entries_[i];
    const uint64_t offset = header_offsets_[i];
    const bool big_size = e.size >= kMax32, big_offset = offset >= kMax32;
    std::string extra;
    if (big_size || big_offset) {
      put16(extra, 0x0001);
      put16(extra, uint16_t((big_size ? 16 : 0) + (big_offset ? 8 : 0)));
      if (big_size) {
        put64(extra, e.size);
        put64(extra, e.compressed_size);
      }
      if (big_offset) put64(extra, offset);
    }
    const bool utf8 = std::any_of(e.name.begin(), e.name.end(), [](char c) { return uint8_t(c) >= 0x80; });
    const uint16_t version = extra.empty() ? 20 : 45;
    put32(out_, kCentralSig);
    put16(out_, version);  // made by (MS-DOS attributes)
    put16(out_, version);  // needed to extract
    put16(out_, utf8 ? 0x0800 : 0);
    put16(out_, 0);
    put16(out_, 0);
    put16(out_, 0x0021);
    put32(out_, e.crc32);
    put32(out_, big_size ? kMax32 : uint32_t(e.compressed_size));
    put32(out_, big_size ? kMax32 : uint32_t(e.size));
    put16(out_, uint16_t(e.name.size()));
    put16(out_, uint16_t(extra.size()));
    put16(out_, 0);  // comment
    put16(out_, 0);  // disk
    put16(out_, 0);  // internal attributes
    put32(out_, 0);  // external attributes
    put32(out_, big_offset ? kMax32 : uint32_t(offset));
    out_ += e.name;
    out_ += extra;
  }
  const uint64_t cd_size = out_.size() - cd_offset, count = entries_.size();
  const bool zip64 = count >= 0xFFFF || cd_size >= kMax32 || cd_offset >= kMax32;
  if (zip64) {
    const uint64_t z64 = out_.size();
    put32(out_, kZip64EndSig);
    put64(out_, kZip64EndSize - 12);  // size of the rest of this record
    put16(out_, 45);
    put16(out_, 45);
    put32(out_, 0);
    put32(out_, 0);
    put64(out_, count);
    put64(out_, count);
    put64(out_, cd_size);
    put64(out_, cd_offset);
    put32(out_, kZip64LocatorSig);
    put32(out_, 0);
    put64(out_, z64);
    put32(out_, 1);
  }
  put32(out_, kEndSig);
  put16(out_, 0);
  put16(out_, 0);
  put16(out_, zip64 ? 0xFFFF : uint16_t(count));
  put16(out_, zip64 ? 0xFFFF : uint16_t(count));
  put32(out_, zip64 ? kMax32 : uint32_t(cd_size));
  put32(out_, zip64 ? kMax32 : uint32_t(cd_offset));
  put16(out_, 0);
  std::string archive = std::move(out_);
  out_.clear();
  entries_.clear();
  header_offsets_.clear();
  return archive;
}

}  // namespace fk::data
