// CPU kernels of bilinear upsampling with align_corners=False (torch.nn.functional.interpolate,
// mode="bilinear"), forward and backward (its adjoint). Per output row oh (and column ow alike):
//   src = max(ratio * (oh + 0.5) - 0.5, 0),  h0 = floor(src),  h1 = min(h0 + 1, H - 1),
//   lambda1 = src - h0,  lambda0 = 1 - lambda1
//   y[oh, ow] = l0h * (l0w * x[h0, w0] + l1w * x[h0, w1]) + l1h * (l0w * x[h1, w0] + l1w * x[h1, w1])
// with ratio = 1/scale_factor when one was given, else H/OH; an axis whose size does not change is
// copied (PyTorch's rule, even when a scale_factor != 1 rounds back to the same size). The ratio is
// rounded to T and the source index computed in double, exactly as ATen does (tensor/cpu/upsample_math.h).
// Tests: tests/tensor/test_upsample.cpp, tests/autograd/test_upsample_grad.cpp.
#include <algorithm>
#include <vector>

#include "tensor/cpu/kernels_conv_pool.h"
#include "tensor/cpu/upsample_math.h"
#include "tensor/parallel.h"

namespace fk::cpu {

// The taps of every output position along one axis (in -> out), computed once per call.
template <class T>
static std::vector<LinearTap<T>> linear_taps(int64_t in, int64_t out, double ratio) {
  std::vector<LinearTap<T>> taps(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) taps[size_t(o)] = linear_tap<T>(o, in, out, ratio);
  return taps;
}

template <class T>
void upsample_bilinear2d_forward(const Upsample2dGeometry& g, const T* x, T* y) {
  const auto th = linear_taps<T>(g.H, g.OH, g.ratio_h);
  const auto tw = linear_taps<T>(g.W, g.OW, g.ratio_w);
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  parallel_for(g.planes, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, OHW)), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const T* xp = x + p * HW;  // x: (planes, H, W)
      T* yp = y + p * OHW;       // y: (planes, OH, OW)
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        const LinearTap<T>& h = th[size_t(oh)];
        const T* r0 = xp + h.i0 * g.W;
        const T* r1 = xp + h.i1 * g.W;
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const LinearTap<T>& w = tw[size_t(ow)];
          yp[oh * g.OW + ow] = h.l0 * (w.l0 * r0[w.i0] + w.l1 * r0[w.i1]) + h.l1 * (w.l0 * r1[w.i0] + w.l1 * r1[w.i1]);
        }
      }
    }
  });
}

template <class T>
void upsample_bilinear2d_backward(const Upsample2dGeometry& g, const T* dy, T* dx) {
  // dx[h_a, w_b] += l_a(h) * l_b(w) * dy[oh, ow] for the four taps (a, b) of every output pixel
  const auto th = linear_taps<T>(g.H, g.OH, g.ratio_h);
  const auto tw = linear_taps<T>(g.W, g.OW, g.ratio_w);
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  parallel_for(g.planes, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, OHW + HW)), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      T* dxp = dx + p * HW;
      const T* dyp = dy + p * OHW;
      std::fill(dxp, dxp + HW, T(0));
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        const LinearTap<T>& h = th[size_t(oh)];
        T* r0 = dxp + h.i0 * g.W;
        T* r1 = dxp + h.i1 * g.W;
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const LinearTap<T>& w = tw[size_t(ow)];
          const T d = dyp[oh * g.OW + ow];
          r0[w.i0] += h.l0 * w.l0 * d;
          r0[w.i1] += h.l0 * w.l1 * d;
          r1[w.i0] += h.l1 * w.l0 * d;
          r1[w.i1] += h.l1 * w.l1 * d;
        }
      }
    }
  });
}

template void upsample_bilinear2d_forward<float>(const Upsample2dGeometry&, const float*, float*);
template void upsample_bilinear2d_forward<double>(const Upsample2dGeometry&, const double*, double*);
template void upsample_bilinear2d_backward<float>(const Upsample2dGeometry&, const float*, float*);
template void upsample_bilinear2d_backward<double>(const Upsample2dGeometry&, const double*, double*);

}  // namespace fk::cpu
