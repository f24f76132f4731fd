// The CPU kernels of conv2d, pooling and bilinear upsampling (tensor/cpu/conv.cpp, pool.cpp,
// upsample.cpp). They take raw contiguous NCHW buffers and a geometry struct (tensor/geometry.h, shared
// with the CUDA kernels) that the public ops
// (tensor/conv.cpp, pool.cpp, upsample.cpp) fill after checking the arguments, so a kernel never
// sees an invalid shape. Forward kernels assign their outputs; backward kernels assign dx (and
// dweight, dbias), they do not accumulate: the autograd engine does the accumulation.
// Instantiated for float and double. Tests: tests/tensor/test_{conv,pool,upsample}.cpp.
#pragma once

#include <cstdint>

#include "tensor/geometry.h"

namespace fk::cpu {

// ---- conv2d (tensor/cpu/conv.cpp)

// y = conv(x, w) + b via im2col + GEMM over the whole batch (b may be null).
template <class T>
void conv2d_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y);
// dx (N,C,H,W), dw (OC,C/groups,KH,KW), db (OC) from dy (N,OC,OH,OW); a null output is skipped.
// x_blocked (float32 only): x already in the blocked layout (N, Cb, H, W, 16), read instead of x by
// the blocked weight gradient (then x may be null: dx and db never read it).
template <class T>
void conv2d_backward(const Conv2dGeometry& g, const T* dy, const T* x, const T* w, T* dx, T* dw, T* db,
                     const float* x_blocked = nullptr);
// The specification: seven plain nested loops, y[n,oc,oh,ow] = b[oc] + sum x[...] * w[...].
// Slow; tests check conv2d_forward against it.
template <class T>
void conv2d_reference(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y);

// ---- pooling (tensor/cpu/pool.cpp)

// y (planes, OH, OW) and idx (planes, OH, OW): flat index ih*W + iw of each window's maximum;
// idx may be null when no indices are wanted (inference)
template <class T>
void max_pool2d_forward(const Pool2dGeometry& g, const T* x, T* y, int64_t* idx);
// dx = 0; dx[idx] += dy
template <class T>
void max_pool2d_backward(const Pool2dGeometry& g, const T* dy, const int64_t* idx, T* dx);
template <class T>
void avg_pool2d_forward(const Pool2dGeometry& g, const T* x, T* y);
template <class T>
void avg_pool2d_backward(const Pool2dGeometry& g, const T* dy, T* dx);
// window i spans [floor(i*H/OH), ceil((i+1)*H/OH)); only planes/H/W/OH/OW of g are used
template <class T>
void adaptive_avg_pool2d_forward(const Pool2dGeometry& g, const T* x, T* y);
template <class T>
void adaptive_avg_pool2d_backward(const Pool2dGeometry& g, const T* dy, T* dx);

// ---- bilinear upsampling, align_corners=False (tensor/cpu/upsample.cpp)

template <class T>
void upsample_bilinear2d_forward(const Upsample2dGeometry& g, const T* x, T* y);
// the adjoint of forward: dx = 0, then every dy scatters to its four source pixels
template <class T>
void upsample_bilinear2d_backward(const Upsample2dGeometry& g, const T* dy, T* dx);

}  // namespace fk::cpu
