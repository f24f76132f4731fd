// The CUDA kernels of the element-wise family (cuda/elementwise.cu) and of cuda::copy_strided, as
// per-index functors: f(i) computes output element i. They hold raw pointers and StridedIndex
// by value; the per-element math is a functor of tensor/cpu/elementwise_math.h, shared with the CPU.
// Two shapes of each kernel: a *Contiguous* one (operands and output contiguous, same shape: plain
// index i) and a *Strided* one (each operand read through a StridedIndex; broadcast dims have stride 0).
// Header-only and free of CUDA headers, so tests/tensor/test_cuda_kernels_elementwise.cpp runs the
// same functors on the CPU with cuda::emulate; GPU vs CPU: tests/cuda/test_elementwise.cpp.
#pragma once

#include <cstdint>

#include "cuda/launch.h"
#include "tensor/cpu/elementwise_math.h"
#include "tensor/hd.h"

// A namespace of their own: kernel functor templates of one name in two families would be an ODR
// violation (the linker keeps one launch<F> instantiation for both, silently).
namespace fk::cuda::elementwise_kernels {

// y[i] = f(x[i]); x and y contiguous (the launcher makes x contiguous, as the CPU map does).
template <class T, class R, class F>
struct UnaryKernel {
  const T* x;
  R* y;
  F f;
  FK_HD_INLINE void operator()(int64_t i) const { y[i] = f(x[i]); }
};

// y[i] = f(a[i], b[i]): a, b and y contiguous and of one shape.
template <class T, class R, class F>
struct BinaryContiguousKernel {
  const T* a;
  const T* b;
  R* y;
  F f;
  FK_HD_INLINE void operator()(int64_t i) const { y[i] = f(a[i], b[i]); }
};

// y[i] = f(a[ia(i)], b[ib(i)]): y contiguous of the broadcast shape; ia, ib map y's flat index to
// the operands' element offsets (stride 0 in the dims they are broadcast along).
template <class T, class R, class F>
struct BinaryBroadcastKernel {
  const T* a;
  const T* b;
  R* y;
  StridedIndex ia, ib;
  F f;
  FK_HD_INLINE void operator()(int64_t i) const { y[i] = f(a[ia(i)], b[ib(i)]); }
};

// y[i] = cond ? a : b, all three broadcast to y's shape.
template <class T>
struct WhereKernel {
  const bool* cond;
  const T* a;
  const T* b;
  T* y;
  StridedIndex ic, ia, ib;
  FK_HD_INLINE void operator()(int64_t i) const { y[i] = cond[ic(i)] ? a[ia(i)] : b[ib(i)]; }
};

// a[i] = f(a[i], b[i]) in place: a and b contiguous and of one shape.
template <class T, class F>
struct InplaceContiguousKernel {
  T* a;
  const T* b;
  F f;
  FK_HD_INLINE void operator()(int64_t i) const { a[i] = f(a[i], b[i]); }
};

// a[ia(i)] = f(a[ia(i)], b[ib(i)]) in place: a may be a strided view (a slice), b is broadcast to
// a's shape. Every i names a distinct element of a (a view made by slicing never overlaps itself).
template <class T, class F>
struct InplaceStridedKernel {
  T* a;
  const T* b;
  StridedIndex ia, ib;
  F f;
  FK_HD_INLINE void operator()(int64_t i) const {
    int64_t oa = ia(i);
    a[oa] = f(a[oa], b[ib(i)]);
  }
};

// dst[i] = convert(src[i]), both contiguous and of one shape (Tensor::to(DType) of a contiguous tensor).
template <class D, class S>
struct CopyContiguousKernel {
  D* dst;
  const S* src;
  FK_HD_INLINE void operator()(int64_t i) const { dst[i] = fk::elementwise::convert_value<D>(src[i]); }
};

// dst[id(i)] = convert(src[is(i)]): any strides on both sides, src possibly broadcast (stride 0).
template <class D, class S>
struct CopyStridedKernel {
  D* dst;
  const S* src;
  StridedIndex id, is;
  FK_HD_INLINE void operator()(int64_t i) const { dst[id(i)] = fk::elementwise::convert_value<D>(src[is(i)]); }
};

// y[iy(i)] = value: fills a (possibly strided) tensor.
template <class T>
struct FillKernel {
  T* y;
  StridedIndex iy;
  T value;
  FK_HD_INLINE void operator()(int64_t i) const { y[iy(i)] = value; }
};

}  // namespace fk::cuda::elementwise_kernels
