// Tensor factories (see creation.h). empty/zeros/full/ones are made on the asked device directly (full
// on a GPU: cuda::fill_); the rest is made on the CPU.
#include "tensor/creation.h"

#include <cmath>
#include <cstring>

#include "tensor/dispatch.h"
#include "tensor/random.h"

#if defined(FK_WITH_CUDA)
#include "cuda/elementwise.h"
#endif

namespace fk {

Tensor empty(const Shape& shape, DType dtype, Device device) {
  // The product of the dims (each at least 1, as the strides use them) and the byte count must fit
  // in int64: shapes can come from files, and an overflow here would be undefined behaviour.
  int64_t extent = 1, nbytes = 0;
  for (int64_t s : shape) {
    FK_CHECK(s >= 0, "empty: negative dimension in shape ", shape_str(shape));
    FK_CHECK(!__builtin_mul_overflow(extent, std::max<int64_t>(s, 1), &extent), "empty: shape ", shape_str(shape),
             " is too large");
  }
  FK_CHECK(!__builtin_mul_overflow(numel_of(shape), int64_t(dtype_size(dtype)), &nbytes), "empty: shape ",
           shape_str(shape), " is too large");
  auto storage = std::make_shared<Storage>(size_t(nbytes), device);
  return Tensor(storage, shape, contiguous_strides(shape), 0, dtype);
}

Tensor zeros(const Shape& shape, DType dtype, Device device) { return empty(shape, dtype, device); }

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
#if defined(FK_WITH_CUDA)
  if (device.is_cuda()) {  // filled in place on the GPU (empty() is zeroed already)
    Tensor t = empty(shape, dtype, device);
    if (value != 0.0) cuda::fill_(t, value);
    return t;
  }
#endif
  Tensor t = empty(shape, dtype, Device::cpu());
  if (value != 0.0) {
    dispatch_all(dtype, "full", [&]<class T>() {
      T* p = t.data<T>();
      for (int64_t i = 0; i < t.numel(); ++i) p[i] = T(value);
    });
  }
  return t.to(device);
}

Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype(), t.device()); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, t.dtype(), t.device()); }
Tensor empty_uninitialized(const Shape& shape, DType dtype) {
  int64_t nbytes = 0;
  for (int64_t s : shape) FK_CHECK(s >= 0, "empty_uninitialized: negative dimension in shape ", shape_str(shape));
  FK_CHECK(!__builtin_mul_overflow(numel_of(shape), int64_t(dtype_size(dtype)), &nbytes), "empty_uninitialized: shape ",
           shape_str(shape), " is too large");
  auto storage = std::make_shared<Storage>(size_t(nbytes), Storage::Uninitialized{});
  return Tensor(storage, shape, contiguous_strides(shape), 0, dtype);
}

Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype(), t.device()); }

Tensor arange(double start, double end, double step, DType dtype) {
  FK_CHECK(step != 0.0, "arange: step must be non-zero");
  FK_CHECK(std::isfinite(start) && std::isfinite(end), "arange: start and end must be finite");
  int64_t n = std::max<int64_t>(0, int64_t(std::ceil((end - start) / step)));
  Tensor t = empty({n}, dtype);
  dispatch_all(dtype, "arange", [&]<class T>() {
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = T(start + double(i) * step);
  });
  return t;
}

Tensor randn(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  Generator& g = default_generator();
  dispatch_float(dtype, "randn", [&]<class T>() {
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = T(g.normal());
  });
  return t;
}

Tensor rand(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  Generator& g = default_generator();
  dispatch_float(dtype, "rand", [&]<class T>() {
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = T(g.uniform());
  });
  return t;
}

Tensor randint(int64_t low, int64_t high, const Shape& shape) {
  Tensor t = empty(shape, DType::Int64);
  Generator& g = default_generator();
  int64_t* p = t.data<int64_t>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = g.randint(low, high);
  return t;
}

Tensor from_buffer(const void* data, const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  if (t.numel() > 0) std::memcpy(t.raw_data(), data, size_t(t.numel()) * dtype_size(dtype));
  return t;
}

Tensor tensor(const std::vector<double>& values, const Shape& shape, DType dtype) {
  FK_CHECK(int64_t(values.size()) == numel_of(shape), "tensor: ", values.size(), " values do not fill shape ",
           shape_str(shape));
  Tensor f64 = from_buffer(values.data(), shape, DType::Float64);
  return f64.to(dtype);
}

Tensor tensor(const std::vector<double>& values, DType dtype) {
  return tensor(values, Shape{int64_t(values.size())}, dtype);
}

Tensor scalar_tensor(double value, DType dtype) { return full({}, value, dtype); }

}  // namespace fk
