// CPU kernels of max_pool2d, avg_pool2d and adaptive_avg_pool2d (torch.nn.functional.*), forward and
// backward. Every (n, c) plane is pooled on its own, so the loops run over planes with OpenMP.
// Window of output (oh, ow): rows oh*SH - PH + kh*DH for kh in [0, KH), columns likewise.
//  - max: padded positions never win (they act as -inf); a NaN wins, as in PyTorch. The flat index
//    ih*W + iw of the winner is saved for backward, which scatters dy there.
//  - avg: the divisor is the window clipped to the padded input [-PH, H+PH) (count_include_pad) or
//    to the input itself (count_include_pad=False), exactly as PyTorch's avg_pool2d.
//  - adaptive avg: window i spans [floor(i*H/OH), ceil((i+1)*H/OH)).
// The window arithmetic lives in tensor/cpu/pool_math.h, shared with the CUDA kernels (cuda/pool_kernels.h).
// Tests: tests/tensor/test_pool.cpp, tests/autograd/test_pool_grad.cpp.
#include <algorithm>
#include <cmath>
#include <limits>

#include "tensor/cpu/kernels_conv_pool.h"
#include "tensor/cpu/pool_math.h"
#include "tensor/parallel.h"

namespace fk::cpu {

// planes per OpenMP chunk so that a chunk does at least ~16k window reads
static int64_t plane_grain(int64_t work_per_plane) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, work_per_plane));
}

// The window loop of one plane; WithIndex picks whether the argmax is tracked (autograd needs it,
// inference does not, and leaving it out lets the compiler keep `best` in a register).
template <class T, bool WithIndex>
static void max_pool2d_plane(const Pool2dGeometry& g, const T* xp, T* yp, int64_t* ip) {
  if (g.KH == 1 && g.KW == 1 && g.PH == 0 && g.PW == 0 && (g.OH - 1) * g.SH < g.H && (g.OW - 1) * g.SW < g.W) {
    // a 1x1 window (the IR blocks' strided shortcut): a strided copy, the one tap the argmax
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        const int64_t i = oh * g.SH * g.W + ow * g.SW;
        yp[oh * g.OW + ow] = xp[i];
        if constexpr (WithIndex) ip[oh * g.OW + ow] = i;
      }
    return;
  }
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    // first in-bounds tap and end of the window's rows (dilated taps only)
    const MaxWindow wh = max_window(oh, g.KH, g.SH, g.PH, g.DH, g.H);
    const int64_t ih0 = wh.i0, ih1 = wh.i1;
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      const MaxWindow ww = max_window(ow, g.KW, g.SW, g.PW, g.DW, g.W);
      const int64_t iw0 = ww.i0, iw1 = ww.i1;
      T best = -std::numeric_limits<T>::infinity();
      // PyTorch starts the index at the first in-bounds tap (it wins when every value is -inf);
      // -1 marks a window with no in-bounds tap at all (possible only with large dilation)
      int64_t best_i = (ih0 < ih1 && iw0 < iw1) ? ih0 * g.W + iw0 : -1;
      for (int64_t ih = ih0; ih < ih1; ih += g.DH)
        for (int64_t iw = iw0; iw < iw1; iw += g.DW) {
          const T v = xp[ih * g.W + iw];
          if (v > best || std::isnan(v)) {  // NaN wins (the last NaN's index), as in PyTorch
            best = v;
            if constexpr (WithIndex) best_i = ih * g.W + iw;
          }
        }
      yp[oh * g.OW + ow] = best;
      if constexpr (WithIndex) ip[oh * g.OW + ow] = best_i;
    }
  }
}

template <class T>
void max_pool2d_forward(const Pool2dGeometry& g, const T* x, T* y, int64_t* idx) {
  // x: (planes, H, W); y, idx: (planes, OH, OW); idx may be null (no indices wanted)
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  parallel_for(g.planes, plane_grain(OHW * g.KH * g.KW), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      if (idx)
        max_pool2d_plane<T, true>(g, x + p * HW, y + p * OHW, idx + p * OHW);
      else
        max_pool2d_plane<T, false>(g, x + p * HW, y + p * OHW, nullptr);
    }
  });
}

template <class T>
void max_pool2d_backward(const Pool2dGeometry& g, const T* dy, const int64_t* idx, T* dx) {
  // dx[argmax] += dy; every other input position gets 0
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  parallel_for(g.planes, plane_grain(OHW + HW), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      T* dxp = dx + p * HW;
      const T* dyp = dy + p * OHW;
      const int64_t* ip = idx + p * OHW;
      std::fill(dxp, dxp + HW, T(0));
      for (int64_t o = 0; o < OHW; ++o)
        if (ip[o] >= 0 && ip[o] < HW) dxp[ip[o]] += dyp[o];
    }
  });
}

template <class T>
void avg_pool2d_forward(const Pool2dGeometry& g, const T* x, T* y) {
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  parallel_for(g.planes, plane_grain(OHW * g.KH * g.KW), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const T* xp = x + p * HW;  // x: (planes, H, W)
      T* yp = y + p * OHW;       // y: (planes, OH, OW)
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        const AvgWindow wh = avg_window(oh, g.KH, g.SH, g.PH, g.H);
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const AvgWindow ww = avg_window(ow, g.KW, g.SW, g.PW, g.W);
          if (wh.i0 >= wh.i1 || ww.i0 >= ww.i1) {  // the window lies entirely in the padding
            yp[oh * g.OW + ow] = T(0);
            continue;
          }
          T sum = 0;
          for (int64_t ih = wh.i0; ih < wh.i1; ++ih)
            for (int64_t iw = ww.i0; iw < ww.i1; ++iw) sum += xp[ih * g.W + iw];
          const int64_t divisor = avg_divisor(wh, ww, g.count_include_pad);
          yp[oh * g.OW + ow] = sum / T(divisor);
        }
      }
    }
  });
}

template <class T>
void avg_pool2d_backward(const Pool2dGeometry& g, const T* dy, T* dx) {
  // dx[i] = sum over the windows containing i of dy / divisor
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  parallel_for(g.planes, plane_grain(OHW * g.KH * g.KW + HW), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      T* dxp = dx + p * HW;
      const T* dyp = dy + p * OHW;
      std::fill(dxp, dxp + HW, T(0));
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        const AvgWindow wh = avg_window(oh, g.KH, g.SH, g.PH, g.H);
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const AvgWindow ww = avg_window(ow, g.KW, g.SW, g.PW, g.W);
          if (wh.i0 >= wh.i1 || ww.i0 >= ww.i1) continue;
          const int64_t divisor = avg_divisor(wh, ww, g.count_include_pad);
          const T d = dyp[oh * g.OW + ow] / T(divisor);
          for (int64_t ih = wh.i0; ih < wh.i1; ++ih)
            for (int64_t iw = ww.i0; iw < ww.i1; ++iw) dxp[ih * g.W + iw] += d;
        }
      }
    }
  });
}

template <class T>
void adaptive_avg_pool2d_forward(const Pool2dGeometry& g, const T* x, T* y) {
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  parallel_for(g.planes, plane_grain(std::max(HW, OHW)), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const T* xp = x + p * HW;  // x: (planes, H, W)
      T* yp = y + p * OHW;       // y: (planes, OH, OW)
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        const int64_t ih0 = adaptive_start(oh, g.H, g.OH), ih1 = adaptive_end(oh, g.H, g.OH);
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const int64_t iw0 = adaptive_start(ow, g.W, g.OW), iw1 = adaptive_end(ow, g.W, g.OW);
          T sum = 0;
          for (int64_t ih = ih0; ih < ih1; ++ih)
            for (int64_t iw = iw0; iw < iw1; ++iw) sum += xp[ih * g.W + iw];
          yp[oh * g.OW + ow] = sum / T((ih1 - ih0) * (iw1 - iw0));
        }
      }
    }
  });
}

template <class T>
void adaptive_avg_pool2d_backward(const Pool2dGeometry& g, const T* dy, T* dx) {
  // dx[i] = sum over the windows containing i of dy / window area
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  parallel_for(g.planes, plane_grain(std::max(HW, OHW)), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      T* dxp = dx + p * HW;
      const T* dyp = dy + p * OHW;
      std::fill(dxp, dxp + HW, T(0));
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        const int64_t ih0 = adaptive_start(oh, g.H, g.OH), ih1 = adaptive_end(oh, g.H, g.OH);
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const int64_t iw0 = adaptive_start(ow, g.W, g.OW), iw1 = adaptive_end(ow, g.W, g.OW);
          const T d = dyp[oh * g.OW + ow] / T((ih1 - ih0) * (iw1 - iw0));
          for (int64_t ih = ih0; ih < ih1; ++ih)
            for (int64_t iw = iw0; iw < iw1; ++iw) dxp[ih * g.W + iw] += d;
        }
      }
    }
  });
}

#define FK_INSTANTIATE_POOL(T)                                                                     \
  template void max_pool2d_forward<T>(const Pool2dGeometry&, const T*, T*, int64_t*);              \
  template void max_pool2d_backward<T>(const Pool2dGeometry&, const T*, const int64_t*, T*);       \
  template void avg_pool2d_forward<T>(const Pool2dGeometry&, const T*, T*);                        \
  template void avg_pool2d_backward<T>(const Pool2dGeometry&, const T*, T*);                       \
  template void adaptive_avg_pool2d_forward<T>(const Pool2dGeometry&, const T*, T*);               \
  template void adaptive_avg_pool2d_backward<T>(const Pool2dGeometry&, const T*, T*);
FK_INSTANTIATE_POOL(float)
FK_INSTANTIATE_POOL(double)
#undef FK_INSTANTIATE_POOL

}  // namespace fk::cpu
