// Shape ops (see shape_ops.h), matching torch.reshape/view/permute/expand/narrow/select/index_select/
// cat/stack and torch.nn.functional.pad (constant mode).
//
// Views only rewrite (shape, strides, offset) over the same Storage, so they cost nothing and work for
// every dtype and device. reshape is a view whenever the strides can express the new shape (torch's
// computeStride rule, below) and a contiguous copy otherwise. The copying ops (index_select, index_add,
// cat, pad, the slice/select backward helpers) are plain loops over contiguous blocks on the CPU. On a
// GPU, index_select/index_add run cuda/shape.cu's kernels, and cat, pad, the backward helpers and
// reshape's copy are written on copy_strided, which routes CUDA tensors to cuda::copy_strided.
// Tests: tests/tensor/test_shape_ops.cpp, tests/autograd/test_shape_ops_grad.cpp, tests/cuda/test_shape_ops.cpp.
#include "tensor/shape_ops.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "cuda/shape.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"
#include "tensor/iterate.h"

#if defined(FK_WITH_CUDA)
#include "cuda/copy.h"
#endif

namespace fk::ops {

namespace {

Tensor make_view(const Tensor& x, Shape shape, Shape strides, int64_t offset) {
  return Tensor(x.storage(), std::move(shape), std::move(strides), offset, x.dtype());
}

// Unsigned integer of the same size as one element: copies move bits, whatever the dtype.
template <class F>
void dispatch_bytes(DType dtype, F&& f) {
  switch (dtype_size(dtype)) {
    case 1: f.template operator()<uint8_t>(); return;
    case 2: f.template operator()<uint16_t>(); return;
    case 4: f.template operator()<uint32_t>(); return;
    default: f.template operator()<uint64_t>(); return;
  }
}

// dst[i] = src[i] for every index; same shape and dtype, any strides (dst may be a view); both on the
// CPU or both on one GPU (cuda::copy_strided).
void copy_strided(const Tensor& dst, const Tensor& src) {
  FK_CHECK(dst.device() == src.device(), "copy: source on ", src.device().str(), " but destination on ",
           dst.device().str());
#if defined(FK_WITH_CUDA)
  if (dst.device().is_cuda()) return cuda::copy_strided(dst, src);
#endif
  if (dst.is_contiguous() && src.is_contiguous()) {
    std::memcpy(dst.raw_data(), src.raw_data(), size_t(src.numel()) * dtype_size(src.dtype()));
    return;
  }
  dispatch_bytes(src.dtype(), [&]<class E>() {
    E* d = static_cast<E*>(dst.raw_data());
    const E* s = static_cast<const E*>(src.raw_data());
    for_each_offset2(src.shape(), dst.strides(), src.strides(), [&](int64_t od, int64_t os) { d[od] = s[os]; });
  });
}

// torch's infer_size: one -1 takes what is left of numel.
Shape infer_shape(const Shape& shape, int64_t numel, const char* op) {
  int64_t known = 1;
  std::optional<size_t> infer;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      FK_CHECK(!infer, op, ": only one dimension can be inferred (shape ", shape_str(shape), ")");
      infer = i;
    } else {
      FK_CHECK(shape[i] >= 0, op, ": invalid size ", shape[i], " in shape ", shape_str(shape));
      known *= shape[i];
    }
  }
  Shape out = shape;
  if (numel == known || (infer && known > 0 && numel % known == 0)) {
    if (infer) {
      FK_CHECK(known != 0, op, ": cannot reshape a tensor of 0 elements into shape ", shape_str(shape),
               " because the unspecified dimension -1 could be any value");
      out[*infer] = numel / known;
    }
    return out;
  }
  throw Error(detail::concat(op, ": shape ", shape_str(shape), " is invalid for an input of ", numel, " elements"));
}

// torch's computeStride: strides that view `old_shape`/`old_strides` as `new_shape` (same numel), or
// nothing when some new dim would have to span two memory chunks that are not evenly spaced.
// The old dims are walked from the back in "chunks" of dims that are contiguous with each other; each
// chunk must be exactly covered by a run of new dims.
std::optional<Shape> compute_view_strides(const Shape& old_shape, const Shape& old_strides, const Shape& new_shape) {
  if (old_shape.empty()) return Shape(new_shape.size(), 1);
  int64_t numel = numel_of(old_shape);
  if (numel == 0 && old_shape == new_shape) return old_strides;
  Shape new_strides(new_shape.size());
  if (numel == 0) return contiguous_strides(new_shape);

  int64_t view_d = int64_t(new_shape.size()) - 1;
  int64_t chunk_base_stride = old_strides.back();  // stride of the innermost dim of the current chunk
  int64_t tensor_numel = 1;                        // elements in the current chunk of old dims
  int64_t view_numel = 1;                          // elements covered by new dims so far in this chunk
  for (int64_t d = int64_t(old_shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_shape[size_t(d)];
    bool chunk_ends = d == 0 || (old_shape[size_t(d - 1)] != 1 &&
                                 old_strides[size_t(d - 1)] != tensor_numel * chunk_base_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < tensor_numel || new_shape[size_t(view_d)] == 1)) {
      new_strides[size_t(view_d)] = view_numel * chunk_base_stride;
      view_numel *= new_shape[size_t(view_d)];
      --view_d;
    }
    if (view_numel != tensor_numel) return std::nullopt;
    if (d > 0) {
      chunk_base_stride = old_strides[size_t(d - 1)];
      tensor_numel = 1;
      view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return new_strides;
}

// The (outer, size, inner) split of a contiguous tensor around `dim`.
struct Split {
  int64_t outer = 1, size = 1, inner = 1;
};
Split split_at(const Shape& shape, int64_t dim) {
  Split s;
  for (int64_t d = 0; d < int64_t(shape.size()); ++d) {
    if (d < dim) s.outer *= shape[size_t(d)];
    else if (d == dim) s.size = shape[size_t(d)];
    else s.inner *= shape[size_t(d)];
  }
  return s;
}

// index (1-d or 0-d int64) as a vector, every entry checked against [0, size).
std::vector<int64_t> checked_index(const Tensor& index, int64_t size, const char* op, const Tensor& x, int64_t dim) {
  FK_CHECK(index.defined(), op, ": index is an undefined tensor");
  FK_CHECK(index.dtype() == DType::Int64, op, ": index must be int64, got ", index.str());
  FK_CHECK(index.dim() <= 1, op, ": index must be 1-d, got ", shape_str(index.shape()));
  std::vector<int64_t> idx = index.to_vector<int64_t>();  // copied to the host when on a GPU
  for (size_t i = 0; i < idx.size(); ++i)
    FK_CHECK(idx[i] >= 0 && idx[i] < size, op, ": index[", i, "] = ", idx[i], " is out of range for dim ", dim,
             " of size ", size, " (x=", shape_str(x.shape()), ")");
  return idx;
}

// A contiguous copy of x on its device (Tensor::clone, written on copy_strided so it works on a GPU too).
Tensor copy_of(const Tensor& x) {
  Tensor c = empty(x.shape(), x.dtype(), x.device());
  copy_strided(c, x);
  return c;
}

// Tensors that cat skips, as PyTorch does for backward compatibility: 1-d with zero elements.
bool cat_skips(const Tensor& t) { return t.dim() == 1 && t.size(0) == 0; }

}  // namespace

// ---- views

Tensor reshape(const Tensor& x, const Shape& shape) {
  Shape target = infer_shape(shape, x.numel(), "reshape");
  if (auto strides = compute_view_strides(x.shape(), x.strides(), target))
    return make_view(x, target, *strides, x.offset());
  Tensor c = copy_of(x);  // the strides cannot express the new shape: copy, then view the copy
  return make_view(c, target, contiguous_strides(target), 0);
}

Tensor view(const Tensor& x, const Shape& shape) {
  Shape target = infer_shape(shape, x.numel(), "view");
  auto strides = compute_view_strides(x.shape(), x.strides(), target);
  FK_CHECK(strides, "view: shape ", shape_str(target), " is not compatible with input ", shape_str(x.shape()),
           " of strides ", shape_str(x.strides()),
           " (at least one dimension spans two non-contiguous subspaces); use reshape(...) instead, which copies");
  return make_view(x, target, *strides, x.offset());
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  int64_t start = normalize_dim(start_dim, x.dim(), "flatten");
  int64_t end = normalize_dim(end_dim, x.dim(), "flatten");
  FK_CHECK(start <= end, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim, " (x=",
           shape_str(x.shape()), ")");
  if (x.dim() == 0) return reshape(x, {1});
  if (start == end) return x;
  Shape shape(x.shape().begin(), x.shape().begin() + start);
  int64_t merged = 1;
  for (int64_t d = start; d <= end; ++d) merged *= x.shape()[size_t(d)];
  shape.push_back(merged);
  shape.insert(shape.end(), x.shape().begin() + end + 1, x.shape().end());
  return reshape(x, shape);
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  FK_CHECK(int64_t(dims.size()) == x.dim(), "permute: ", dims.size(), " dims given for a ", x.dim(),
           "-d tensor (x=", shape_str(x.shape()), ")");
  Shape shape(dims.size()), strides(dims.size());
  std::vector<bool> used(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = normalize_dim(dims[i], x.dim(), "permute");
    FK_CHECK(!used[size_t(d)], "permute: dim ", dims[i], " appears twice (x=", shape_str(x.shape()), ")");
    used[size_t(d)] = true;
    shape[i] = x.shape()[size_t(d)];
    strides[i] = x.strides()[size_t(d)];
  }
  return make_view(x, shape, strides, x.offset());
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  int64_t d0 = normalize_dim(dim0, x.dim(), "transpose");
  int64_t d1 = normalize_dim(dim1, x.dim(), "transpose");
  if (x.dim() == 0) return make_view(x, {}, {}, x.offset());
  Shape shape = x.shape(), strides = x.strides();
  std::swap(shape[size_t(d0)], shape[size_t(d1)]);
  std::swap(strides[size_t(d0)], strides[size_t(d1)]);
  return make_view(x, shape, strides, x.offset());
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  int64_t d = normalize_dim(dim, x.dim(), "squeeze");
  Shape shape = x.shape(), strides = x.strides();
  if (x.dim() > 0 && shape[size_t(d)] == 1) {
    shape.erase(shape.begin() + d);
    strides.erase(strides.begin() + d);
  }
  return make_view(x, shape, strides, x.offset());
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  int64_t d = normalize_dim(dim, x.dim() + 1, "unsqueeze");
  Shape shape = x.shape(), strides = x.strides();
  // torch's choice of stride for the new size-1 dim: as if it were contiguous with the dim after it
  int64_t stride = d >= x.dim() ? 1 : shape[size_t(d)] * strides[size_t(d)];
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  return make_view(x, shape, strides, x.offset());
}

Tensor expand(const Tensor& x, const Shape& shape) {
  FK_CHECK(int64_t(shape.size()) >= x.dim(), "expand: the number of sizes ", shape_str(shape),
           " must be at least the number of dims of x=", shape_str(x.shape()));
  size_t lead = shape.size() - size_t(x.dim());  // new leading dims
  Shape out(shape.size()), strides(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i < lead) {
      FK_CHECK(shape[i] >= 0, "expand: size ", shape[i], " is not allowed in the new leading dim ", i,
               " (target ", shape_str(shape), ", x=", shape_str(x.shape()), ")");
      out[i] = shape[i];
      strides[i] = 0;
      continue;
    }
    int64_t have = x.shape()[i - lead];
    int64_t want = shape[i] == -1 ? have : shape[i];
    FK_CHECK(want >= 0, "expand: invalid size ", shape[i], " at dim ", i, " (target ", shape_str(shape), ")");
    if (have == want) {
      strides[i] = x.strides()[i - lead];
    } else {
      FK_CHECK(have == 1, "expand: the expanded size ", want, " must match the existing size ", have,
               " at non-singleton dim ", i, " (target ", shape_str(shape), ", x=", shape_str(x.shape()), ")");
      strides[i] = 0;  // every index reads the one element
    }
    out[i] = want;
  }
  return make_view(x, out, strides, x.offset());
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  FK_CHECK(x.dim() > 0, "slice: cannot slice a 0-d tensor");
  FK_CHECK(step > 0, "slice: step must be positive, got ", step);
  int64_t d = normalize_dim(dim, x.dim(), "slice");
  int64_t size = x.shape()[size_t(d)];
  // Python's clamping: negative bounds count from the end, then both are clipped to [0, size]
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<int64_t>(start, 0, size);
  end = std::clamp<int64_t>(end, start, size);
  Shape shape = x.shape(), strides = x.strides();
  shape[size_t(d)] = (end - start + step - 1) / step;
  int64_t offset = x.offset() + start * strides[size_t(d)];
  strides[size_t(d)] *= step;
  return make_view(x, shape, strides, offset);
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  FK_CHECK(x.dim() > 0, "select: cannot select from a 0-d tensor");
  int64_t d = normalize_dim(dim, x.dim(), "select");
  int64_t size = x.shape()[size_t(d)];
  FK_CHECK(index >= -size && index < size, "select: index ", index, " is out of range for dim ", d, " of size ", size,
           " (x=", shape_str(x.shape()), ")");
  if (index < 0) index += size;
  Shape shape = x.shape(), strides = x.strides();
  int64_t offset = x.offset() + index * strides[size_t(d)];
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  return make_view(x, shape, strides, offset);
}

// ---- copies

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  FK_CHECK(x.defined(), "index_select: x is an undefined tensor");
  int64_t d = normalize_dim(dim, x.dim(), "index_select");
  Tensor xc = x.dim() == 0 ? reshape(x, {1}) : x;
  std::vector<int64_t> idx = checked_index(index, xc.shape()[size_t(d)], "index_select", x, dim);
  FK_CHECK(x.dim() > 0 || idx.size() == 1, "index_select: a 0-d x takes exactly one index, got ", idx.size());
  Shape out_shape = xc.shape();
  out_shape[size_t(d)] = int64_t(idx.size());
  // on a GPU (the index may have lived on either device); a 0-d x gives a 0-d result
  if constexpr (kWithCuda) {
    if (x.device().is_cuda()) return reshape(cuda::index_select(xc, d, idx), x.dim() == 0 ? Shape{} : out_shape);
  }
  xc = xc.contiguous();
  Tensor out = empty(out_shape, x.dtype());
  // x: (outer, size, inner) -> out: (outer, n, inner), one row of `inner` elements per (o, i)
  Split s = split_at(xc.shape(), d);
  size_t es = dtype_size(x.dtype()), row = size_t(s.inner) * es;
  const char* src = static_cast<const char*>(xc.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  int64_t n = int64_t(idx.size());
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t i = 0; i < n; ++i)
      std::memcpy(dst + size_t(o * n + i) * row, src + size_t(o * s.size + idx[size_t(i)]) * row, row);
  return x.dim() == 0 ? reshape(out, {}) : out;
}

Tensor index_add(const Tensor& base, int64_t dim, const Tensor& index, const Tensor& src) {
  check_float_input(base, "index_add", "base");
  check_float_input(src, "index_add", "src");
  check_same_type(base, src, "index_add");
  int64_t d = normalize_dim(dim, base.dim(), "index_add");
  Shape bshape = base.dim() == 0 ? Shape{1} : base.shape();
  Shape sshape = src.dim() == 0 ? Shape{1} : src.shape();
  std::vector<int64_t> idx = checked_index(index, bshape[size_t(d)], "index_add", base, dim);
  int64_t n = int64_t(idx.size());
  bool ok = sshape.size() == bshape.size() && sshape[size_t(d)] == n;
  for (size_t i = 0; ok && i < bshape.size(); ++i) ok = int64_t(i) == d || sshape[i] == bshape[i];
  FK_CHECK(ok, "index_add: src ", shape_str(src.shape()), " must match base ", shape_str(base.shape()),
           " except in dim ", d, ", where it must equal the ", n, " indices");
  if constexpr (kWithCuda) {
    if (base.device().is_cuda()) return reshape(cuda::index_add(reshape(base, bshape), d, idx, reshape(src, sshape)), base.shape());
  }
  Tensor out = base.clone();
  Tensor sc = src.contiguous();
  Split s = split_at(bshape, d);
  dispatch_float(base.dtype(), "index_add", [&]<class T>() {
    // out: (outer, size, inner) += src: (outer, n, inner) gathered through idx; repeated indices add up
    T* y = out.data<T>();
    const T* g = sc.data<T>();
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < n; ++i) {
        T* yrow = y + (o * s.size + idx[size_t(i)]) * s.inner;
        const T* grow = g + (o * n + i) * s.inner;
        for (int64_t k = 0; k < s.inner; ++k) yrow[k] += grow[k];
      }
  });
  return out;
}

Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  FK_CHECK(!xs.empty(), "cat: expected a non-empty list of tensors");
  for (size_t i = 0; i < xs.size(); ++i) {
    FK_CHECK(xs[i].defined(), "cat: tensor ", i, " is undefined");
    FK_CHECK(xs[i].dim() > 0, "cat: tensor ", i, " is 0-d and cannot be concatenated (use stack)");
    FK_CHECK(xs[i].device() == xs[0].device(), "cat: tensor ", i, " is on ", xs[i].device().str(),
             " but tensor 0 is on ", xs[0].device().str());
    FK_CHECK(xs[i].dtype() == xs[0].dtype(), "cat: tensor ", i, " has dtype ", dtype_name(xs[i].dtype()),
             " but tensor 0 has ", dtype_name(xs[0].dtype()));
  }
  // the reference for shapes: the first tensor that is not a skipped 1-d empty one
  size_t ref = 0;
  while (ref < xs.size() && cat_skips(xs[ref])) ++ref;
  if (ref == xs.size()) return empty({0}, xs[0].dtype(), xs[0].device());
  const Shape& rshape = xs[ref].shape();
  int64_t d = normalize_dim(dim, int64_t(rshape.size()), "cat");
  Shape out_shape = rshape;
  out_shape[size_t(d)] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (cat_skips(xs[i])) continue;
    const Shape& sh = xs[i].shape();
    bool ok = sh.size() == rshape.size();
    for (size_t k = 0; ok && k < sh.size(); ++k) ok = int64_t(k) == d || sh[k] == rshape[k];
    FK_CHECK(ok, "cat: tensor ", i, " has shape ", shape_str(sh), " but tensor ", ref, " has ", shape_str(rshape),
             "; sizes must match except in dim ", d);
    out_shape[size_t(d)] += sh[size_t(d)];
  }
  Tensor out = empty(out_shape, xs[ref].dtype(), xs[ref].device());
  if (out.device().is_cuda()) {  // each piece is a strided copy into its slice of out
    int64_t at = 0;
    for (const Tensor& x : xs) {
      if (cat_skips(x)) continue;
      const int64_t size = x.shape()[size_t(d)];
      copy_strided(slice(out, d, at, at + size), x);
      at += size;
    }
    return out;
  }
  // out: (outer, total, inner); tensor i fills the columns [at, at + size_i) of every outer row
  Split so = split_at(out_shape, d);
  size_t es = dtype_size(out.dtype());
  char* dst = static_cast<char*>(out.raw_data());
  int64_t at = 0;
  for (const Tensor& x : xs) {
    if (cat_skips(x)) continue;
    Tensor xc = x.contiguous();
    int64_t size = xc.shape()[size_t(d)];
    size_t block = size_t(size * so.inner) * es;
    const char* src = static_cast<const char*>(xc.raw_data());
    for (int64_t o = 0; o < so.outer; ++o)
      std::memcpy(dst + size_t(o * so.size + at) * size_t(so.inner) * es, src + size_t(o) * block, block);
    at += size;
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  FK_CHECK(!xs.empty(), "stack: expected a non-empty list of tensors");
  for (size_t i = 0; i < xs.size(); ++i) {
    FK_CHECK(xs[i].defined(), "stack: tensor ", i, " is undefined");
    FK_CHECK(xs[i].shape() == xs[0].shape(), "stack: expects each tensor to be equal size, but got ",
             shape_str(xs[0].shape()), " at entry 0 and ", shape_str(xs[i].shape()), " at entry ", i);
  }
  int64_t d = normalize_dim(dim, xs[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  parts.reserve(xs.size());
  for (const Tensor& x : xs) parts.push_back(unsqueeze(x, d));
  return cat(parts, d);
}

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value) {
  FK_CHECK(x.defined(), "pad: x is an undefined tensor");
  FK_CHECK(pads.size() % 2 == 0, "pad: padding length ", pads.size(), " must be even (pairs of left, right)");
  FK_CHECK(int64_t(pads.size()) <= 2 * x.dim(), "pad: ", pads.size(), " padding values are too many for x=",
           shape_str(x.shape()), " (at most 2 per dim)");
  // pads[2k], pads[2k+1] apply to dim (ndim - 1 - k)
  Shape out_shape = x.shape();
  Tensor src = x;  // the part of x that survives the negative pads (crops)
  std::vector<int64_t> before(size_t(x.dim()), 0);
  for (size_t k = 0; k < pads.size() / 2; ++k) {
    int64_t d = x.dim() - 1 - int64_t(k);
    int64_t lo = pads[2 * k], hi = pads[2 * k + 1], size = x.shape()[size_t(d)];
    out_shape[size_t(d)] = size + lo + hi;
    FK_CHECK(out_shape[size_t(d)] >= 0, "pad: dim ", d, " of size ", size, " padded by (", lo, ", ", hi,
             ") gives a negative size (x=", shape_str(x.shape()), ")");
    src = slice(src, d, std::max<int64_t>(-lo, 0), size - std::max<int64_t>(-hi, 0));
    before[size_t(d)] = std::max<int64_t>(lo, 0);
  }
  Tensor out = full(out_shape, value, x.dtype(), x.device());
  // the region of out that receives src: starts after the positive left pads
  Tensor dst = out;
  for (int64_t d = 0; d < x.dim(); ++d)
    dst = slice(dst, d, before[size_t(d)], before[size_t(d)] + src.shape()[size_t(d)]);
  copy_strided(dst, src);
  return out;
}

// ---- backward helpers

Tensor slice_backward(const Tensor& dy, const Shape& input_shape, int64_t dim, int64_t start, int64_t end,
                      int64_t step) {
  Tensor dx = zeros(input_shape, dy.dtype(), dy.device());
  Tensor region = slice(dx, dim, start, end, step);
  FK_CHECK(region.shape() == dy.shape(), "slice_backward: gradient ", shape_str(dy.shape()), " does not match slice ",
           shape_str(region.shape()), " of ", shape_str(input_shape));
  copy_strided(region, dy);
  return dx;
}

Tensor select_backward(const Tensor& dy, const Shape& input_shape, int64_t dim, int64_t index) {
  Tensor dx = zeros(input_shape, dy.dtype(), dy.device());
  Tensor region = select(dx, dim, index);
  FK_CHECK(region.shape() == dy.shape(), "select_backward: gradient ", shape_str(dy.shape()),
           " does not match selection ", shape_str(region.shape()), " of ", shape_str(input_shape));
  copy_strided(region, dy);
  return dx;
}

}  // namespace fk::ops
