// The per-index CUDA kernels of index_select and index_add (cuda/shape_kernels.h) run on the CPU with
// cuda::emulate against the CPU ops (tensor/shape_ops.h): every dim of a 3-d tensor, repeated
// indices, several dtypes for index_select (the kernel moves bits), float64 and float32 for index_add.
#include "cuda/shape_kernels.h"
#include "test_util.h"

using namespace fk;

namespace {

// (outer, inner) of `shape` around dim.
std::pair<int64_t, int64_t> outer_inner(const Shape& shape, int64_t dim) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < int64_t(shape.size()); ++d) {
    if (d < dim) outer *= shape[size_t(d)];
    if (d > dim) inner *= shape[size_t(d)];
  }
  return {outer, inner};
}

template <class E>
Tensor emulate_index_select(const Tensor& x, int64_t dim, const std::vector<int64_t>& idx) {
  Shape out_shape = x.shape();
  out_shape[size_t(dim)] = int64_t(idx.size());
  Tensor out = zeros(out_shape, x.dtype());
  const auto [outer, inner] = outer_inner(x.shape(), dim);
  (void)outer;
  cuda::emulate(out.numel(), cuda::IndexSelectKernel<E>{static_cast<const E*>(x.raw_data()), idx.data(),
                                                         static_cast<E*>(out.raw_data()), int64_t(idx.size()),
                                                         x.shape()[size_t(dim)], inner});
  return out;
}

template <class T>
Tensor emulate_index_add(const Tensor& base, int64_t dim, const std::vector<int64_t>& idx, const Tensor& src) {
  Tensor out = base.clone();
  const auto [outer, inner] = outer_inner(base.shape(), dim);
  (void)outer;
  cuda::emulate(src.numel(), cuda::IndexAddKernel<T>{src.data<T>(), idx.data(), out.data<T>(), int64_t(idx.size()),
                                                      base.shape()[size_t(dim)], inner});
  return out;
}

const std::vector<int64_t> kIndex = {2, 0, 2, 1, 2};  // repeated entries

}  // namespace

TEST_CASE("cuda shape kernels: index_select emulated equals the CPU op on every dim and dtype") {
  manual_seed(3);
  const Shape shape{3, 4, 5};
  for (int64_t dim = 0; dim < 3; ++dim) {
    CAPTURE(dim);
    Tensor idx = tensor({2, 0, 2, 1, 2}, DType::Int64);
    Tensor xf = randn(shape, DType::Float32), xd = randn(shape, DType::Float64);
    Tensor xi = randint(-50, 50, shape);  // int64
    Tensor xb = xi.to(DType::UInt8);
    CHECK_CLOSE(emulate_index_select<uint32_t>(xf, dim, kIndex), ops::index_select(xf, dim, idx), 0, 0, "float32");
    CHECK_CLOSE(emulate_index_select<uint64_t>(xd, dim, kIndex), ops::index_select(xd, dim, idx), 0, 0, "float64");
    CHECK_CLOSE(emulate_index_select<uint64_t>(xi, dim, kIndex), ops::index_select(xi, dim, idx), 0, 0, "int64");
    CHECK_CLOSE(emulate_index_select<uint8_t>(xb, dim, kIndex), ops::index_select(xb, dim, idx), 0, 0, "uint8");
  }
}

TEST_CASE("cuda shape kernels: index_add emulated equals the CPU op, repeated indices add up") {
  manual_seed(4);
  const Shape shape{3, 4, 5};
  Tensor idx = tensor({2, 0, 2, 1, 2}, DType::Int64);
  for (int64_t dim = 0; dim < 3; ++dim) {
    CAPTURE(dim);
    Shape sshape = shape;
    sshape[size_t(dim)] = 5;
    Tensor base = randn(shape, DType::Float64), src = randn(sshape, DType::Float64);
    CHECK_CLOSE(emulate_index_add<double>(base, dim, kIndex, src), ops::index_add(base, dim, idx, src), 1e-12, 1e-12,
                "index_add float64");
    Tensor bf = base.to(DType::Float32), sf = src.to(DType::Float32);
    CHECK_CLOSE(emulate_index_add<float>(bf, dim, kIndex, sf), ops::index_add(bf, dim, idx, sf), 1e-6, 1e-6,
                "index_add float32");
  }
  // hand-worked: three adds land on row 2
  Tensor out = emulate_index_add<double>(zeros({3, 1}, DType::Float64), 0, kIndex,
                                         tensor({1, 10, 100, 1000, 10000}, {5, 1}, DType::Float64));
  CHECK(out.to_vector<double>() == std::vector<double>{10, 1000, 10101});
}
