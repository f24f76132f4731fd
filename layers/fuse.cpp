// Eval-mode layer fusion for the CPU inference engine (fuse.h).
#include "layers/fuse.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "autograd/node.h"
#include "layers/sequential.h"
#include "tensor/cpu/conv_math.h"
#include "tensor/creation.h"
#include "tensor/error.h"
#include "tensor/parallel.h"

namespace fk::fuse {

namespace {

// A parameter's values in double (any floating dtype, any strides).
std::vector<double> values(const Tensor& t) {
  Tensor d = t.detach().to(DType::Float64).contiguous();
  const double* p = d.data<double>();
  return std::vector<double>(p, p + d.numel());
}

int64_t padded(int64_t c) { return cpu::channel_blocks(c) * cpu::kChannelBlock; }

}  // namespace

bool batchnorm_foldable(const BatchNormBase& bn) {
  return bn.track_running_stats && bn.running_mean.defined() && bn.running_var.defined() &&
         bn.running_mean.device().is_cpu();
}

// The eval-mode BatchNorm as y = s * x + shift per channel, in double.
static void batchnorm_scale_shift(const BatchNormBase& bn, std::vector<double>& s, std::vector<double>& shift) {
  const int64_t C = bn.num_features;
  const std::vector<double> mean = values(bn.running_mean), var = values(bn.running_var);
  const std::vector<double> w = bn.affine ? values(bn.weight) : std::vector<double>(size_t(C), 1.0);
  const std::vector<double> b = bn.affine ? values(bn.bias) : std::vector<double>(size_t(C), 0.0);
  s.resize(size_t(C));
  shift.resize(size_t(C));
  for (int64_t i = 0; i < C; ++i) {
    s[i] = w[i] / std::sqrt(var[i] + bn.eps);
    shift[i] = b[i] - mean[i] * s[i];
  }
}

void batchnorm_affine(const BatchNormBase& bn, std::vector<float>& a, std::vector<float>& c) {
  std::vector<double> s, shift;
  batchnorm_scale_shift(bn, s, shift);
  a.assign(size_t(padded(bn.num_features)), 0.0f);
  c.assign(size_t(padded(bn.num_features)), 0.0f);
  for (size_t i = 0; i < s.size(); ++i) {
    a[i] = float(s[i]);
    c[i] = float(shift[i]);
  }
}

ConvParts conv_bn_parts(const Module& m) {
  ConvParts p;
  const NamedModules parts = m.named_children();
  if (!dynamic_cast<const Sequential*>(&m) || parts.size() != 2) return p;
  p.conv = dynamic_cast<const Conv2d*>(parts[0].second.get());
  p.bn_after = dynamic_cast<const BatchNorm2d*>(parts[1].second.get());
  if (!p.bn_after) p.conv = nullptr;
  return p;
}

bool fuse_shortcut(const Module* downsample, FusedConv& out, bool& has) {
  has = false;
  if (!downsample) return true;
  const ConvParts d = conv_bn_parts(*downsample);
  if (!FusedConv::supported(d)) return false;
  out = FusedConv(d);
  has = true;
  return true;
}

bool FusedConv::supported(const ConvParts& p) {
  if (!p.conv) return false;
  const Conv2d& c = *p.conv;
  if (c.weight.dtype() != DType::Float32 || !c.weight.device().is_cpu()) return false;
  if (!c.dilation.all_equal(1)) return false;
  const bool depthwise = c.groups == c.in_channels && c.groups == c.out_channels;
  if (c.groups != 1 && !depthwise) return false;
  if (c.stride[1] < 1 || c.stride[1] > 2) return false;  // the kernels are instantiated for row strides 1 and 2
  for (const BatchNorm2d* bn : {p.bn_before, p.bn_after})
    if (bn && !batchnorm_foldable(*bn)) return false;
  if (p.bn_before && p.bn_before->num_features != c.in_channels) return false;
  if (p.bn_after && p.bn_after->num_features != c.out_channels) return false;
  if (p.act == Activation::PReLU &&
      (!p.prelu || (p.prelu->num_parameters != 1 && p.prelu->num_parameters != c.out_channels)))
    return false;
  return true;
}

FusedConv::FusedConv(const ConvParts& p) {
  FK_CHECK(supported(p), "FusedConv: this convolution is not supported by the inference engine");
  const Conv2d& c = *p.conv;
  g_.C = c.in_channels;
  g_.OC = c.out_channels;
  g_.KH = c.kernel_size[0];
  g_.KW = c.kernel_size[1];
  g_.SH = c.stride[0];
  g_.SW = c.stride[1];
  g_.PH = c.padding[0];
  g_.PW = c.padding[1];
  g_.depthwise = c.groups != 1;
  act_ = p.act;
  winograd_allowed_ = p.winograd;

  // fold: w'[oc] = w[oc] * s[oc] * scale (at the first call, see fold_and_pack), b'[oc] = ((b[oc] - mean) * s + beta) * scale
  weight_ = c.weight.contiguous();
  std::vector<double> b = c.bias.defined() ? values(c.bias) : std::vector<double>(size_t(g_.OC), 0.0);
  std::vector<double> s(size_t(g_.OC), 1.0), shift(size_t(g_.OC), 0.0);
  if (p.bn_after) batchnorm_scale_shift(*p.bn_after, s, shift);
  fold_.resize(size_t(g_.OC));
  bias_.assign(size_t(padded(g_.OC)), 0.0f);
  for (int64_t o = 0; o < g_.OC; ++o) {
    fold_[o] = s[o] * p.scale;
    bias_[o] = float((b[o] * s[o] + shift[o]) * p.scale);
  }

  if (p.act == Activation::PReLU) {
    const std::vector<double> sl = values(p.prelu->weight);
    slope_.assign(size_t(padded(g_.OC)), 0.0f);
    for (int64_t o = 0; o < g_.OC; ++o) slope_[o] = float(sl.size() == 1 ? sl[0] : sl[o]);
  }
  if (p.bn_before) batchnorm_affine(*p.bn_before, pre_scale_, pre_shift_);
}

// The folded weights exist only while they are packed, one conv at a time: folding every conv of a
// model when its plan is built held a third copy of the weights until the first forward (IR-50: +120
// MB of peak RSS). Same values as before: float(double(w) * double(s * scale)).
void FusedConv::fold_and_pack() const {
  const int64_t per_oc = weight_.numel() / g_.OC;
  const float* w = weight_.data<float>();
  std::vector<float> folded(size_t(weight_.numel()));
  for (int64_t o = 0; o < g_.OC; ++o)
    for (int64_t k = 0; k < per_oc; ++k) folded[o * per_oc + k] = float(double(w[o * per_oc + k]) * fold_[o]);
  packed_.resize(size_t(cpu::pack_conv_weights_blocked(g_, folded.data(), nullptr)));
  cpu::pack_conv_weights_blocked(g_, folded.data(), packed_.data());
  weight_ = Tensor();
  std::vector<double>().swap(fold_);
}

BlockedTensor FusedConv::operator()(const BlockedTensor& x, const BlockedTensor* residual,
                                    bool residual_after_act) const {
  FK_CHECK(x.channels == g_.C, "FusedConv: input has ", x.channels, " channels, the conv expects ", g_.C);
  cpu::BlockedConvGeometry g = g_;
  g.N = x.N();
  g.H = x.H();
  g.W = x.W();
  g.OH = cpu::conv_out_size(g.H, g.PH, 1, g.KH, g.SH);
  g.OW = cpu::conv_out_size(g.W, g.PW, 1, g.KW, g.SW);
  FK_CHECK(g.OH > 0 && g.OW > 0, "FusedConv: input ", g.H, "x", g.W, " is smaller than the ", g.KH, "x", g.KW,
           " kernel");
  if (packed_.empty()) {  // the first call: choose the kernel for this map size and pack for it
    g_.winograd = winograd_allowed_ && cpu::winograd_preferred(g);
    g.winograd = g_.winograd;
    fold_and_pack();
  }
  g.winograd = g_.winograd;
  BlockedTensor y = empty_blocked(g.N, g.OC, g.OH, g.OW);
  cpu::BlockedEpilogue e;
  e.pre_scale = pre_scale_.empty() ? nullptr : pre_scale_.data();
  e.pre_shift = pre_shift_.empty() ? nullptr : pre_shift_.data();
  e.bias = bias_.data();
  e.act = act_;
  e.slope = slope_.empty() ? nullptr : slope_.data();
  if (residual) {
    FK_CHECK(residual->data.shape() == y.data.shape() && residual->channels == y.channels,
             "FusedConv: residual ", residual->data.str(), " does not match the output ", y.data.str());
    e.residual = residual->ptr();
    e.residual_after_act = residual_after_act;
  }
  cpu::conv2d_blocked(g, x.ptr(), packed_.data(), e, y.mutable_ptr());
  return y;
}

BlockedTensor squeeze_excite(const BlockedTensor& y, SEModule& se, const BlockedTensor* residual) {
  const int64_t N = y.N(), Cb = y.blocks(), HW = y.H() * y.W(), C = y.channels;
  Tensor mean = empty_uninitialized({N, C, 1, 1});
  float* m = mean.data<float>();
  const float* yp = y.ptr();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t cb = 0; cb < Cb; ++cb) {
      double acc[16] = {};
      const float* p = yp + (n * Cb + cb) * HW * 16;
      for (int64_t i = 0; i < HW; ++i)
        for (int k = 0; k < 16; ++k) acc[k] += p[i * 16 + k];
      for (int64_t k = 0; k < 16 && cb * 16 + k < C; ++k) m[n * C + cb * 16 + k] = float(acc[k] / double(HW));
    }
  Tensor gate = (*se.sigmoid)((*se.fc2)((*se.relu)((*se.fc1)(mean)))).contiguous();
  const float* gp = gate.data<float>();
  if (residual)
    FK_CHECK(residual->data.shape() == y.data.shape(), "squeeze_excite: residual ", residual->data.str(),
             " does not match ", y.data.str());
  BlockedTensor out = empty_blocked(N, C, y.H(), y.W());
  float* op = out.mutable_ptr();
  const float* rp = residual ? residual->ptr() : nullptr;
  parallel_for(N * Cb, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, HW * 16)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / Cb, cb = i % Cb;
      float g[16];
      for (int64_t k = 0; k < 16; ++k) g[k] = cb * 16 + k < C ? gp[n * C + cb * 16 + k] : 0.0f;
      const float* src = yp + i * HW * 16;
      float* dst = op + i * HW * 16;
      const float* r = rp ? rp + i * HW * 16 : nullptr;
      for (int64_t p = 0; p < HW; ++p)
        for (int k = 0; k < 16; ++k) dst[p * 16 + k] = src[p * 16 + k] * g[k] + (r ? r[p * 16 + k] : 0.0f);
    }
  });
  return out;
}

namespace {
std::atomic<bool> g_engine_on{[] {
  const char* e = std::getenv("FK_ENGINE");
  return !(e && std::string(e) == "reference");
}()};
std::atomic<uint64_t> g_engine_forwards{0};
}  // namespace

void set_engine_enabled(bool on) { g_engine_on = on; }
bool engine_enabled() { return g_engine_on; }
uint64_t engine_forwards() { return g_engine_forwards; }
void count_engine_forward() { ++g_engine_forwards; }

bool engine_applies(const Module& model, const Tensor& x) {
  return engine_enabled() && !model.is_training() && !autograd::grad_enabled() && x.dtype() == DType::Float32 &&
         x.device().is_cpu() && x.dim() == 4 && !model.has_forward_hooks(true);
}

}  // namespace fk::fuse
