// Whole files in and out: read_file (optionally capped, for readers of untrusted files such as images),
// write_file_atomic (temp file + rename, so a reader never sees half a file) and the clean-up of the
// temporaries a killed writer left behind. Every reader and writer of data/ goes through these.
// Tests: tests/data/formats/test_npz.cpp (read_file on files, pipes and missing files), tests/data/image/test_image.cpp
// (the image size cap), tests/apps/test_train.cpp (a killed writer's temporaries removed on resume).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fk::data {

// A limit on the bytes read_file reads, and the words its errors use for it.
struct ReadCap {
  int64_t max_bytes = 0;
  // Names the limit: "<path>: file is N bytes, over the <max_bytes>-byte limit for <limit_for>".
  std::string limit_for;
  // What the file should be: "<path>: is a directory, not <expected>".
  std::string expected;
};

// The whole file. A regular file is read into one buffer of its size; a pipe (or a file that grows
// meanwhile) in chunks. With a cap, a missing path or a directory is refused up front, and the file is
// refused before reading when its size says it is over the cap, or as soon as it has read more (a pipe).
std::string read_file(const std::string& path, const std::optional<ReadCap>& cap = std::nullopt);

// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so an existing
// file is replaced whole or not at all (a full disk leaves it untouched).
void write_file_atomic(const std::string& path, const std::string& bytes);
// Removes the temporary files write_file_atomic left in `dir` when its process died mid-write
// (<name>.tmp.<pid> whose pid no longer runs; a live process's are kept) and returns their paths.
std::vector<std::string> remove_stale_temporaries(const std::string& dir);

}  // namespace fk::data
