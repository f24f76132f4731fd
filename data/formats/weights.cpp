// read_pickle_arrays (a Python 2/3 pickle of a dict of numpy arrays, e.g. the VGGFace2 .pkl weights,
// read as pickle.load(f, encoding='latin1') does: py2 str keys decoded as latin-1, Fortran-ordered arrays
// and big-endian dtypes honoured) and read_weights (the format sniffed by content, never by extension:
// zip holding */data.pkl -> torch-zip, other zip -> npz, legacy magic -> torch-legacy, other pickle,
// .npy -> key "array"; tar, compressed, HTML and empty files refused with the reason).
// Formats: docs/reference/weights-formats.md §1, §5. Tests: tests/data/formats/test_torch_reader.cpp,
// tests/data/formats/test_hostile_files.cpp, tests/fuzz/fuzz_pickle.cpp.
#include "data/formats/weights.h"

#include "data/formats/files.h"
#include "data/formats/npy.h"
#include "data/formats/weights_bytes.h"
#include "data/formats/zip.h"
#include "data/pickle/pickle.h"

namespace fk::data {

namespace pickle {

StateDict read_pickle_arrays_bytes(const std::string& bytes, const std::string& what) {
  std::string kind = sniff(bytes);
  if (kind == "torch-legacy" || kind == "zip")
    throw Error(what + ": a PyTorch checkpoint, not a plain pickle of arrays — read it with read_torch or read_weights");
  FK_CHECK(kind == "pickle", what, ": not a pickle: ", not_weights_message(kind, bytes));
  Arena arena;
  Unpickler up(bytes, 0, what, arena);
  Value* root = up.load();
  FK_CHECK(root->kind == Kind::Dict || root->kind == Kind::Tensor || root->kind == Kind::NumpyArray ||
               root->kind == Kind::List || root->kind == Kind::Tuple,
           what, ": the pickle holds a ", kind_name(root->kind), ", expected a dict of numpy arrays");
  StateDict sd = flatten(root, what);
  FK_CHECK(!sd.empty(), what, ": the pickle holds no numpy arrays");
  return sd;
}

}  // namespace pickle

StateDict read_pickle_arrays(const std::string& path) { return pickle::read_pickle_arrays_bytes(read_file(path), path); }

StateDict read_weights(const std::string& path, std::string* format) {
  std::string bytes = read_file(path);
  std::string kind = pickle::sniff(bytes);
  auto set_format = [&](const char* f) {
    if (format) *format = f;
  };
  if (kind == "zip") {
    ZipReader zip(std::move(bytes), path);
    for (const ZipEntry& e : zip.entries()) {
      if (e.name.size() >= 9 && e.name.compare(e.name.size() - 9, 9, "/data.pkl") == 0) {
        set_format("torch-zip");
        return pickle::read_torch_zip(zip);
      }
    }
    set_format("npz");
    return read_npz(zip);
  }
  if (kind == "torch-legacy") {
    set_format("torch-legacy");
    return pickle::read_torch_bytes(bytes, path);
  }
  if (kind == "pickle") {
    set_format("pickle");
    return pickle::read_pickle_arrays_bytes(bytes, path);
  }
  if (kind == "npy") {
    set_format("npy");
    StateDict sd;
    sd.set("array", parse_npy(bytes, path));
    return sd;
  }
  throw Error(path + ": " + pickle::not_weights_message(kind, bytes));
}

}  // namespace fk::data
