// The geometry of the convolution, pooling and upsampling ops: what the public ops (tensor/conv.cpp,
// pool.cpp, upsample.cpp) compute from checked arguments and hand to the kernels of both devices (the
// CPU kernels of tensor/cpu/kernels_conv_pool.h and the CUDA ones of cuda/conv.h, pool.h, upsample.h).
// Tests: tests/tensor/test_conv.cpp, test_pool.cpp, test_upsample.cpp.
#pragma once

#include <cstdint>

namespace fk {

// conv2d
struct Conv2dGeometry {
  int64_t N = 0, C = 0, H = 0, W = 0;  // x: (N, C, H, W)
  int64_t OC = 0, KH = 0, KW = 0;      // weight: (OC, C/groups, KH, KW)
  int64_t OH = 0, OW = 0;              // y: (N, OC, OH, OW)
  int64_t SH = 1, SW = 1;              // stride
  int64_t PH = 0, PW = 0;              // zero padding on each side
  int64_t DH = 1, DW = 1;              // dilation
  int64_t groups = 1;
  // im2col works on chunks of images whose column matrix holds at most this many elements (at least
  // one image per chunk), forward and backward; tests shrink them to exercise the chunking
  int64_t col_budget = int64_t(1) << 23;
  int64_t backward_col_budget = int64_t(1) << 21;
};

// max / avg / adaptive-avg pooling
struct Pool2dGeometry {
  int64_t planes = 0;  // N * C: every (n, c) plane is pooled on its own
  int64_t H = 0, W = 0, OH = 0, OW = 0;
  int64_t KH = 1, KW = 1, SH = 1, SW = 1, PH = 0, PW = 0, DH = 1, DW = 1;
  bool count_include_pad = true;  // avg_pool2d only
};

// bilinear upsampling, align_corners=False
struct Upsample2dGeometry {
  int64_t planes = 0;  // N * C
  int64_t H = 0, W = 0, OH = 0, OW = 0;
  // source step per output pixel: 1/scale_factor when one was given, else H/OH (PyTorch's rule)
  double ratio_h = 1, ratio_w = 1;
};

}  // namespace fk
