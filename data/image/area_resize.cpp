// Area resizing (area_resize.h).
#include "data/image/area_resize.h"

#include <vector>

#include "tensor/cpu/pool_math.h"
#include "tensor/error.h"

namespace fk::data {

void resize_area(const float* image, int64_t C, int64_t H, int64_t W, AreaWindow win, int64_t oh, int64_t ow,
                 float sub, float mul, float* out, int64_t r0, int64_t r1) {
  FK_CHECK(win.y0 >= 0 && win.x0 >= 0 && win.y1 <= H && win.x1 <= W && win.y0 < win.y1 && win.x0 < win.x1 && oh > 0 &&
               ow > 0 && 0 <= r0 && r0 <= r1 && r1 <= oh,
           "resize_area: window rows ", win.y0, "..", win.y1, " columns ", win.x0, "..", win.x1, " of a ", H, "x", W,
           " image to ", oh, "x", ow, " (rows ", r0, "..", r1, ")");
  const int64_t h = win.y1 - win.y0, w = win.x1 - win.x0;
  thread_local std::vector<int64_t> c0, c1;  // output column j sums columns [c0[j], c1[j]) of the window
  c0.resize(size_t(ow));
  c1.resize(size_t(ow));
  for (int64_t j = 0; j < ow; ++j) {
    c0[j] = cpu::adaptive_start(j, w, ow);
    c1[j] = cpu::adaptive_end(j, w, ow);
  }
  // per output row: the window's rows summed column by column over [x0, x1) (contiguous, vectorised),
  // then each output's columns of that sum
  thread_local std::vector<float> colsum;
  colsum.resize(size_t(w));
  for (int64_t c = 0; c < C; ++c) {
    const float* plane = image + c * H * W + win.x0;
    for (int64_t i = r0; i < r1; ++i) {
      const int64_t y0 = win.y0 + cpu::adaptive_start(i, h, oh), y1 = win.y0 + cpu::adaptive_end(i, h, oh);
      float* cs = colsum.data();
      const float* first = plane + y0 * W;
      for (int64_t x = 0; x < w; ++x) cs[x] = first[x];
      for (int64_t y = y0 + 1; y < y1; ++y) {
        const float* row = plane + y * W;
        for (int64_t x = 0; x < w; ++x) cs[x] += row[x];
      }
      float* o = out + (c * oh + i) * ow;
      for (int64_t j = 0; j < ow; ++j) {
        float s = 0.0f;
        for (int64_t x = c0[j]; x < c1[j]; ++x) s += cs[x];
        const float v = s / float((y1 - y0) * (c1[j] - c0[j]));
        o[j] = (v - sub) * mul;
      }
    }
  }
}

}  // namespace fk::data
