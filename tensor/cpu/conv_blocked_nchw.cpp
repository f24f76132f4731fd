// conv2d on NCHW float32 arrays through the blocked kernels (conv_blocked_nchw.h).
#include "tensor/cpu/conv_blocked_nchw.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>
#include <vector>

#include "tensor/cpu/conv_blocked.h"
#include "tensor/cpu/conv_weight_grad.h"
#include "tensor/parallel.h"

namespace fk::cpu {

namespace {

std::atomic<bool> g_on{[] {
  const char* e = std::getenv("FK_CONV_BLOCKED");
  return !(e && std::string(e) == "0");
}()};

// A per-thread scratch buffer that only grows (no page faults once the largest conv has run).
float* scratch(std::vector<float>& v, int64_t n) {
  if (int64_t(v.size()) < n) v.resize(size_t(n));
  return v.data();
}

// Packs w for g (winograd chosen here), runs the conv on the blocked input xb with the optional bias
// and converts the result (N, OC, OH*OW) back.
void run_on_blocked(BlockedConvGeometry g, const float* xb, const float* w, const float* b, float* y) {
  thread_local std::vector<float> yb, wp, bias;
  g.winograd = winograd_preferred(g);
  const int64_t OCb = channel_blocks(g.OC);
  float* packed = scratch(wp, pack_conv_weights_blocked(g, w, nullptr));
  pack_conv_weights_blocked(g, w, packed);
  BlockedEpilogue e;
  if (b) {
    bias.assign(size_t(OCb * 16), 0.0f);
    std::copy(b, b + g.OC, bias.begin());
    e.bias = bias.data();
  }
  // images a piece: the blocked output and the padded input of a piece stay under ~16 MB each, so
  // the per-thread buffers do not grow to a whole batch of the largest maps (IR-50's 112x112 layers
  // at batch 32: 100+ MB each, held for the whole run)
  const int64_t out_image = OCb * g.OH * g.OW * 16, in_image = channel_blocks(g.C) * g.H * g.W * 16;
  const int64_t piece = std::clamp<int64_t>((int64_t(4) << 20) / std::max(out_image, in_image), 1, std::max<int64_t>(g.N, 1));
  float* out = scratch(yb, std::min(piece, g.N) * out_image);
  for (int64_t n0 = 0; n0 < g.N; n0 += piece) {
    BlockedConvGeometry gp = g;
    gp.N = std::min(piece, g.N - n0);
    conv2d_blocked(gp, xb + n0 * in_image, packed, e, out);
    blocked_to_nchw(gp.N, g.OC, g.OH * g.OW, out, y + n0 * g.OC * g.OH * g.OW);
  }
}

// x (N, C, H*W) converted to blocked in a per-thread buffer
const float* to_blocked(std::vector<float>& buffer, int64_t N, int64_t C, int64_t HW, const float* x) {
  float* out = scratch(buffer, N * channel_blocks(C) * HW * 16);
  nchw_to_blocked(N, C, HW, x, out);
  return out;
}

BlockedConvGeometry blocked_geometry(const Conv2dGeometry& g) {
  BlockedConvGeometry bg;
  bg.N = g.N, bg.C = g.C, bg.H = g.H, bg.W = g.W;
  bg.OC = g.OC, bg.KH = g.KH, bg.KW = g.KW, bg.OH = g.OH, bg.OW = g.OW;
  bg.SH = g.SH, bg.SW = g.SW, bg.PH = g.PH, bg.PW = g.PW;
  bg.depthwise = g.groups != 1;
  return bg;
}

// dx = conv(dy, w~) with OC and C swapped, the taps flipped and padding K-1-P (stride 1): its output
// size OH + 2(K-1-P) - K + 1 = H. dyb: dy blocked.
void input_grad_on_blocked(const Conv2dGeometry& g, const float* dyb, const float* w, float* dx) {
  BlockedConvGeometry bg;
  bg.N = g.N, bg.C = g.OC, bg.H = g.OH, bg.W = g.OW;
  bg.OC = g.C, bg.KH = g.KH, bg.KW = g.KW, bg.OH = g.H, bg.OW = g.W;
  bg.PH = g.KH - 1 - g.PH, bg.PW = g.KW - 1 - g.PW;
  bg.depthwise = g.groups != 1;
  thread_local std::vector<float> flipped;
  const int64_t taps = g.KH * g.KW;
  if (bg.depthwise) {  // each channel its own conv: the taps flipped, nothing to transpose
    float* wt = scratch(flipped, g.C * taps);
    for (int64_t c = 0; c < g.C; ++c)
      for (int64_t t = 0; t < taps; ++t) wt[c * taps + t] = w[c * taps + taps - 1 - t];
    return run_on_blocked(bg, dyb, wt, nullptr, dx);
  }
  float* wt = scratch(flipped, g.C * g.OC * taps);
  parallel_for(g.C, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, g.OC * taps)), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      for (int64_t oc = 0; oc < g.OC; ++oc) {
        const float* src = w + (oc * g.C + c) * taps;
        float* dst = wt + (c * g.OC + oc) * taps;
        for (int64_t t = 0; t < taps; ++t) dst[t] = src[taps - 1 - t];
      }
  });
  run_on_blocked(bg, dyb, wt, nullptr, dx);
}

}  // namespace

void set_conv_blocked_enabled(bool on) { g_on = on; }
bool conv_blocked_enabled() { return g_on; }

// What every blocked kernel needs: switched on, dense or depthwise, no dilation, 16+ channels (below
// 16 a block is mostly padding)
static bool blocked_kernels_take(const Conv2dGeometry& g) {
  const bool depthwise = g.groups == g.C && g.OC == g.C;
  return g_on && (g.groups == 1 || depthwise) && g.DH == 1 && g.DW == 1 && g.C >= 16 && g.OC >= 16;
}

bool conv2d_blocked_applies(const Conv2dGeometry& g) {
  // the forward kernels are instantiated for row strides 1 and 2
  return blocked_kernels_take(g) && (g.SW == 1 || g.SW == 2) && g.N > 0 && g.OH > 0 && g.OW > 0;
}

bool conv2d_input_grad_blocked_applies(const Conv2dGeometry& g) {
  return conv2d_blocked_applies(g) && g.SH == 1 && g.SW == 1 && g.PH <= g.KH - 1 && g.PW <= g.KW - 1;
}

bool conv2d_weight_grad_blocked_applies(const Conv2dGeometry& g) { return blocked_kernels_take(g); }

void conv2d_forward_blocked(const Conv2dGeometry& g, const float* x, const float* w, const float* b, float* y) {
  thread_local std::vector<float> xb;
  run_on_blocked(blocked_geometry(g), to_blocked(xb, g.N, g.C, g.H * g.W, x), w, b, y);
}

void conv2d_forward_blocked_input(const Conv2dGeometry& g, const float* xb, const float* w, const float* b,
                                  float* y) {
  run_on_blocked(blocked_geometry(g), xb, w, b, y);
}

void conv2d_backward_blocked(const Conv2dGeometry& g, const float* dy, const float* x, const float* xb,
                             const float* w, float* dx, float* dw) {
  thread_local std::vector<float> dyb_buffer, xb_buffer;
  const float* dyb = to_blocked(dyb_buffer, g.N, g.OC, g.OH * g.OW, dy);  // converted once for both
  if (dw && !xb) xb = to_blocked(xb_buffer, g.N, g.C, g.H * g.W, x);
  if (dw) conv2d_weight_grad_blocked(blocked_geometry(g), xb, dyb, dw);
  if (dx) input_grad_on_blocked(g, dyb, w, dx);
}

}  // namespace fk::cpu
