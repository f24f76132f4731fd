// Zip archives, read and written by facekit itself: the container of PyTorch checkpoints and .npz.
// Reading trusts only the central directory (PyTorch writes zero sizes in local headers), checks every
// offset and size against the file, rejects names with ".." or absolute paths, inflates deflated
// entries through zlib and verifies CRC-32. ZIP64 records are supported for large files.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fk::data {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflated
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t size = 0;
  uint64_t data_offset = 0;  // where the entry's bytes start in the archive
};

class ZipReader {
 public:
  // `bytes` is the whole archive; `what` (usually the path) names it in errors.
  ZipReader(std::string bytes, std::string what);
  static ZipReader open(const std::string& path);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  bool contains(const std::string& name) const;
  // The uncompressed bytes of `name`; throws naming the archive and entry if absent or corrupt.
  std::string read(const std::string& name) const;
  // The same without a copy where the entry is stored uncompressed (its CRC-32 checked): a view into
  // archive(), which owns it; a deflated entry is inflated into a buffer of its own that `owner` then
  // holds. So a checkpoint's tensors are copied once, from the file's bytes into their own memory.
  std::string_view read_view(const std::string& name, std::shared_ptr<const std::string>& owner) const;
  const std::shared_ptr<const std::string>& archive() const { return bytes_; }
  const std::string& what() const { return what_; }

 private:
  const ZipEntry& entry(const std::string& name) const;
  void check_crc(const ZipEntry& e, std::string_view data) const;  // throws naming the entry
  std::shared_ptr<const std::string> bytes_;
  std::string what_;
  std::vector<ZipEntry> entries_;
};

// Builds an uncompressed archive in memory; data of each entry starts on a 64-byte boundary (as
// PyTorch writes, so storages can be memory-mapped).
class ZipWriter {
 public:
  void add(const std::string& name, const std::string& data);
  std::string finish();  // the archive bytes

 private:
  std::string out_;
  std::vector<ZipEntry> entries_;
  std::vector<uint64_t> header_offsets_;
};

uint32_t crc32(std::string_view data);

}  // namespace fk::data
