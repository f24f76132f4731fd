// SHA-256 (FIPS 180-4), to fingerprint weight files: a gallery records the sha256 of the weights its
// embeddings came from, so a query made with other weights is refused (models/recognition/gallery.h).
// Tests: tests/models/recognition/test_gallery.cpp (the FIPS examples and sha256sum of a file).
#pragma once

#include <string>

namespace fk::data {

// Lower-case hex digest of `bytes`.
std::string sha256_hex(const std::string& bytes);
// Of a file's contents, read in chunks (a large weights file is never held whole); throws naming the
// file when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace fk::data
