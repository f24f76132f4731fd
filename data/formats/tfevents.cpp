// TensorBoard event files (see tfevents.h).
#include "data/formats/tfevents.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "data/formats/files.h"
#include "tensor/error.h"

namespace fk::data {

namespace {

const std::array<uint32_t, 256>& crc_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;  // Castagnoli, reflected
      t[i] = c;
    }
    return t;
  }();
  return table;
}

// ---- protobuf wire format: the few field kinds an Event uses

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(char(uint8_t(v) | 0x80));
    v >>= 7;
  }
  out.push_back(char(v));
}
void put_tag(std::string& out, int field, int wire) { put_varint(out, uint64_t(field) << 3 | uint64_t(wire)); }
template <class T>
void put_fixed(std::string& out, T v) {  // little-endian, as x86 and every TensorBoard host store it
  char b[sizeof v];
  std::memcpy(b, &v, sizeof v);
  out.append(b, sizeof v);
}
void put_bytes(std::string& out, int field, const std::string& s) {
  put_tag(out, field, 2);
  put_varint(out, s.size());
  out += s;
}

// wall_time and step, the fields every event starts with
std::string event_head(double wall_time, int64_t step) {
  std::string e;
  put_tag(e, 1, 1), put_fixed(e, wall_time);
  put_tag(e, 2, 0), put_varint(e, uint64_t(step));
  return e;
}

// Reads protobuf fields from [p, end); `what` names the record in errors.
struct Reader {
  const uint8_t* p;
  const uint8_t* end;
  const std::string& what;

  bool done() const { return p == end; }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      FK_CHECK(p < end, what, ": a protobuf varint runs past the end");
      const uint8_t b = *p++;
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    throw Error(what + ": a protobuf varint longer than 10 bytes");
  }
  template <class T>
  T fixed() {
    FK_CHECK(end - p >= ptrdiff_t(sizeof(T)), what, ": a fixed-size protobuf field runs past the end");
    T v;
    std::memcpy(&v, p, sizeof v);
    p += sizeof v;
    return v;
  }
  Reader sub() {  // a length-delimited field's bytes
    const uint64_t n = varint();
    FK_CHECK(n <= uint64_t(end - p), what, ": a protobuf field of ", n, " bytes runs past the end");
    Reader r{p, p + n, what};
    p += n;
    return r;
  }
  void skip(int wire) {
    switch (wire) {
      case 0: varint(); break;
      case 1: fixed<uint64_t>(); break;
      case 2: sub(); break;
      case 5: fixed<uint32_t>(); break;
      default: throw Error(what + ": protobuf wire type " + std::to_string(wire) + " is not used by events");
    }
  }
};

std::pair<std::string, float> parse_value(Reader r) {
  std::pair<std::string, float> v{"", 0.0f};
  while (!r.done()) {
    const uint64_t key = r.varint();
    const int field = int(key >> 3), wire = int(key & 7);
    if (field == 1 && wire == 2) {
      Reader s = r.sub();
      v.first.assign(reinterpret_cast<const char*>(s.p), size_t(s.end - s.p));
    } else if (field == 2 && wire == 5) {
      v.second = r.fixed<float>();
    } else {
      r.skip(wire);
    }
  }
  return v;
}

Event parse_event(Reader r) {
  Event e;
  while (!r.done()) {
    const uint64_t key = r.varint();
    const int field = int(key >> 3), wire = int(key & 7);
    if (field == 1 && wire == 1) {
      e.wall_time = r.fixed<double>();
    } else if (field == 2 && wire == 0) {
      e.step = int64_t(r.varint());
    } else if (field == 3 && wire == 2) {
      Reader s = r.sub();
      e.file_version.assign(reinterpret_cast<const char*>(s.p), size_t(s.end - s.p));
    } else if (field == 5 && wire == 2) {  // Summary: repeated Value value = 1
      Reader s = r.sub();
      while (!s.done()) {
        const uint64_t k = s.varint();
        if ((k >> 3) == 1 && (k & 7) == 2)
          e.scalars.push_back(parse_value(s.sub()));
        else
          s.skip(int(k & 7));
      }
    } else if (field == 7 && wire == 2) {  // SessionLog: status = 1
      Reader s = r.sub();
      while (!s.done()) {
        const uint64_t k = s.varint();
        if ((k >> 3) == 1 && (k & 7) == 0)
          e.session_start = s.varint() == 1;
        else
          s.skip(int(k & 7));
      }
    } else {
      r.skip(wire);
    }
  }
  return e;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

uint32_t crc32c(const void* data, size_t n) {
  const auto& t = crc_table();
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; ++i) c = t[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

uint32_t masked_crc32c(const void* data, size_t n) {
  const uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

std::string tf_record(const std::string& payload) {
  std::string r;
  put_fixed(r, uint64_t(payload.size()));
  put_fixed(r, masked_crc32c(r.data(), 8));
  r += payload;
  put_fixed(r, masked_crc32c(payload.data(), payload.size()));
  return r;
}

std::string event_file_version(double wall_time) {
  std::string e = event_head(wall_time, 0);
  put_bytes(e, 3, "brain.Event:2");
  return e;
}

std::string event_scalars(double wall_time, int64_t step, const std::vector<std::pair<std::string, float>>& scalars) {
  std::string summary;
  for (const auto& [tag, value] : scalars) {
    std::string v;
    put_bytes(v, 1, tag);
    put_tag(v, 2, 5), put_fixed(v, value);
    put_bytes(summary, 1, v);
  }
  std::string e = event_head(wall_time, step);
  put_bytes(e, 5, summary);
  return e;
}

std::string event_session_start(double wall_time, int64_t step) {
  std::string log;
  put_tag(log, 1, 0), put_varint(log, 1);  // status: START
  std::string e = event_head(wall_time, step);
  put_bytes(e, 7, log);
  return e;
}

EventFileWriter::EventFileWriter(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  FK_CHECK(!ec, dir, ": cannot create the TensorBoard folder: ", ec.message());
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  static std::atomic<int> counter{0};
  // seconds, host, pid and a counter: a new name per writer, so no existing file is ever touched
  path_ = (std::filesystem::path(dir) / ("events.out.tfevents." + std::to_string(int64_t(now_seconds())) + "." +
                                         host + "." + std::to_string(getpid()) + "." + std::to_string(counter++)))
              .string();
  file_ = std::fopen(path_.c_str(), "wbx");  // x: fail rather than reuse an existing file
  FK_CHECK(file_ != nullptr, path_, ": cannot create the TensorBoard event file: ", std::strerror(errno));
  write(event_file_version(now_seconds()));
}

EventFileWriter::~EventFileWriter() {
  if (file_) std::fclose(file_);
}

void EventFileWriter::write(const std::string& event) {
  const std::string record = tf_record(event);
  const bool ok = std::fwrite(record.data(), 1, record.size(), file_) == record.size() && std::fflush(file_) == 0;
  FK_CHECK(ok, path_, ": cannot write the TensorBoard event file: ", std::strerror(errno));
}

void EventFileWriter::add_scalars(int64_t step, const std::vector<std::pair<std::string, float>>& scalars) {
  write(event_scalars(now_seconds(), step, scalars));
}

void EventFileWriter::add_session_start(int64_t step) { write(event_session_start(now_seconds(), step)); }

std::vector<Event> parse_event_file(const std::string& bytes, const std::string& what) {
  std::vector<Event> out;
  size_t pos = 0;
  for (int64_t record = 0; pos < bytes.size(); ++record) {
    const std::string where = what + ": record " + std::to_string(record) + " (byte " + std::to_string(pos) + ")";
    FK_CHECK(bytes.size() - pos >= 12, where, ": truncated header");
    uint64_t n;
    uint32_t crc;
    std::memcpy(&n, bytes.data() + pos, 8);
    std::memcpy(&crc, bytes.data() + pos + 8, 4);
    FK_CHECK(crc == masked_crc32c(bytes.data() + pos, 8), where, ": the length's CRC does not match");
    FK_CHECK(n <= bytes.size() - pos - 12 && bytes.size() - pos - 12 - n >= 4, where, ": truncated (", n,
             " payload bytes announced)");
    const char* payload = bytes.data() + pos + 12;
    std::memcpy(&crc, payload + n, 4);
    FK_CHECK(crc == masked_crc32c(payload, n), where, ": the payload's CRC does not match");
    const auto* p = reinterpret_cast<const uint8_t*>(payload);
    out.push_back(parse_event(Reader{p, p + n, where}));
    pos += 12 + n + 4;
  }
  return out;
}

std::vector<Event> read_event_file(const std::string& path) { return parse_event_file(read_file(path), path); }

}  // namespace fk::data
