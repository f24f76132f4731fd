// The per-index CUDA kernels of the copying shape ops (tensor/shape_ops.h) that are not a plain
// strided copy: index_select and index_add, plus atomic_add, the accumulation that index_add and
// max_pool2d_backward share. Both ops see their data as (outer, size, inner) around `dim`
// (contiguous), the same split as the CPU loops in tensor/shape_ops.cpp:
//   index_select: out[o, i, k]  = x[o, index[i], k]          (one work item per output element)
//   index_add:    out[o, index[i], k] += src[o, i, k]         (one work item per src element; repeated
//                                                             indices meet in atomic_add)
// Header-only, compiles with g++ too: tests/tensor/test_cuda_kernels_shape.cpp runs the functors on
// the CPU with cuda::emulate; tests/cuda/test_shape_ops.cpp compares the GPU with the CPU.
#pragma once

#include <cstdint>

#include "cuda/launch.h"
#include "tensor/hd.h"

namespace fk::cuda {

// *p += v; on the GPU an atomicAdd (threads may hit one element), on the CPU (emulation) a plain add.
template <class T>
FK_HD_INLINE void atomic_add(T* p, T v) {
#if defined(__CUDA_ARCH__)
  atomicAdd(p, v);
#else
  *p += v;
#endif
}

// out: (outer, n, inner) = x: (outer, size, inner) gathered along the middle dim. E is an unsigned
// integer of the element's size: the copy moves bits, so one kernel serves every dtype.
template <class E>
struct IndexSelectKernel {
  const E* x;
  const int64_t* index;  // (n), every entry in [0, size): checked on the host
  E* out;
  int64_t n, size, inner;
  FK_HD_INLINE void operator()(int64_t j) const {
    const int64_t k = j % inner;
    const int64_t i = (j / inner) % n;
    const int64_t o = j / (inner * n);
    out[j] = x[(o * size + index[i]) * inner + k];
  }
};

// out: (outer, size, inner) += src: (outer, n, inner) scattered along the middle dim.
template <class T>
struct IndexAddKernel {
  const T* src;
  const int64_t* index;  // (n), every entry in [0, size)
  T* out;
  int64_t n, size, inner;
  FK_HD_INLINE void operator()(int64_t j) const {
    const int64_t k = j % inner;
    const int64_t i = (j / inner) % n;
    const int64_t o = j / (inner * n);
    atomic_add(out + (o * size + index[i]) * inner + k, src[j]);
  }
};

}  // namespace fk::cuda
