// Values of the pickle VM (value.h): kind and element-type names and sizes, dict keys compared as
// Python compares them, latin-1 text as UTF-8, and the arena with its object budget.
// Tests: tests/data/pickle/test_pickle.cpp, tests/data/formats/test_hostile_files.cpp (the object budget).
#include "data/pickle/value.h"

namespace fk::data::pickle {

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::BigInt: return "int (big)";
    case Kind::Float: return "float";
    case Kind::Str: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Set: return "set";
    case Kind::Global: return "global";
    case Kind::Object: return "object";
    case Kind::Storage: return "storage";
    case Kind::TensorView: return "tensor";
    case Kind::Tensor: return "tensor";
    case Kind::NumpyDtype: return "numpy.dtype";
    case Kind::NumpyArray: return "numpy.ndarray";
  }
  return "?";
}

size_t elem_size(ElemType t) {
  switch (t) {
    case ElemType::F32: case ElemType::I32: return 4;
    case ElemType::F64: case ElemType::I64: return 8;
    case ElemType::F16: case ElemType::BF16: case ElemType::I16: return 2;
    case ElemType::I8: case ElemType::U8: case ElemType::Bool: return 1;
  }
  return 1;
}

DType elem_dtype(ElemType t) {
  switch (t) {
    case ElemType::F32: return DType::Float32;
    case ElemType::F64: return DType::Float64;
    case ElemType::F16: return DType::Float16;
    case ElemType::BF16: return DType::BFloat16;
    case ElemType::I64: case ElemType::I32: case ElemType::I16: case ElemType::I8: return DType::Int64;
    case ElemType::U8: return DType::UInt8;
    case ElemType::Bool: return DType::Bool;
  }
  return DType::Float32;
}

static std::string latin1_to_utf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c < 0x80) {
      out += char(c);
    } else {
      out += char(0xC0 | (c >> 6));
      out += char(0x80 | (c & 0x3F));
    }
  }
  return out;
}

std::string Value::as_utf8() const { return kind == Kind::Bytes ? latin1_to_utf8(text) : text; }

// Dict keys are compared as Python would for the key types weight files use: str and latin-1 bytes
// (py2 str) alike, ints (bool as int), None, floats, tuples of those. Any other key is its identity.
static std::string tagged(char tag, const std::string& s) {
  std::string r(1, tag);
  r += s;
  return r;
}

static std::string identity_repr(const Value* k) { return tagged('p', std::to_string(reinterpret_cast<uintptr_t>(k))); }

std::string key_repr(const Value* k) {
  switch (k->kind) {
    case Kind::Str: return tagged('s', k->text);
    case Kind::Bytes: return tagged('s', latin1_to_utf8(k->text));
    case Kind::Int: return tagged('i', std::to_string(k->integer));
    case Kind::Bool: return tagged('i', std::to_string(int(k->boolean)));
    case Kind::None: return "n";
    case Kind::BigInt: return tagged('I', k->text);
    case Kind::Float: {
      std::string r = "f";
      r.append(reinterpret_cast<const char*>(&k->real), sizeof(double));
      return r;
    }
    case Kind::Tuple: {
      std::string r = "t(";
      for (const Value* it : k->items) {
        if (it->kind == Kind::Tuple || it->kind == Kind::List || it->kind == Kind::Dict) {
          r += identity_repr(it);
        } else {
          r += key_repr(it);
        }
        r += '\x1f';
      }
      return r + ")";
    }
    default: return identity_repr(k);
  }
}

const Value* Value::get(const std::string& key) const {
  if (kind != Kind::Dict || !index) return nullptr;
  auto it = index->find(tagged('s', key));
  return it == index->end() ? nullptr : items[2 * it->second + 1];
}

Value* Arena::make(Kind kind, const std::string& what) {
  FK_CHECK(values_.size() < max_objects_, what, ": pickle makes more than ", max_objects_,
           " objects (object budget exceeded; the file is hostile or corrupt)");
  values_.push_back(std::make_unique<Value>());
  values_.back()->kind = kind;
  return values_.back().get();
}

}  // namespace fk::data::pickle
