// The CUDA launchers of index_select and index_add (cuda/shape.h): the data is seen as
// (outer, size, inner) around `dim`, the checked host indices are uploaded, and the functors of
// cuda/shape_kernels.h run on the current stream. Tests: tests/cuda/test_shape_ops.cpp.
#include "cuda/shape.h"

#include "cuda/copy.h"
#include "cuda/launch.h"
#include "cuda/shape_kernels.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"

namespace fk::cuda {

// The indices as an int64 tensor on `device`.
static Tensor upload(const std::vector<int64_t>& index, Device device) {
  return from_buffer(index.data(), {int64_t(index.size())}, DType::Int64).to(device);
}

// (outer, inner) of `shape` around dim.
static void outer_inner(const Shape& shape, int64_t dim, int64_t& outer, int64_t& inner) {
  outer = inner = 1;
  for (int64_t d = 0; d < int64_t(shape.size()); ++d) {
    if (d < dim) outer *= shape[size_t(d)];
    if (d > dim) inner *= shape[size_t(d)];
  }
}

Tensor index_select(const Tensor& x, int64_t dim, const std::vector<int64_t>& index) {
  Tensor xc = x.contiguous();
  Shape out_shape = x.shape();
  out_shape[size_t(dim)] = int64_t(index.size());
  Tensor out = empty(out_shape, x.dtype(), x.device());  // out: (outer, n, inner)
  if (out.numel() == 0) return out;
  Tensor idx = upload(index, x.device());
  int64_t outer, inner;
  outer_inner(x.shape(), dim, outer, inner);
  const int64_t n = int64_t(index.size()), size = x.shape()[size_t(dim)];
  // the copy moves bits: one kernel per element size serves every dtype
  auto run = [&]<class E>() {
    launch(out.numel(),
           IndexSelectKernel<E>{static_cast<const E*>(xc.raw_data()), ptr<int64_t>(idx), static_cast<E*>(out.raw_data()),
                                n, size, inner},
           x.device().index);
  };
  switch (dtype_size(x.dtype())) {
    case 1: run.template operator()<uint8_t>(); break;
    case 2: run.template operator()<uint16_t>(); break;
    case 4: run.template operator()<uint32_t>(); break;
    default: run.template operator()<uint64_t>(); break;
  }
  return out;
}

Tensor index_add(const Tensor& base, int64_t dim, const std::vector<int64_t>& index, const Tensor& src) {
  Tensor out = empty(base.shape(), base.dtype(), base.device());  // out: (outer, size, inner) = base
  copy_strided(out, base);
  Tensor sc = src.contiguous();  // src: (outer, n, inner)
  if (sc.numel() == 0) return out;
  Tensor idx = upload(index, base.device());
  int64_t outer, inner;
  outer_inner(base.shape(), dim, outer, inner);
  const int64_t n = int64_t(index.size()), size = base.shape()[size_t(dim)];
  dispatch_float(base.dtype(), "index_add", [&]<class T>() {
    launch(sc.numel(), IndexAddKernel<T>{ptr<T>(sc), ptr<int64_t>(idx), ptr<T>(out), n, size, inner},
           base.device().index);
  });
  return out;
}

}  // namespace fk::cuda
