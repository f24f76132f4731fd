// HDF5 files through Debian's libhdf5 (the C API), as h5py writes and reads them, for the little that
// facekit stores in them: numeric datasets (float32, float64, int64; any rank), string datasets
// (variable-length UTF-8, h5py's str), string attributes, and groups by path ("obama/embedding").
// Writing is atomic: the file is built as a temporary beside the target and renamed over it when
// closed, so an existing file is replaced whole or kept. Reading checks every dataset's type and shape
// before allocating. Errors are one line naming the file and the object; the library's own error
// stack printing is turned off.
// Used by models/recognition/gallery.h for `.h5` galleries. Tests: tests/data/formats/test_h5.cpp
// (round trips, damaged files) and tests/apps/test_embed.cpp (h5py reads facekit's gallery).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace fk::data {

class H5Writer {
 public:
  explicit H5Writer(const std::string& path);  // creates the temporary file
  ~H5Writer();                                 // without close(): the temporary is removed
  H5Writer(const H5Writer&) = delete;
  H5Writer& operator=(const H5Writer&) = delete;

  // `name` may hold '/' (groups are created as needed). t: float32, float64 or int64, CPU.
  void dataset(const std::string& name, const Tensor& t);
  void strings(const std::string& name, const std::vector<std::string>& values);  // 1-D, variable-length UTF-8
  void attribute(const std::string& name, const std::string& value);             // on the root group
  // Flushes, closes and renames the temporary over the target.
  void close();

 private:
  std::string path_, tmp_;
  int64_t file_ = -1;  // hid_t
};

class H5Reader {
 public:
  explicit H5Reader(const std::string& path);
  ~H5Reader();
  H5Reader(const H5Reader&) = delete;
  H5Reader& operator=(const H5Reader&) = delete;

  bool has_dataset(const std::string& name) const;
  bool has_attribute(const std::string& name) const;
  // The names directly under a group ("/" for the root), in the file's (alphabetical) order.
  std::vector<std::string> members(const std::string& group = "/") const;
  // A float or integer dataset as float32, float64 or int64 (by its stored type), contiguous.
  Tensor dataset(const std::string& name) const;
  std::vector<std::string> strings(const std::string& name) const;  // 1-D string dataset
  std::string attribute(const std::string& name) const;              // string attribute of the root
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int64_t file_ = -1;
};

// Whether `path` ends in .h5 or .hdf5 (any case).
bool is_h5_path(const std::string& path);

}  // namespace fk::data
