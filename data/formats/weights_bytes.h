// The weight readers of weights.h on bytes already in memory, and the content sniffing they share:
// sniff, not_weights_message, read_torch_bytes, read_torch_zip (torch_reader.cpp) and
// read_pickle_arrays_bytes (weights.cpp). Used by the readers themselves and by the fuzz targets.
// They keep the namespace of the pickle VM they are built on (data/pickle/pickle.h).
// Tests: tests/data/formats/test_torch_reader.cpp, tests/data/formats/test_hostile_files.cpp, tests/fuzz/fuzz_pickle.cpp.
#pragma once

#include <string>

#include "tensor/state_dict.h"

namespace fk::data {
class ZipReader;
}

namespace fk::data::pickle {

// The container by content (never by extension): "zip", "torch-legacy", "pickle", "npy", "tar", "gzip",
// "bzip2", "xz", "html", "empty" or "unknown".
std::string sniff(const std::string& bytes);
// One phrase saying why content of that kind is not a weights file ("empty file", "pre-0.4 tar ...").
std::string not_weights_message(const std::string& kind, const std::string& bytes);

// In-memory entry points of the readers (data/formats/weights.h has the file versions); `what` names the
// source in errors. Used by the readers themselves and by the fuzz targets.
StateDict read_torch_bytes(const std::string& bytes, const std::string& what);
// A zip checkpoint already opened (read_weights sniffs the archive first and then reads it from there:
// reading the file a second time held it twice in memory).
StateDict read_torch_zip(const ZipReader& zip);
StateDict read_pickle_arrays_bytes(const std::string& bytes, const std::string& what);

}  // namespace fk::data::pickle
