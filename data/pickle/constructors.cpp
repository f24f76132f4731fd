// The allowlisted constructors of the pickle VM (machine.h): what REDUCE, NEWOBJ and BUILD make of an
// allowlisted global (allowlist.cpp) and its arguments: OrderedDicts, torch tensor views
// (_rebuild_tensor), numpy dtypes, scalars and arrays (C or Fortran order, either byte order), sets,
// bytes, torch.Size; an unknown class becomes an inert object keeping its arguments and BUILD state.
// Nothing is ever looked up dynamically or called: each case builds a native value.
// Tests: tests/data/pickle/test_pickle.cpp, tests/data/formats/test_hostile_files.cpp, tests/fuzz/fuzz_pickle.cpp.
#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/pickle/elements.h"
#include "data/pickle/machine.h"
#include "tensor/creation.h"

namespace fk::data::pickle {

int64_t Unpickler::Impl::arg_int(const std::vector<Value*>& a, size_t i, const char* fn, const char* what, size_t at) {
  if (i >= a.size() || (a[i]->kind != Kind::Int && a[i]->kind != Kind::Bool))
    fail(at, detail::concat(fn, ": argument ", i, " (", what, ") is ",
                            i < a.size() ? kind_name(a[i]->kind) : "missing", ", expected an int"));
  return a[i]->kind == Kind::Bool ? int64_t(a[i]->boolean) : a[i]->integer;
}

Shape Unpickler::Impl::arg_ints(const std::vector<Value*>& a, size_t i, const char* fn, const char* what, size_t at) {
  if (i >= a.size() || (a[i]->kind != Kind::Tuple && a[i]->kind != Kind::List))
    fail(at, detail::concat(fn, ": argument ", i, " (", what, ") is ",
                            i < a.size() ? kind_name(a[i]->kind) : "missing", ", expected a tuple of ints"));
  Shape s;
  for (size_t k = 0; k < a[i]->items.size(); ++k) {
    const Value* x = a[i]->items[k];
    if (x->kind != Kind::Int) fail(at, detail::concat(fn, ": ", what, " holds a ", kind_name(x->kind), ", expected ints"));
    s.push_back(x->integer);
  }
  if (s.size() > 64) fail(at, detail::concat(fn, ": ", what, " has ", s.size(), " dims (at most 64)"));
  return s;
}

Value* Unpickler::Impl::rebuild_tensor(const std::vector<Value*>& a, const char* fn, size_t at) {
  if (a.size() < 4) fail(at, detail::concat(fn, ": expected at least 4 arguments, got ", a.size()));
  if (a[0]->kind != Kind::Storage)
    fail(at, detail::concat(fn, ": argument 0 is ", kind_name(a[0]->kind), ", expected a storage"));
  Value* t = make(Kind::TensorView);
  t->state = a[0];
  t->integer = arg_int(a, 1, fn, "storage offset", at);
  t->shape = arg_ints(a, 2, fn, "size", at);
  t->strides = arg_ints(a, 3, fn, "stride", at);
  if (t->shape.size() != t->strides.size())
    fail(at, detail::concat(fn, ": size ", shape_str(t->shape), " and stride ", shape_str(t->strides),
                            " have different lengths"));
  return t;
}

Value* Unpickler::Impl::numpy_dtype(const std::vector<Value*>& a, size_t at) {
  if (a.empty() || !a[0]->is_text()) fail(at, "numpy.dtype: expected a type code string");
  std::string code = a[0]->as_utf8();
  Value* d = make(Kind::NumpyDtype);
  if (!code.empty() && std::strchr("<>|=", code[0])) {
    d->byteorder = code[0];
    code = code.substr(1);
  }
  d->text = code;
  static const std::unordered_map<std::string, ElemType> codes = {
      {"f4", ElemType::F32}, {"f8", ElemType::F64}, {"f2", ElemType::F16}, {"i8", ElemType::I64},
      {"i4", ElemType::I32}, {"i2", ElemType::I16}, {"i1", ElemType::I8},  {"u1", ElemType::U8},
      {"b1", ElemType::Bool}};
  auto it = codes.find(code);
  if (it != codes.end()) {
    d->elem = it->second;
  } else if (code != "O8" && code != "O4") {
    fail(at, detail::concat("numpy dtype '", code, "' is not supported (f2 f4 f8 i1 i2 i4 i8 u1 b1 and object arrays are)"));
  }
  return d;
}

// REDUCE(callable, args): the callable must be an allowlisted global or an inert class.
Value* Unpickler::Impl::reduce(Value* fn, Value* args, size_t at) {
  if (fn->kind != Kind::Global)
    fail(at, detail::concat("REDUCE on a ", kind_name(fn->kind), " (only allowlisted globals can be called)"));
  if (args->kind != Kind::Tuple)
    fail(at, detail::concat("REDUCE of ", global_name(fn), ": arguments are a ", kind_name(args->kind), ", expected a tuple"));
  const std::vector<Value*>& a = args->items;
  const AllowedGlobal* g = find_allowed(fn);
  std::string name = global_name(fn);
  if (!g) {  // an inert class (check_global let only capitalised class names through)
    Value* o = make(Kind::Object);
    o->cls = fn;
    o->args = args;
    deepen(o, args, at);
    return o;
  }
  switch (g->builtin) {
    case Builtin::OrderedDict: {
      Value* d = make(Kind::Dict);
      if (!a.empty()) {
        if (a[0]->kind != Kind::List && a[0]->kind != Kind::Tuple)
          fail(at, "OrderedDict: argument must be a list of (key, value) pairs");
        for (Value* p : a[0]->items) {
          if (p->kind != Kind::Tuple || p->items.size() != 2) fail(at, "OrderedDict: item is not a (key, value) pair");
          dict_set(d, p->items[0], p->items[1], at);
        }
      }
      return d;
    }
    case Builtin::RebuildTensor: return rebuild_tensor(a, "_rebuild_tensor", at);
    case Builtin::RebuildTensorV2: return rebuild_tensor(a, "_rebuild_tensor_v2", at);
    case Builtin::RebuildParameter:
    case Builtin::Parameter:
      if (a.empty() || (a[0]->kind != Kind::TensorView && a[0]->kind != Kind::Tensor))
        fail(at, detail::concat(name, ": expected a tensor as first argument"));
      return a[0];
    case Builtin::NpReconstruct: {
      if (a.size() != 3 || a[0]->kind != Kind::Global || find_allowed(a[0]) == nullptr ||
          find_allowed(a[0])->builtin != Builtin::NpNdarray)
        fail(at, "numpy _reconstruct: expected (numpy.ndarray, shape, typecode)");
      return make(Kind::NumpyArray);
    }
    case Builtin::NpDtype: return numpy_dtype(a, at);
    case Builtin::NpScalar: {
      if (a.size() != 2 || a[0]->kind != Kind::NumpyDtype || !a[1]->is_text())
        fail(at, "numpy scalar: expected (dtype, bytes)");
      std::string raw = a[1]->kind == Kind::Bytes ? a[1]->text : std::string();
      if (a[1]->kind == Kind::Str && !utf8_to_latin1(a[1]->text, raw)) fail(at, "numpy scalar: data is not latin-1 text");
      if (a[0]->text == "O8" || a[0]->text == "O4") fail(at, "numpy scalar: object dtype");
      size_t es = elem_size(a[0]->elem);
      if (raw.size() != es) fail(at, detail::concat("numpy scalar: ", raw.size(), " data bytes for a ", es, "-byte dtype"));
      Value* t = make(Kind::Tensor);
      t->tensor = empty({}, elem_dtype(a[0]->elem));
      copy_elements(reinterpret_cast<const unsigned char*>(raw.data()), a[0]->elem, a[0]->byteorder == '>', {}, {}, 0,
                    t->tensor.raw_data());
      return t;
    }
    case Builtin::CodecsEncode: {
      if (a.empty() || a[0]->kind != Kind::Str) fail(at, "_codecs.encode: expected (str, encoding)");
      std::string enc = a.size() > 1 && a[1]->is_text() ? a[1]->as_utf8() : "utf-8";
      std::string out;
      if (enc == "latin1" || enc == "latin-1" || enc == "iso-8859-1") {
        if (!utf8_to_latin1(a[0]->text, out)) fail(at, "_codecs.encode: text has characters outside latin-1");
      } else if (enc == "utf-8" || enc == "utf8") {
        out = a[0]->text;
      } else {
        fail(at, detail::concat("_codecs.encode: encoding '", enc, "' not supported"));
      }
      return make_text(Kind::Bytes, std::move(out));
    }
    case Builtin::Set:
    case Builtin::FrozenSet: {
      Value* s = make(Kind::Set);
      if (!a.empty()) {
        if (a[0]->kind != Kind::List && a[0]->kind != Kind::Tuple && a[0]->kind != Kind::Set)
          fail(at, detail::concat(name, ": argument is a ", kind_name(a[0]->kind), ", expected a list"));
        for (Value* it : a[0]->items) deepen(s, it, at);
        s->items = a[0]->items;
      }
      return s;
    }
    case Builtin::Bytearray: {
      if (a.empty()) return make_text(Kind::Bytes, "");
      if (a[0]->kind != Kind::Bytes) fail(at, "bytearray: expected bytes");
      return make_text(Kind::Bytes, a[0]->text);
    }
    case Builtin::Reconstructor: {
      if (a.size() < 2 || a[0]->kind != Kind::Global || find_allowed(a[0]) != nullptr)
        fail(at, "copyreg._reconstructor: expected a model class as first argument");
      Value* o = make(Kind::Object);
      o->cls = a[0];
      o->args = args;
      return o;
    }
    case Builtin::TorchSize: {
      if (a.size() != 1 || (a[0]->kind != Kind::Tuple && a[0]->kind != Kind::List)) fail(at, "torch.Size: expected a tuple");
      return make_seq(Kind::Tuple, a[0]->items, at);
    }
    case Builtin::TorchDevice: {
      if (a.empty() || !a[0]->is_text()) fail(at, "torch.device: expected a device name");
      return make_text(Kind::Str, a[0]->as_utf8());
    }
    case Builtin::StorageType:
    case Builtin::TorchDtype:
    case Builtin::NpNdarray:
    case Builtin::ObjectBase:
    case Builtin::None: break;
  }
  fail(at, detail::concat("global ", name, " cannot be called"));
}

Value* Unpickler::Impl::newobj(Value* cls, Value* args, size_t at) {
  if (cls->kind != Kind::Global)
    fail(at, detail::concat("NEWOBJ on a ", kind_name(cls->kind), ", expected a class"));
  const AllowedGlobal* g = find_allowed(cls);
  if (!g) return reduce(cls, args, at);  // an inert class: same record as REDUCE makes
  switch (g->builtin) {
    case Builtin::OrderedDict: return make(Kind::Dict);
    case Builtin::Set: case Builtin::FrozenSet: return make(Kind::Set);
    case Builtin::Parameter: return reduce(cls, args, at);
    default: fail(at, detail::concat("NEWOBJ on global ", global_name(cls), " is not allowed"));
  }
}

void Unpickler::Impl::build_numpy(Value* arr, Value* state, size_t at) {
  if (state->kind != Kind::Tuple || (state->items.size() != 5 && state->items.size() != 4))
    fail(at, "numpy array BUILD: expected (version, shape, dtype, is_fortran, data)");
  std::vector<Value*> s = state->items;
  if (s.size() == 5) s.erase(s.begin());
  Shape shape = arg_ints(s, 0, "numpy array", "shape", at);
  if (s[1]->kind != Kind::NumpyDtype) fail(at, "numpy array BUILD: dtype is not a numpy.dtype");
  const Value* dt = s[1];
  bool fortran = s[2]->kind == Kind::Bool ? s[2]->boolean : s[2]->kind == Kind::Int ? s[2]->integer != 0 : false;
  for (int64_t d : shape)
    if (d < 0) fail(at, detail::concat("numpy array: negative dimension in shape ", shape_str(shape)));
  if (!extent_fits(shape)) fail(at, detail::concat("numpy array: shape ", shape_str(shape), " overflows"));
  int64_t numel = numel_of(shape);
  arr->shape = shape;
  arr->cls = s[1];
  if (dt->text == "O8" || dt->text == "O4") {  // object array: the data is a list of the elements
    if (s[3]->kind != Kind::List || int64_t(s[3]->items.size()) != numel)
      fail(at, detail::concat("numpy object array ", shape_str(shape), ": expected a list of ", numel, " elements"));
    for (Value* it : s[3]->items) deepen(arr, it, at);
    arr->items = s[3]->items;
    return;
  }
  std::string latin;
  const std::string* raw = nullptr;
  if (s[3]->kind == Kind::Bytes) {
    raw = &s[3]->text;
  } else if (s[3]->kind == Kind::Str && utf8_to_latin1(s[3]->text, latin)) {
    raw = &latin;
  } else {
    fail(at, detail::concat("numpy array BUILD: data is a ", kind_name(s[3]->kind), ", expected bytes"));
  }
  size_t es = elem_size(dt->elem);
  int64_t nbytes = 0;
  if (__builtin_mul_overflow(numel, int64_t(es), &nbytes) || uint64_t(nbytes) != raw->size())
    fail(at, detail::concat("numpy array ", shape_str(shape), " of ", dt->text, " needs ", numel, " x ", es,
                            " bytes but its data holds ", raw->size()));
  // Fortran order: element (i0..ik) lives at sum i_j * prod(shape[:j]).
  Shape strides(shape.size());
  int64_t st = 1;
  if (fortran) {
    for (size_t j = 0; j < shape.size(); ++j) {
      strides[j] = st;
      st *= std::max<int64_t>(shape[j], 1);
    }
  } else {
    strides = contiguous_strides(shape);
  }
  arr->kind = Kind::Tensor;
  arr->tensor = empty(shape, elem_dtype(dt->elem));
  copy_elements(reinterpret_cast<const unsigned char*>(raw->data()), dt->elem, dt->byteorder == '>', shape, strides, 0,
                numel ? arr->tensor.raw_data() : nullptr);
}

void Unpickler::Impl::build(Value* obj, Value* state, size_t at) {
  switch (obj->kind) {
    case Kind::Object:
      if (state->kind == Kind::Tuple && state->items.size() == 2 &&
          (state->items[0]->kind == Kind::Dict || state->items[0]->kind == Kind::None))
        state = state->items[0]->kind == Kind::Dict ? state->items[0] : state->items[1];
      obj->state = state;
      deepen(obj, state, at);
      return;
    case Kind::Dict:  // OrderedDict attributes, e.g. a state dict's _metadata
      obj->state = state;
      deepen(obj, state, at);
      return;
    case Kind::NumpyDtype:
      if (state->kind != Kind::Tuple || state->items.size() < 2 || !state->items[1]->is_text())
        fail(at, "numpy dtype BUILD: expected (version, byteorder, ...)");
      {
        std::string bo = state->items[1]->as_utf8();
        if (bo.size() != 1 || !std::strchr("<>|=", bo[0])) fail(at, detail::concat("numpy dtype: byte order '", bo, "'"));
        obj->byteorder = bo[0];
      }
      return;
    case Kind::NumpyArray:
      if (!obj->shape.empty() || obj->cls) fail(at, "numpy array BUILD twice");
      build_numpy(obj, state, at);
      return;
    case Kind::TensorView:
    case Kind::Tensor: return;  // tensor attributes (e.g. requires_grad state): nothing to keep
    case Kind::Global:
      fail(at, detail::concat("BUILD on global ", global_name(obj), " is not allowed (it would set attributes on code)"));
    default: fail(at, detail::concat("BUILD target is a ", kind_name(obj->kind), " (not an object)"));
  }
}

}  // namespace fk::data::pickle
