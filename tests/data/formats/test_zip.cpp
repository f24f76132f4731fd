// ZipReader / ZipWriter / crc32: writer round trips (CRC, sizes, 64-byte alignment), a real PyTorch
// archive (flags 0x0808, data descriptors, ZIP64 end records), hand-built ZIP64 extra fields, and hostile
// archives (robustness.md §1.2, §4 #11): truncation at every byte, bad magic, traversal names, sizes past
// the end, overlaps, duplicates, encryption, unknown methods, CRC mismatch, deflate bombs. Every error must
// name the archive and the entry.
#include <zlib.h>

#include "data/formats/zip.h"
#include "test_util.h"

using fk::data::ZipReader;
using fk::data::ZipWriter;

namespace {

void put16(std::string& o, uint64_t v) {
  o += char(v & 0xff);
  o += char((v >> 8) & 0xff);
}
void put32(std::string& o, uint64_t v) {
  put16(o, v & 0xffff);
  put16(o, (v >> 16) & 0xffff);
}
void put64(std::string& o, uint64_t v) {
  put32(o, v & 0xffffffff);
  put32(o, v >> 32);
}

// One entry of a hand-built archive; every field can be forged.
struct Raw {
  std::string name;
  std::string data;  // the bytes stored in the archive (already compressed for method 8)
  uint16_t method = 0;
  uint16_t flags = 0;
  uint32_t crc = 0;
  uint64_t csize = 0, usize = 0;
  bool zip64_central = false;  // sizes and offset as 0xFFFFFFFF + ZIP64 extra field in the central record
};

Raw stored(const std::string& name, const std::string& data) {
  return {name, data, 0, 0, fk::data::crc32(data), data.size(), data.size()};
}

std::string raw_deflate(const std::string& data) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, uLong(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = uInt(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

Raw deflated(const std::string& name, const std::string& data) {
  std::string c = raw_deflate(data);
  return {name, c, 8, 0, fk::data::crc32(data), c.size(), data.size()};
}

// Local headers + data, central directory, optional ZIP64 end record + locator, end record.
std::string build(const std::vector<Raw>& entries, bool zip64_end = false, int64_t count_override = -1) {
  std::string o;
  std::vector<uint64_t> offsets;
  for (const Raw& e : entries) {
    offsets.push_back(o.size());
    put32(o, 0x04034b50);
    put16(o, 20);
    put16(o, e.flags);
    put16(o, e.method);
    put16(o, 0);
    put16(o, 0x21);
    put32(o, e.crc);
    put32(o, e.csize);
    put32(o, e.usize);
    put16(o, e.name.size());
    put16(o, 0);
    o += e.name;
    o += e.data;
  }
  uint64_t cd = o.size();
  for (size_t i = 0; i < entries.size(); ++i) {
    const Raw& e = entries[i];
    std::string extra;
    if (e.zip64_central) {
      put16(extra, 1);
      put16(extra, 24);
      put64(extra, e.usize);
      put64(extra, e.csize);
      put64(extra, offsets[i]);
    }
    put32(o, 0x02014b50);
    put16(o, 45);
    put16(o, 45);
    put16(o, e.flags);
    put16(o, e.method);
    put16(o, 0);
    put16(o, 0x21);
    put32(o, e.crc);
    put32(o, e.zip64_central ? 0xffffffff : e.csize);
    put32(o, e.zip64_central ? 0xffffffff : e.usize);
    put16(o, e.name.size());
    put16(o, extra.size());
    put16(o, 0);
    put16(o, 0);
    put16(o, 0);
    put32(o, 0);
    put32(o, e.zip64_central ? 0xffffffff : offsets[i]);
    o += e.name;
    o += extra;
  }
  uint64_t cd_size = o.size() - cd;
  uint64_t count = count_override >= 0 ? uint64_t(count_override) : entries.size();
  if (zip64_end) {
    uint64_t z64 = o.size();
    put32(o, 0x06064b50);
    put64(o, 44);
    put16(o, 45);
    put16(o, 45);
    put32(o, 0);
    put32(o, 0);
    put64(o, count);
    put64(o, count);
    put64(o, cd_size);
    put64(o, cd);
    put32(o, 0x07064b50);
    put32(o, 0);
    put64(o, z64);
    put32(o, 1);
  }
  put32(o, 0x06054b50);
  put16(o, 0);
  put16(o, 0);
  put16(o, zip64_end ? 0xffff : count);
  put16(o, zip64_end ? 0xffff : count);
  put32(o, zip64_end ? 0xffffffff : cd_size);
  put32(o, zip64_end ? 0xffffffff : cd);
  put16(o, 0);
  return o;
}

// The message of the fk::Error that `f` throws ("" if none).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const fk::Error& e) {
    return e.what();
  }
  return "";
}

#define CHECK_ERROR(expr, ...)                                                         \
  do {                                                                                 \
    std::string fk_err_ = error_of([&] { (void)(expr); });                              \
    for (const char* part : {__VA_ARGS__})                                             \
      CHECK_MESSAGE(fk_err_.find(part) != std::string::npos, "error '" << fk_err_       \
                                                                       << "' lacks '" << part << "'"); \
  } while (0)

}  // namespace

TEST_CASE("zip: crc32 of the standard check string") {
  CHECK(fk::data::crc32("123456789") == 0xCBF43926u);
  CHECK(fk::data::crc32("") == 0u);
}

TEST_CASE("zip: writer round trip (stored, CRC and sizes, 64-byte aligned data)") {
  ZipWriter w;
  std::string big(100000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = char(i * 7 + i / 300);
  w.add("a.txt", "hello");
  w.add("dir/empty", "");
  w.add("dir/big.bin", big);
  w.add("caf\xc3\xa9.npy", "x");  // UTF-8 name
  std::string archive = w.finish();
  ZipReader r(archive, "mem.zip");
  REQUIRE(r.entries().size() == 4);
  CHECK(r.read("a.txt") == "hello");
  CHECK(r.read("dir/empty") == "");
  CHECK(r.read("dir/big.bin") == big);
  CHECK(r.read("caf\xc3\xa9.npy") == "x");
  for (const auto& e : r.entries()) {
    CHECK_MESSAGE(e.data_offset % 64 == 0, e.name << " at " << e.data_offset);
    CHECK(e.method == 0);
    CHECK(e.size == e.compressed_size);
    // the local header carries the same CRC and sizes as the central directory (no data descriptor)
    uint64_t local = e.data_offset - 30;
    while (archive.compare(local, 4, "PK\x03\x04") != 0) --local;
    auto u32 = [&](uint64_t at) {
      return uint32_t(uint8_t(archive[at])) | uint32_t(uint8_t(archive[at + 1])) << 8 |
             uint32_t(uint8_t(archive[at + 2])) << 16 | uint32_t(uint8_t(archive[at + 3])) << 24;
    };
    CHECK(u32(local + 14) == e.crc32);
    CHECK(u32(local + 18) == e.compressed_size);
    CHECK(u32(local + 22) == e.size);
  }
  CHECK(r.contains("dir/big.bin"));
  CHECK_FALSE(r.contains("dir"));
  CHECK_ERROR(r.read("nope"), "mem.zip", "no entry 'nope'");
  // the writer is reusable after finish()
  w.add("again", "1");
  CHECK(ZipReader(w.finish(), "again.zip").read("again") == "1");
}

TEST_CASE("zip: writer refuses unsafe and duplicate names") {
  ZipWriter w;
  CHECK_ERROR(w.add("../evil", "x"), "'../evil'", "'..' component");
  CHECK_ERROR(w.add("/abs", "x"), "leading '/'");
  w.add("ok", "x");
  CHECK_ERROR(w.add("ok", "y"), "duplicate entry name 'ok'");
}

TEST_CASE("zip: reads a PyTorch-written archive (0x0808 flags, data descriptors, ZIP64 end records)") {
  auto r = ZipReader::open(fk::test::fixture_path("weights_out/torch_saved.pt"));
  REQUIRE(r.contains("torch_saved/data.pkl"));
  CHECK(r.read("torch_saved/version") == "3\n");
  fk::Tensor w = fk::test::fixture("weights_out/f32_4d.npy");
  CHECK(r.read("torch_saved/data/0") == std::string(static_cast<const char*>(w.raw_data()), 24 * 4));
  for (const auto& e : r.entries()) {
    CHECK(e.data_offset % 64 == 0);
    CHECK_NOTHROW(r.read(e.name));  // CRC verified for every entry
  }
}

TEST_CASE("zip: deflated entries and ZIP64 records") {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "line " + std::to_string(i % 37) + "\n";
  SUBCASE("deflate") {
    ZipReader r(build({deflated("t.txt", text), stored("s", "abc")}), "d.zip");
    CHECK(r.read("t.txt") == text);
    CHECK(r.read("s") == "abc");
  }
  SUBCASE("ZIP64 extra field and end record") {
    Raw a = stored("a", "first"), b = deflated("b", text);
    a.zip64_central = b.zip64_central = true;
    ZipReader r(build({a, b}, true), "z64.zip");
    REQUIRE(r.entries().size() == 2);
    CHECK(r.entries()[1].size == text.size());
    CHECK(r.read("a") == "first");
    CHECK(r.read("b") == text);
  }
  SUBCASE("empty archive") { CHECK(ZipReader(build({}), "e.zip").entries().empty()); }
  SUBCASE("archive comment after the end record") {
    std::string z = build({stored("a", "x")});
    z[z.size() - 2] = 5;
    z += "hello";
    CHECK(ZipReader(z, "c.zip").read("a") == "x");
  }
}

TEST_CASE("zip: truncated or not a zip archive") {
  std::string z = build({stored("a.bin", std::string(100, 'a')), deflated("b.txt", std::string(500, 'b'))});
  for (size_t cut = 0; cut < z.size(); ++cut) {
    std::string err = error_of([&] {
      ZipReader r(z.substr(0, cut), "cut.zip");
      for (const auto& e : r.entries()) r.read(e.name);
    });
    INFO("cut at " << cut << " of " << z.size());
    CHECK(err.rfind("cut.zip: ", 0) == 0);
  }
  CHECK_ERROR(ZipReader(z.substr(0, z.size() - 30), "t.zip"), "t.zip: not a zip archive", "truncated");
  CHECK_ERROR(ZipReader("", "empty.zip"), "empty.zip: not a zip archive", "too short");
  CHECK_ERROR(ZipReader(std::string(200, 'x'), "x.zip"), "x.zip: not a zip archive", "bad magic");
  std::string bad = z;
  bad[0] = 'Q';  // local header magic
  CHECK_ERROR(ZipReader(bad, "m.zip"), "m.zip: entry 'a.bin'", "bad local header signature");
}

TEST_CASE("zip: hostile entry names") {
  CHECK_ERROR(ZipReader(build({stored("../evil", "x")}), "n.zip"), "n.zip: entry '../evil'", "'..' component");
  CHECK_ERROR(ZipReader(build({stored("a/../../evil", "x")}), "n.zip"), "'..' component");
  CHECK_ERROR(ZipReader(build({stored("/etc/passwd", "x")}), "n.zip"), "entry '/etc/passwd'", "leading '/'");
  CHECK_ERROR(ZipReader(build({stored("a\\b", "x")}), "n.zip"), "backslash");
  CHECK_ERROR(ZipReader(build({stored("C:x", "x")}), "n.zip"), "drive letter");
  CHECK_ERROR(ZipReader(build({stored("a", "x"), stored("a", "y")}), "n.zip"), "entry 'a'", "duplicate");
  CHECK_NOTHROW(ZipReader(build({stored("a..b/..c", "x")}), "n.zip"));  // dots inside a name are fine
}

TEST_CASE("zip: sizes, offsets and counts that do not fit") {
  Raw past = stored("big", "0123456789");
  past.csize = past.usize = 0x7fffffff;
  CHECK_ERROR(ZipReader(build({past}), "p.zip"), "p.zip: entry 'big'", "extends past the end of the archive");
  Raw into_cd = stored("a", "0123456789");
  into_cd.csize = into_cd.usize = 40;
  CHECK_ERROR(ZipReader(build({into_cd}), "p.zip"), "entry 'a'", "overlaps the central directory");
  // entry a's declared data runs into entry b's local header: overlapping entries
  Raw a = stored("a", "0123456789"), b = stored("b", "abc");
  a.csize = a.usize = 20;
  CHECK_ERROR(ZipReader(build({a, b}), "o.zip"), "o.zip: entry 'a' overlaps entry 'b'");
  CHECK_ERROR(ZipReader(build({stored("a", "x")}, false, 60000), "c.zip"), "c.zip: 60000 entries cannot fit");
  Raw stored_mismatch = stored("s", "abc");
  stored_mismatch.usize = 5;
  CHECK_ERROR(ZipReader(build({stored_mismatch}), "s.zip"), "entry 's'", "stored entry has compressed size 3");
}

TEST_CASE("zip: encrypted entries and unsupported methods") {
  Raw enc = stored("secret", "xxxx");
  enc.flags = 1;
  CHECK_ERROR(ZipReader(build({enc}), "e.zip"), "e.zip: entry 'secret'", "encrypted");
  Raw bz = stored("b", "xxxx");
  bz.method = 12;
  CHECK_ERROR(ZipReader(build({bz}), "m.zip"), "m.zip: entry 'b'", "method 12 (bzip2) is not supported");
}

TEST_CASE("zip: CRC mismatch and corrupt deflate data") {
  std::string z = build({stored("w.bin", "some weights")});
  z[z.find("some")] = 'S';
  ZipReader r(z, "crc.zip");
  CHECK_ERROR(r.read("w.bin"), "crc.zip: entry 'w.bin'", "CRC-32 mismatch");
  Raw d = deflated("d", std::string(1000, 'q'));
  d.data[d.data.size() / 2] ^= 0x55;
  std::string derr = error_of([&] { ZipReader(build({d}), "dz.zip").read("d"); });
  CHECK(derr.rfind("dz.zip: entry 'd': ", 0) == 0);
  Raw cut = deflated("cut", std::string(5000, 'r') + "tail");
  cut.data.resize(cut.data.size() - 3);
  cut.csize = cut.data.size();
  CHECK_ERROR(ZipReader(build({cut}), "cut.zip").read("cut"), "cut.zip: entry 'cut'");
  Raw shorter = deflated("s", std::string(100, 'z'));
  shorter.usize = 200;
  CHECK_ERROR(ZipReader(build({shorter}), "u.zip").read("s"), "u.zip: entry 's'",
              "uncompressed size is 100 bytes, the central directory says 200");
}

TEST_CASE("zip: read_view of a stored entry is a view into the archive, a deflated one has its own buffer") {
  std::string text(3000, 'k');
  ZipReader r(build({stored("s", "stored bytes"), deflated("d", text)}), "v.zip");
  std::shared_ptr<const std::string> owner;
  std::string_view s = r.read_view("s", owner);
  CHECK(s == "stored bytes");
  CHECK(owner == r.archive());  // no copy: the view's bytes are the archive's
  CHECK(s.data() >= r.archive()->data());
  CHECK(s.data() + s.size() <= r.archive()->data() + r.archive()->size());
  std::string_view d = r.read_view("d", owner);
  CHECK(d == text);
  CHECK(owner != r.archive());
  CHECK(d.data() == owner->data());
  // the checks of read(): CRC, sizes, missing entries
  std::string z = build({stored("w.bin", "some weights")});
  z[z.find("some")] = 'S';
  CHECK_ERROR(ZipReader(z, "crc.zip").read_view("w.bin", owner), "crc.zip: entry 'w.bin'", "CRC-32 mismatch");
  CHECK_ERROR(r.read_view("nope", owner), "v.zip", "no entry 'nope'");
}

TEST_CASE("zip: deflate bombs are capped at the declared size") {
  std::string zeros(8 << 20, '\0');  // 8 MiB of zeros deflate to ~8 KB
  Raw bomb = deflated("bomb", zeros);
  bomb.usize = 1000;  // the forged size: inflation must stop right after it
  CHECK_ERROR(ZipReader(build({bomb}), "bomb.zip").read("bomb"), "bomb.zip: entry 'bomb'",
              "inflates to more than its declared size of 1000 bytes");
  Raw forged = deflated("huge", "tiny");
  forged.usize = uint64_t(1) << 40;  // 1 TiB from a few bytes: impossible ratio, refused before allocating
  forged.zip64_central = true;
  CHECK_ERROR(ZipReader(build({forged}, true), "f.zip"), "f.zip: entry 'huge'", "1032:1");
}
