// numpy .npz: a zip archive of "<key>.npy" members, stored (numpy.savez) or deflated
// (numpy.savez_compressed). read_npz returns them in archive order under <key>; write_npz writes an
// uncompressed archive (data 64-byte aligned) that numpy.load reads. Matches numpy.load / numpy.savez.
// Tests: tests/data/formats/test_npz.cpp (numpy-written fixtures, round trip), tests/fuzz/fuzz_zip.cpp.
#include "data/formats/files.h"
#include "data/formats/npy.h"
#include "data/formats/weights.h"
#include "data/formats/zip.h"

namespace fk::data {

StateDict read_npz(const std::string& path) { return read_npz(ZipReader::open(path)); }

StateDict read_npz(const ZipReader& zip) {
  const std::string& path = zip.what();
  StateDict out;
  for (const ZipEntry& e : zip.entries()) {
    const std::string suffix = ".npy";
    FK_CHECK(e.name.size() > suffix.size() && e.name.compare(e.name.size() - suffix.size(), suffix.size(), suffix) == 0,
             path, ": member '", e.name, "' is not a .npy array (an .npz holds only '<name>.npy' members)");
    Tensor t = parse_npy(zip.read(e.name), path + ": member '" + e.name + "'");
    out.set(e.name.substr(0, e.name.size() - suffix.size()), t);
  }
  return out;
}

void write_npz(const std::string& path, const StateDict& arrays) {
  ZipWriter zip;
  for (const auto& [name, t] : arrays) {
    FK_CHECK(t.defined(), "write_npz: ", path, ": array '", name, "' is undefined");
    zip.add(name + ".npy", encode_npy(t));
  }
  write_file_atomic(path, zip.finish());
}

}  // namespace fk::data
