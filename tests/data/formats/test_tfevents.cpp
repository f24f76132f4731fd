// data/formats/tfevents.h: CRC32C against its published check value, an Event's bytes against the
// protobuf wire format worked by hand, files written by EventFileWriter read back, and damaged files
// refused naming the file and the record. TensorBoard's own reader on a training run's events:
// tests/apps/test_train.cpp.
#include <cstring>
#include <filesystem>
#include <string>

#include "data/formats/files.h"
#include "data/formats/tfevents.h"
#include "test_util.h"

using namespace fk;
namespace fs = std::filesystem;

namespace {

std::string hex(const std::string& s) {
  std::string out;
  char b[4];
  for (unsigned char c : s) std::snprintf(b, sizeof b, "%02x", c), out += b;
  return out;
}

}  // namespace

TEST_CASE("tfevents: CRC32C check value and the masked form") {
  CHECK(data::crc32c("123456789", 9) == 0xe3069283u);  // the CRC-32C catalogue's check value
  CHECK(data::crc32c("", 0) == 0u);
  const uint32_t c = 0xe3069283u;
  CHECK(data::masked_crc32c("123456789", 9) == ((c >> 15) | (c << 17)) + 0xa282ead8u);
}

TEST_CASE("tfevents: a scalar event and its record, byte by byte") {
  // Event{wall_time 0.0 (field 1, fixed64), step 3 (field 2, varint), summary (field 5) {value (field 1)
  // {tag "a" (field 1), simple_value 1.0f (field 2, fixed32: 0x3f800000 little-endian)}}}
  const std::string e = data::event_scalars(0.0, 3, {{"a", 1.0f}});
  CHECK(hex(e) == "09" "0000000000000000" "1003" "2a0a" "0a08" "0a0161" "150000803f");
  const std::string r = data::tf_record(e);
  REQUIRE(r.size() == 8 + 4 + e.size() + 4);
  CHECK(hex(r.substr(0, 8)) == "1700000000000000");  // 23 payload bytes
  CHECK(r.substr(12, e.size()) == e);
  const uint32_t len_crc = data::masked_crc32c(r.data(), 8), payload_crc = data::masked_crc32c(e.data(), e.size());
  CHECK(std::memcmp(r.data() + 8, &len_crc, 4) == 0);
  CHECK(std::memcmp(r.data() + 12 + e.size(), &payload_crc, 4) == 0);
  // the version event and a session start
  CHECK(hex(data::event_file_version(0.0)) == "09" "0000000000000000" "1000" "1a0d" + hex("brain.Event:2"));
  CHECK(hex(data::event_session_start(0.0, 300)) == "09" "0000000000000000" "10ac02" "3a020801");  // field 7, not 6 (log_message)
}

TEST_CASE("tfevents: a writer's file reads back event by event") {
  const fs::path d = fk::test::scratch("tfevents");
  std::string path;
  {
    data::EventFileWriter w((d / "tb").string());
    path = w.path();
    CHECK(fs::path(path).filename().string().rfind("events.out.tfevents.", 0) == 0);
    w.add_scalars(1, {{"train/loss", 2.5f}, {"train/lr", 0.1f}});
    w.add_session_start(1);
    w.add_scalars(1234567890123, {{"epoch/val_bin/lfw", 0.99f}});
    data::EventFileWriter second((d / "tb").string());  // another file beside it, never the same one
    CHECK(second.path() != path);
  }
  const std::vector<data::Event> ev = data::read_event_file(path);
  REQUIRE(ev.size() == 4);
  CHECK(ev[0].file_version == "brain.Event:2");
  CHECK(ev[0].wall_time > 1.6e9);  // seconds since 1970: written in or after 2020
  CHECK(ev[1].step == 1);
  REQUIRE(ev[1].scalars.size() == 2);
  CHECK(ev[1].scalars[0] == std::pair<std::string, float>{"train/loss", 2.5f});
  CHECK(ev[1].scalars[1] == std::pair<std::string, float>{"train/lr", 0.1f});
  CHECK(ev[2].session_start);
  CHECK(ev[2].scalars.empty());
  CHECK(ev[3].step == 1234567890123);
  CHECK(ev[3].scalars[0].first == "epoch/val_bin/lfw");

  // damaged: a flipped payload byte, a flipped length, a cut record
  const std::string good = data::read_file(path);
  std::string bad = good;
  bad[12 + 3] ^= 0x40;
  CHECK_THROWS_WITH_AS(data::parse_event_file(bad, "x.tfevents"),
                       doctest::Contains("x.tfevents: record 0 (byte 0): the payload's CRC does not match"), Error);
  bad = good;
  bad[0] ^= 1;
  CHECK_THROWS_WITH_AS(data::parse_event_file(bad, "x.tfevents"), doctest::Contains("the length's CRC does not match"),
                       Error);
  CHECK_THROWS_WITH_AS(data::parse_event_file(good.substr(0, good.size() - 2), "x.tfevents"),
                       doctest::Contains("record 3"), Error);
  fs::remove_all(d);
}

TEST_CASE("tfevents: a folder that cannot be made is one line naming it") {
  const fs::path d = fk::test::scratch("tfevents_bad");
  data::write_file_atomic((d / "file").string(), "x");
  CHECK_THROWS_WITH_AS(data::EventFileWriter((d / "file" / "tb").string()),
                       doctest::Contains(((d / "file" / "tb").string() + ": cannot create the TensorBoard folder").c_str()), Error);
  fs::remove_all(d);
}
