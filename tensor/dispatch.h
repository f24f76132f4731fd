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

// Whether this build has CUDA (CMake option FK_CUDA). An op routes a GPU tensor to its CUDA kernel
// (declared in cuda/<family>.h) with
//   if constexpr (kWithCuda) {
//     if (x.device().is_cuda()) return cuda::relu(x);
//   }
// Without CUDA the branch is a discarded statement: compiled away, so the cuda:: functions it names
// need no definition (and no tensor can be on a GPU anyway).
#if defined(FK_WITH_CUDA)
inline constexpr bool kWithCuda = true;
#else
inline constexpr bool kWithCuda = false;
#endif

// x is defined and float32/float64 (any device: the CPU kernels check their own inputs' device).
void check_float_input(const Tensor& x, const char* op, const char* arg);
// a and b share dtype and device.
void check_same_type(const Tensor& a, const Tensor& b, const char* op);
// x.dim() == n.
void check_dim(const Tensor& x, int64_t n, const char* op, const char* arg);
// Throws "<op>: ... has no CUDA kernel" for CUDA inputs: CPU-only ops call it first.
void check_cpu(const Tensor& x, const char* op);

}  // namespace fk
