// Making tensors: empty/zeros/ones/full/arange, random (randn/rand/randint from the seeded
// default generator, see random.h), and from C++ data. Matches torch.zeros, torch.arange, ...
#pragma once

#include <initializer_list>
#include <vector>

#include "tensor/tensor.h"

namespace fk {

Tensor empty(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());
Tensor zeros(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());
Tensor ones(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());
Tensor full(const Shape& shape, double value, DType dtype = DType::Float32, Device device = Device::cpu());
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
Tensor empty_like(const Tensor& t);
// A CPU tensor whose elements are left uninitialised (empty() zero-fills): for kernels that write
// every element, so no pass over memory is wasted.
Tensor empty_uninitialized(const Shape& shape, DType dtype = DType::Float32);
// [start, end) in steps of `step`, like torch.arange (length ceil((end-start)/step)).
Tensor arange(double start, double end, double step = 1.0, DType dtype = DType::Float32);
inline Tensor arange(double end, DType dtype = DType::Float32) { return arange(0.0, end, 1.0, dtype); }

// Standard normal, uniform [0,1), and integers in [low, high) from the default generator.
Tensor randn(const Shape& shape, DType dtype = DType::Float32);
Tensor rand(const Shape& shape, DType dtype = DType::Float32);
Tensor randint(int64_t low, int64_t high, const Shape& shape);

// A copy of `numel_of(shape)` elements at `data`, which hold values of `dtype`.
Tensor from_buffer(const void* data, const Shape& shape, DType dtype);
// Convenience for tests and examples: fk::tensor({1, 2, 3, 4}, {2, 2}); float64 with DType::Float64.
Tensor tensor(const std::vector<double>& values, const Shape& shape, DType dtype = DType::Float32);
Tensor tensor(const std::vector<double>& values, DType dtype = DType::Float32);  // 1-d
// A 0-d tensor holding one value.
Tensor scalar_tensor(double value, DType dtype = DType::Float32);

}  // namespace fk
