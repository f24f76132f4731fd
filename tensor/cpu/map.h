// The element-wise loop kernels behind tensor/elementwise.cpp: map a functor over one tensor, or
// over two with NumPy broadcasting. Fast path: contiguous operands of equal shape run as one flat
// loop split across threads; otherwise a strided walk (tensor/iterate.h) with broadcast strides.
#pragma once

#include "tensor/creation.h"
#include "tensor/iterate.h"
#include "tensor/parallel.h"

namespace fk::cpu {

constexpr int64_t kElementwiseGrain = 32768;  // below this one thread is faster than waking others

// y[i] = f(x[i]); y is a new contiguous tensor of dtype R.
template <class T, class R, class F>
Tensor map_unary(const Tensor& x_in, DType out_dtype, F f) {
  Tensor x = x_in.contiguous();
  Tensor y = empty_uninitialized(x.shape(), out_dtype);  // every element written below
  const T* xp = x.data<T>();
  R* yp = y.data<R>();
  parallel_for(x.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) yp[i] = f(xp[i]);
  });
  return y;
}

// y = f(a, b) over the broadcast shape of a and b.
template <class T, class R, class F>
Tensor map_binary(const Tensor& a, const Tensor& b, const Shape& out_shape, DType out_dtype, F f) {
  Tensor y = empty_uninitialized(out_shape, out_dtype);  // every element written below
  R* yp = y.data<R>();
  if (a.shape() == out_shape && b.shape() == out_shape && a.is_contiguous() && b.is_contiguous()) {
    const T* ap = a.data<T>();
    const T* bp = b.data<T>();
    parallel_for(y.numel(), kElementwiseGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) yp[i] = f(ap[i], bp[i]);
    });
    return y;
  }
  const T* ap = a.data<T>();
  const T* bp = b.data<T>();
  Shape sa = broadcast_strides(a.shape(), a.strides(), out_shape);
  Shape sb = broadcast_strides(b.shape(), b.strides(), out_shape);
  int64_t i = 0;
  for_each_offset2(out_shape, sa, sb, [&](int64_t oa, int64_t ob) { yp[i++] = f(ap[oa], bp[ob]); });
  return y;
}

// a[i] = f(a[i], b[i]) in place, b broadcast to a's shape; a may be strided.
template <class T, class F>
void map_inplace(Tensor& a, const Tensor& b, F f) {
  T* ap = a.data<T>();
  const T* bp = b.data<T>();
  if (a.is_contiguous() && b.is_contiguous() && a.shape() == b.shape()) {
    parallel_for(a.numel(), kElementwiseGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) ap[i] = f(ap[i], bp[i]);
    });
    return;
  }
  Shape sb = broadcast_strides(b.shape(), b.strides(), a.shape());
  for_each_offset2(a.shape(), a.strides(), sb, [&](int64_t oa, int64_t ob) { ap[oa] = f(ap[oa], bp[ob]); });
}

}  // namespace fk::cpu
