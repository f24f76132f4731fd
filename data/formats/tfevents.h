// TensorBoard event files (`events.out.tfevents.<seconds>.<host>.<pid>`), written by facekit itself, as
// TensorBoard, tensorboard.backend.event_processing and tf.compat.v1.train.summary_iterator read them:
//  - a file is a sequence of TFRecords: uint64 payload length, uint32 masked CRC32C of those 8 bytes,
//    the payload, uint32 masked CRC32C of the payload (little-endian; masked(c) = ((c >> 15) | (c << 17))
//    + 0xa282ead8, CRC32C = Castagnoli, reflected polynomial 0x82f63b78);
//  - each payload is a serialised tensorflow.Event protobuf: wall_time (1, double), step (2, int64), and
//    file_version (3, string "brain.Event:2", the first event of a file), summary (5: Summary, whose
//    repeated value (1) holds tag (1, string) and simple_value (2, float)), or session_log (7: status
//    (1) START = 1, which tells TensorBoard to drop the events at this step and later that a run which
//    crashed left; field 6 is the deprecated log_message).
// Only these fields are written, and read back by read_event_file (for tests and `facekit inspect`).
// Tests: tests/data/formats/test_tfevents.cpp (CRC32C check values, hand-decoded records, reading
// back), tests/apps/test_train.cpp (`train --tensorboard`, read by Python's tensorboard package).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace fk::data {

// CRC-32C (Castagnoli) of n bytes; crc32c("123456789") = 0xe3069283.
uint32_t crc32c(const void* data, size_t n);
// The masked form TFRecord framing stores.
uint32_t masked_crc32c(const void* data, size_t n);
// One TFRecord: length, its masked CRC, the payload, its masked CRC.
std::string tf_record(const std::string& payload);

// Serialised Event protobufs.
std::string event_file_version(double wall_time);
std::string event_scalars(double wall_time, int64_t step, const std::vector<std::pair<std::string, float>>& scalars);
std::string event_session_start(double wall_time, int64_t step);

// Appends events to a new event file in a folder (created when missing); every event is flushed to the
// file when written, so TensorBoard sees it at once and a crash loses nothing written. A new file is
// made per writer (an existing file is never touched); its first event is the file version. Write
// errors throw fk::Error naming the file.
class EventFileWriter {
 public:
  explicit EventFileWriter(const std::string& dir);
  ~EventFileWriter();
  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;

  void add_scalars(int64_t step, const std::vector<std::pair<std::string, float>>& scalars);
  // Marks a restart at `step` (a resumed training run): TensorBoard forgets what earlier files logged
  // at steps >= step.
  void add_session_start(int64_t step);
  const std::string& path() const { return path_; }

 private:
  void write(const std::string& event);
  std::string path_;
  std::FILE* file_ = nullptr;
};

// What read_event_file gives for each event.
struct Event {
  double wall_time = 0;
  int64_t step = 0;
  std::string file_version;                                // "" unless this is the version event
  bool session_start = false;                              // a session_log START
  std::vector<std::pair<std::string, float>> scalars;      // summary simple values
};
// Reads every event of a file, checking both CRCs of every record; a truncated record, a CRC that does
// not match or a protobuf that does not parse throws fk::Error naming the file and the record.
std::vector<Event> parse_event_file(const std::string& bytes, const std::string& what);
std::vector<Event> read_event_file(const std::string& path);

}  // namespace fk::data
