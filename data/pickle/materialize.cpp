// Tensors out of pickled values (pickle.h: materialize): a torch tensor view's storage offset, shape and
// strides are checked against its storage in 64-bit with overflow checks, then its elements are copied
// into a contiguous tensor (copy_elements, also used by the numpy constructors, elements.h).
// Tests: tests/data/pickle/test_pickle.cpp, tests/data/formats/test_hostile_files.cpp, tests/fuzz/fuzz_pickle.cpp.
#include <algorithm>
#include <cstring>
#include <vector>

#include "data/pickle/elements.h"
#include "data/pickle/pickle.h"
#include "tensor/creation.h"

namespace fk::data::pickle {

bool extent_fits(const Shape& shape) {
  int64_t p = 1;
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(p, std::max<int64_t>(d, 1), &p)) return false;
  return true;
}

void copy_elements(const unsigned char* src, ElemType et, bool swap, const Shape& shape, const Shape& strides,
                   int64_t offset, void* dst_void) {
  int64_t numel = numel_of(shape);
  if (numel == 0) return;
  size_t es = std::min<size_t>(elem_size(et), 8);
  bool widen = et == ElemType::I32 || et == ElemType::I16 || et == ElemType::I8;
  size_t out_es = widen ? 8 : es;
  auto* dst = static_cast<unsigned char*>(dst_void);
  if (!swap && !widen && strides == contiguous_strides(shape)) {
    std::memcpy(dst, src + size_t(offset) * es, size_t(numel) * es);
    return;
  }
  size_t nd = shape.size();
  std::vector<int64_t> idx(nd, 0);
  int64_t src_off = offset;
  for (int64_t n = 0; n < numel; ++n) {
    unsigned char tmp[8];
    std::memcpy(tmp, src + size_t(src_off) * es, es);
    if (swap)
      for (size_t i = 0; i < es / 2; ++i) std::swap(tmp[i], tmp[es - 1 - i]);
    unsigned char* out = dst + size_t(n) * out_es;
    if (widen) {
      int64_t v = et == ElemType::I32 ? int64_t(int32_t(uint32_t(tmp[0]) | uint32_t(tmp[1]) << 8 | uint32_t(tmp[2]) << 16 | uint32_t(tmp[3]) << 24))
                : et == ElemType::I16 ? int64_t(int16_t(uint16_t(tmp[0] | tmp[1] << 8)))
                                      : int64_t(int8_t(tmp[0]));
      std::memcpy(out, &v, 8);
    } else {
      std::memcpy(out, tmp, es);
    }
    for (size_t d = nd; d-- > 0;) {  // odometer over the row-major output index
      if (++idx[d] < shape[d]) {
        src_off += strides[d];
        break;
      }
      src_off -= strides[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

static const Value* root_storage(const Value* s) { return s->state ? s->state : s; }

Tensor materialize(const Value* v, const std::string& what, const std::string& key) {
  if (v->kind == Kind::Tensor) return v->tensor;
  if (v->kind == Kind::NumpyArray && v->shape.empty() && v->items.size() == 1)
    return materialize(v->items[0], what, key);
  FK_CHECK(v->kind == Kind::TensorView, what, ": '", key, "' is a ", kind_name(v->kind), ", not a tensor");
  const Value* st = v->state;
  const Value* root = root_storage(st);
  const std::string desc = detail::concat(what, ": tensor '", key, "' (shape ", shape_str(v->shape), ", stride ",
                                          shape_str(v->strides), ", storage offset ", v->integer, ", storage '",
                                          st->text, "' of ", st->integer, " elements)");
  FK_CHECK(root->bytes != nullptr, desc, ": storage data missing from the file");
  FK_CHECK(v->integer >= 0, desc, ": negative storage offset");
  int64_t numel = 1, last = v->integer;
  for (size_t d = 0; d < v->shape.size(); ++d) {
    FK_CHECK(v->shape[d] >= 0, desc, ": negative size ", v->shape[d], " in dim ", d);
    FK_CHECK(v->strides[d] >= 0, desc, ": negative stride ", v->strides[d], " in dim ", d);
    FK_CHECK(!__builtin_mul_overflow(numel, v->shape[d], &numel), desc, ": shape overflows 64 bits");
  }
  FK_CHECK(extent_fits(v->shape), desc, ": shape overflows 64 bits");
  if (numel > 0) {
    for (size_t d = 0; d < v->shape.size(); ++d) {
      int64_t span = 0;
      FK_CHECK(!__builtin_mul_overflow(v->shape[d] - 1, v->strides[d], &span) && !__builtin_add_overflow(last, span, &last),
               desc, ": stride arithmetic overflows 64 bits");
    }
    FK_CHECK(last < st->integer, desc, ": reads element ", last, ", past the end of the storage");
  } else {
    FK_CHECK(v->integer <= st->integer, desc, ": storage offset past the end of the storage");
  }
  size_t es = elem_size(st->elem);
  // The storage's bytes were checked against its declared numel when it was loaded.
  FK_CHECK(uint64_t(st->base + st->integer) * es <= root->data.size(), desc, ": storage holds only ",
           root->data.size(), " bytes");
  Tensor out = empty(v->shape, elem_dtype(st->elem));
  copy_elements(reinterpret_cast<const unsigned char*>(root->data.data()) + size_t(st->base) * es, st->elem, false,
                v->shape, v->strides, v->integer, numel ? out.raw_data() : nullptr);
  return out;
}

}  // namespace fk::data::pickle
