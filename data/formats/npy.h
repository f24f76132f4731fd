// NumPy .npy files (format version 1.0/2.0/3.0): little-endian float32/float64/int64/uint8/bool,
// C order (numpy.save / numpy.load). Reading checks the header against the file size before
// allocating; writing is atomic (temp file + rename, data/formats/files.h).
#pragma once

#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace fk::data {

Tensor read_npy(const std::string& path);
// Parses .npy bytes (also used for the members of .npz archives); `what` names the source in errors.
Tensor parse_npy(const std::string& bytes, const std::string& what);
std::string encode_npy(const Tensor& t);

// numpy string arrays (dtype '<U<n>': n UTF-32 code units per element, NUL-padded), for the names
// and metadata stored next to embeddings; strings are UTF-8 on our side. encode with scalar=true
// gives a 0-d array of one string (np.load(...)["arch"] -> array('ir_50', dtype='<U5')).
bool npy_holds_strings(const std::string& bytes, const std::string& what);
std::vector<std::string> parse_npy_strings(const std::string& bytes, const std::string& what);
std::string encode_npy_strings(const std::vector<std::string>& strings, bool scalar = false);
void write_npy(const std::string& path, const Tensor& t);

}  // namespace fk::data
