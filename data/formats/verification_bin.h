// insightface's verification sets (lfw.bin, cfp_fp.bin, cfp_ff.bin, agedb_30.bin, calfw.bin,
// cplfw.bin, ...): one pickle of `(images, issame)`, `images` a list of encoded face crops already
// aligned to 112x112 (JPEG byte strings), `issame` a list of booleans, pair k = images 2k and 2k+1.
// insightface wrote them with Python 2 (protocol 2, the images as `str`: BINSTRING opcodes) and reads
// them with pickle.load(f, encoding='bytes'); later sets come from Python 3 (bytes: BINBYTES, or
// `_codecs.encode` under protocol 2). All of these are read here by facekit's own pickle VM
// (data/pickle/), which executes nothing: any other global is refused.
// The format and the protocol run on it: docs/reference/pipelines.md section 5.
// Tests: tests/data/formats/test_verification_bin.cpp, tests/fuzz/fuzz_pickle.cpp (the parser), and
// tests/apps/test_verify.cpp (`facekit verify --bin` on a set made by tests/fixtures/make_verification_bin.py).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fk::data {

struct VerificationBin {
  std::vector<std::string> images;  // encoded images (JPEG as insightface ships them; PNG works too)
  std::vector<bool> same;           // per pair: whether images 2k and 2k+1 show the same person
  int64_t pairs() const { return int64_t(same.size()); }
};

// Parses the pickle in `bytes`; `what` (the file) names it in errors, one line each: not a pickle,
// truncated, a refused global, not a pair of lists, an image that is not a byte string, a flag that is
// not a boolean (or 0/1), or an image count that is not twice the pair count.
VerificationBin parse_verification_bin(const std::string& bytes, const std::string& what);
// Reads and parses the file at `path`.
VerificationBin read_verification_bin(const std::string& path);

}  // namespace fk::data
