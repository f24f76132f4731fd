// Walking a strided tensor in row-major order: the one loop that contiguous(), broadcasting and
// the element-wise kernels share. `fn(offset)` receives the element offset (in elements, relative to
// the tensor's own offset) of each index in turn; the innermost dimension runs as a plain loop.
#pragma once

#include <vector>

#include "tensor/shape.h"

namespace fk {

// fn(int64_t offset) for every index of `shape`, offsets computed with `strides`.
template <class Fn>
void for_each_offset(const Shape& shape, const Shape& strides, Fn&& fn) {
  size_t nd = shape.size();
  for (int64_t s : shape)
    if (s == 0) return;
  if (nd == 0) {
    fn(int64_t(0));
    return;
  }
  std::vector<int64_t> idx(nd, 0);
  int64_t inner = shape[nd - 1], inner_stride = strides[nd - 1];
  int64_t base = 0;
  while (true) {
    for (int64_t i = 0; i < inner; ++i) fn(base + i * inner_stride);
    // odometer increment over the outer dims
    size_t d = nd - 1;
    while (d-- > 0) {
      base += strides[d];
      if (++idx[d] < shape[d]) break;
      base -= strides[d] * shape[d];
      idx[d] = 0;
    }
    if (d == size_t(-1)) return;
  }
}

// The same walk over two tensors at once (e.g. a broadcast operand and the output).
template <class Fn>
void for_each_offset2(const Shape& shape, const Shape& sa, const Shape& sb, Fn&& fn) {
  size_t nd = shape.size();
  for (int64_t s : shape)
    if (s == 0) return;
  if (nd == 0) {
    fn(int64_t(0), int64_t(0));
    return;
  }
  std::vector<int64_t> idx(nd, 0);
  int64_t inner = shape[nd - 1], ia = sa[nd - 1], ib = sb[nd - 1];
  int64_t a = 0, b = 0;
  while (true) {
    for (int64_t i = 0; i < inner; ++i) fn(a + i * ia, b + i * ib);
    size_t d = nd - 1;
    while (d-- > 0) {
      a += sa[d];
      b += sb[d];
      if (++idx[d] < shape[d]) break;
      a -= sa[d] * shape[d];
      b -= sb[d] * shape[d];
      idx[d] = 0;
    }
    if (d == size_t(-1)) return;
  }
}

}  // namespace fk
