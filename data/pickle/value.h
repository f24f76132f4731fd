// The values the pickle VM builds (data/pickle/unpickler.h): a tagged record per Python object, numbers,
// strings, containers and the few native kinds the allowlisted constructors make (torch storages and
// tensor views, numpy dtypes and arrays, inert objects of unknown classes), all owned by an Arena, so
// destruction is flat (no recursion, cycles are harmless).
// Tests: tests/data/pickle/test_pickle.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tensor/tensor.h"

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

// The key a Dict's `index` files `k` under: equal for keys Python finds equal (see value.cpp).
std::string key_repr(const Value* k);

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

}  // namespace fk::data::pickle
