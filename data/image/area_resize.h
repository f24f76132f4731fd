// Area (box-filter) resizing of float images: torch's interpolate(mode="area"), i.e.
// adaptive_avg_pool2d, which facenet-pytorch's MTCNN uses for its image pyramid and for its crops.
// Output pixel (i, j) of a window of rows [y0, y1) and columns [x0, x1) resized to oh x ow is
//   v = S / n,  S = sum of the input over rows R_i x columns C_j, n = |R_i| * |C_j|,
//   R_i = [y0 + floor(i*h/oh), y0 + ceil((i+1)*h/oh)),  C_j likewise with w = x1 - x0 (pool_math.h),
// written as (v - sub) * mul (MTCNN's normalisation, (v - 127.5) * 0.0078125, in the same two steps).
// S is computed separably (column sums over R_i, vectorised, then their sum over C_j): O(oh*|R|*w +
// oh*w) per channel instead of O(oh*ow*|R|*|C|). The order of the additions differs from adaptive_avg_pool2d's, so the
// results are bit-identical for integer-valued images (every partial sum below 2^24 is exact: any
// 8-bit photo up to 65,000 pixels per window) and within rounding otherwise.
// Tests: tests/data/image/test_area_resize.cpp.
#pragma once

#include <cstdint>

namespace fk::data {

struct AreaWindow {
  int64_t y0, y1, x0, x1;  // rows [y0, y1), columns [x0, x1) of the source, inside it, non-empty
};

// image: (C, H, W) contiguous float; out: (C, oh, ow) contiguous. Output rows [r0, r1) only (the
// caller splits the work across threads; r1 = oh for all). Single-threaded.
void resize_area(const float* image, int64_t C, int64_t H, int64_t W, AreaWindow win, int64_t oh, int64_t ow,
                 float sub, float mul, float* out, int64_t r0, int64_t r1);

}  // namespace fk::data
