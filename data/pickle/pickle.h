// A pickle virtual machine that never executes anything: protocols 0-5 (Python 2 and 3), values built
// only from an allowlist of exact (module, name) globals, as docs/reference/weights-formats.md §2
// and robustness.md §1.1 describe. GLOBAL yields an inert marker; REDUCE/NEWOBJ/BUILD on an allowlisted
// marker construct a value (OrderedDict, torch tensor view, numpy array, set, bytes); an unknown class
// (torch.nn.modules.*, torchvision.*, __main__.Net, ...) becomes an inert generic object whose BUILD
// state is kept, so a whole pickled nn.Module's tensors stay reachable. Anything else (os.system,
// builtins.eval, dotted names, dunders) is refused naming the global. Every length is checked against
// the bytes left before allocating; memo size, object count and nesting depth are budgeted; values live
// in an arena, so destruction is flat (no recursion, cycles are harmless).
// Python equivalent: pickle.loads(..., encoding='latin1') / torch.load(weights_only=True).
// Tests: tests/data/pickle/test_pickle.cpp, test_hostile_files.cpp, tests/fuzz/fuzz_pickle.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tensor/state_dict.h"
#include "tensor/tensor.h"

namespace fk::data {
class ZipReader;
}

namespace fk::data::pickle {

enum class Kind : uint8_t {
  None, Bool, Int, BigInt, Float, Str, Bytes,
  Tuple, List, Dict, Set,
  Global,       // a (module, name) reference that passed the allowlist check; inert
  Object,       // an instance of an unknown class: `cls`, constructor `args`, BUILD `state`
  Storage,      // a torch storage made by the persistent-id callback
  TensorView,   // torch _rebuild_tensor(_v2): `storage`, offset, shape, strides; checked when materialised
  Tensor,       // a materialised tensor (numpy arrays are built directly)
  NumpyDtype,   // numpy.dtype(code) with its BUILD byte order
  NumpyArray,   // numpy _reconstruct(...) before its BUILD; object arrays keep `items`
};
const char* kind_name(Kind k);

// Element types of torch storages / numpy arrays as they are in the file; int32/int16/int8 are widened
// to int64 on materialisation (facekit has no such dtypes).
enum class ElemType : uint8_t { F32, F64, F16, BF16, I64, I32, I16, I8, U8, Bool };
size_t elem_size(ElemType t);
DType elem_dtype(ElemType t);  // the facekit dtype a tensor of this type gets

struct Value {
  Kind kind = Kind::None;
  bool boolean = false;   // Bool
  int64_t integer = 0;    // Int; Storage: numel; TensorView: storage offset (elements)
  double real = 0;        // Float
  std::string text;       // Str (UTF-8), Bytes (raw), BigInt (little-endian two's complement),
                          // Global: module, NumpyDtype: type code ("f4"), Storage: key
  std::string name;       // Global: name
  std::vector<Value*> items;  // Tuple/List/Set/object NumpyArray; Dict: key0, value0, key1, value1, ...
  Value* cls = nullptr;       // Object: its class (a Global); NumpyArray: dtype
  Value* args = nullptr;      // Object: constructor arguments
  Value* state = nullptr;     // Object/Dict: BUILD state (e.g. OrderedDict._metadata); TensorView: storage
  Shape shape, strides;       // TensorView / NumpyArray
  char byteorder = '<';       // NumpyDtype
  ElemType elem = ElemType::F32;  // Storage / NumpyDtype
  int64_t base = 0;               // Storage: element offset inside the root storage (legacy view storages)
  // Storage: its raw little-endian data, `data`, inside `bytes` (which owns it: the storage's own
  // buffer, or the whole checkpoint archive, shared by every storage and view storage read from it)
  std::shared_ptr<const std::string> bytes;
  std::string_view data;
  fk::Tensor tensor;          // Tensor
  int32_t depth = 1;          // nesting depth (containers: 1 + deepest child)
  std::unique_ptr<std::unordered_map<std::string, size_t>> index;  // Dict: key -> position in items/2

  // Dict lookup of a string key (Str or latin-1 Bytes); nullptr when absent or not a dict.
  const Value* get(const std::string& key) const;
  bool is_text() const { return kind == Kind::Str || kind == Kind::Bytes; }
  // Str as is, Bytes decoded as latin-1 into UTF-8 (pickle.loads(..., encoding='latin1')).
  std::string as_utf8() const;
};

// Owns every Value made while unpickling (several pickles may share one arena, as the legacy torch
// format's five consecutive pickles do). Values are freed together, without recursion.
class Arena {
 public:
  explicit Arena(size_t max_objects = 4'000'000) : max_objects_(max_objects) {}
  Value* make(Kind kind, const std::string& what);  // throws when the object budget is spent
  size_t size() const { return values_.size(); }

 private:
  std::vector<std::unique_ptr<Value>> values_;
  size_t max_objects_;
};

struct Limits {
  size_t max_depth = 1000;          // container nesting (Python's own recursion limit)
  size_t max_memo = 4'000'000;      // memo entries
  size_t max_stack = 16'000'000;    // values on the stack
};

class Unpickler {
 public:
  // Reads the pickle starting at `bytes[pos]`; `what` (the file and part) names it in errors.
  Unpickler(const std::string& bytes, size_t pos, std::string what, Arena& arena, Limits limits = {});
  // BINPERSID/PERSID: receives the persistent id (usually a tuple) and returns the value to push.
  std::function<Value*(Value* pid)> persistent_load;
  // Runs until STOP and returns the object; position() is then just after STOP.
  Value* load();
  size_t position() const { return pos_; }
  const std::string& what() const { return what_; }
  Arena& arena() { return arena_; }

 private:
  struct Impl;
  const std::string& bytes_;
  size_t pos_;
  std::string what_;
  Arena& arena_;
  Limits limits_;
};

// "module.name" when (module, name) may be referenced by GLOBAL/STACK_GLOBAL/INST, else throws naming
// the global: exact allowlisted names, or inert classes of model code (capitalised identifiers outside
// the blocked modules os, posix, sys, subprocess, builtins, numpy, ...).
void check_global(const std::string& module, const std::string& name, const std::string& what);

// ---- from values to tensors (shared by torch_reader.cpp and weights.cpp)

// A contiguous tensor for a Tensor, a TensorView (its storage offset, shape and strides checked against
// the storage, then copied) or a 0-d object array holding one; throws naming `what` and `key`.
fk::Tensor materialize(const Value* v, const std::string& what, const std::string& key);

// Flattens an unpickled object into a state dict: dicts (OrderedDicts) give dotted keys ("net.conv1.weight"),
// lists/tuples their indices, a whole nn.Module what model.state_dict() gives (each module's
// _parameters then persistent _buffers, then its _modules, None entries skipped); non-tensor leaves
// (epoch numbers, learning rates, strings) are skipped. Shared sub-objects keep their tensors shared.
StateDict flatten(const Value* root, const std::string& what);

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
