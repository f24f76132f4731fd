// Helpers every op uses: dtype dispatch to a templated kernel, and the argument checks whose
// messages name the op and the shapes.
//
//   dispatch_float(x.dtype(), "relu", [&]<class T>() { cpu::relu_forward<T>(...); });
#pragma once

#include "tensor/tensor.h"

namespace fk {

template <class F>
void dispatch_float(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::Float32: f.template operator()<float>(); return;
    case DType::Float64: f.template operator()<double>(); return;
    default:
      throw Error(detail::concat(op, ": unsupported dtype ", dtype_name(dtype),
                                 " (ops compute in float32 or float64; convert with .to(DType::Float32))"));
  }
}

// float32/float64/int64/uint8/bool: for copies, comparisons, index and shape ops.
template <class F>
void dispatch_all(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::Float32: f.template operator()<float>(); return;
    case DType::Float64: f.template operator()<double>(); return;
    case DType::Int64: f.template operator()<int64_t>(); return;
    case DType::UInt8: f.template operator()<uint8_t>(); return;
    case DType::Bool: f.template operator()<bool>(); return;
    default:
      throw Error(detail::concat(op, ": unsupported dtype ", dtype_name(dtype), " (convert with .to(DType::Float32))"));
  }
}

// x is defined, on the CPU (until the CUDA backend dispatches there) and float32/float64.
void check_float_input(const Tensor& x, const char* op, const char* arg);
// a and b share dtype and device.
void check_same_type(const Tensor& a, const Tensor& b, const char* op);
// x.dim() == n.
void check_dim(const Tensor& x, int64_t n, const char* op, const char* arg);
// Throws "<op>: not implemented on CUDA yet" for CUDA inputs (ops gain CUDA kernels in issue 7).
void check_cpu(const Tensor& x, const char* op);

}  // namespace fk
