// Weight files: facekit's own readers and writers for every format the published face models use.
// No Python, nothing executed: pickles are interpreted by a VM that builds values from an allowlist
// of globals only (data/pickle/pickle.h). Formats: docs/reference/weights-formats.md.
#pragma once

#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "tensor/state_dict.h"

namespace fk::data {

// PyTorch .pt/.pth: zip format (any archive folder name) or the legacy pre-1.6 stream. A state_dict
// (possibly nested in a dict, e.g. {'net_state_dict': ...}: its tensors are flattened with dotted
// keys), a bare tensor collection, or a whole pickled nn.Module (yields what model.state_dict() would).
// float16/bfloat16/float64/int64/uint8/bool storages keep their dtype; views and shared storages
// are resolved into contiguous tensors.
StateDict read_torch(const std::string& path);

// A Python 2/3 pickle of a dict of numpy arrays (the VGGFace2 .pkl weights): byte-string keys decoded
// as latin-1, exactly as pickle.loads(..., encoding='latin1') does.
StateDict read_pickle_arrays(const std::string& path);

// numpy .npz (zip of .npy members, stored or deflated); keys without the ".npy" suffix.
StateDict read_npz(const std::string& path);
class ZipReader;
StateDict read_npz(const ZipReader& zip);  // the same from an archive already opened
// Writes an uncompressed .npz (numpy.savez), atomically.
void write_npz(const std::string& path, const StateDict& arrays);

// A zip-format checkpoint that torch.load(path, weights_only=True) reads as an OrderedDict with the
// same names, dtypes, shapes and values. Atomic (temp file + rename).
void write_torch(const std::string& path, const StateDict& sd);

// A training checkpoint that torch.load reads as a plain dict, in the order given: each entry is a
// state dict (an OrderedDict of tensors), an int, a float or a str, e.g.
//   {"epoch": 3, "arch": "ir_50", "model_state_dict": OrderedDict(...), "optim_state_dict": ...}.
// read_torch reads it back with the tensors of each section under "<section>.<name>" (scalars are
// metadata for Python users and are skipped there). Atomic (temp file + rename).
using TorchValue = std::variant<StateDict, int64_t, double, std::string>;
using TorchCheckpoint = std::vector<std::pair<std::string, TorchValue>>;
void write_torch_checkpoint(const std::string& path, const TorchCheckpoint& entries);

// Sniffs the format by content (never by extension) and reads it. `format` gets a short name:
// "torch-zip", "torch-legacy", "pickle", "npz", "npy".
StateDict read_weights(const std::string& path, std::string* format = nullptr);

}  // namespace fk::data
