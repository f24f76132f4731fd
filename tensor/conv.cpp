// conv2d and its backward (torch.nn.functional.conv2d): argument checks, output shape, allocation and
// dispatch to the CPU kernels in tensor/cpu/conv.cpp (im2col + GEMM).
//   OH = floor((H + 2*PH - DH*(KH-1) - 1) / SH) + 1, and the same for OW.
// CUDA tensors go to cuda/conv.cu (cuDNN or im2col + cuBLAS) after the same checks.
// Tests: tests/tensor/test_conv.cpp (fixtures, reference, errors), tests/autograd/test_conv_grad.cpp,
// tests/cuda/test_conv.cpp (GPU vs CPU).
#include "tensor/conv.h"

#include "cuda/conv.h"
#include "tensor/cpu/conv_blocked_nchw.h"
#include "tensor/cpu/conv_math.h"
#include "tensor/cpu/kernels_conv_pool.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"

namespace fk::ops {

static std::string pair_str(const std::array<int64_t, 2>& p) { return std::to_string(p[0]) + "x" + std::to_string(p[1]); }

// Checks x, weight (and bias when defined) against each other and the options; returns the geometry.
static Conv2dGeometry conv2d_geometry(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                           const Conv2dOptions& o, const char* op) {
  check_float_input(x, op, "x");
  check_float_input(weight, op, "weight");
  check_same_type(x, weight, op);
  FK_CHECK(x.dim() == 4, op, ": x must be 4-d (N, C, H, W), got ", shape_str(x.shape()));
  FK_CHECK(weight.dim() == 4, op, ": weight must be 4-d (OC, C/groups, KH, KW), got ", shape_str(weight.shape()));
  const std::string shapes = "(x=" + shape_str(x.shape()) + ", weight=" + shape_str(weight.shape()) + ")";
  FK_CHECK(o.groups >= 1, op, ": groups must be >= 1, got ", o.groups, " ", shapes);
  FK_CHECK(o.stride[0] >= 1 && o.stride[1] >= 1, op, ": stride must be >= 1, got ", pair_str(o.stride), " ", shapes);
  FK_CHECK(o.padding[0] >= 0 && o.padding[1] >= 0, op, ": padding must be >= 0, got ", pair_str(o.padding), " ",
           shapes);
  FK_CHECK(o.dilation[0] >= 1 && o.dilation[1] >= 1, op, ": dilation must be >= 1, got ", pair_str(o.dilation), " ",
           shapes);

  Conv2dGeometry g;
  g.N = x.size(0), g.C = x.size(1), g.H = x.size(2), g.W = x.size(3);
  g.OC = weight.size(0), g.KH = weight.size(2), g.KW = weight.size(3);
  g.SH = o.stride[0], g.SW = o.stride[1], g.PH = o.padding[0], g.PW = o.padding[1];
  g.DH = o.dilation[0], g.DW = o.dilation[1], g.groups = o.groups;
  FK_CHECK(g.C % o.groups == 0, op, ": groups=", o.groups, " does not divide the ", g.C, " input channels ", shapes);
  FK_CHECK(g.OC % o.groups == 0, op, ": groups=", o.groups, " does not divide the ", g.OC, " output channels ",
           shapes);
  FK_CHECK(weight.size(1) * o.groups == g.C, op, ": weight expects ", weight.size(1) * o.groups,
           " input channels (weight.size(1)=", weight.size(1), " x groups=", o.groups, "), but x has ", g.C, " ",
           shapes);
  FK_CHECK(g.KH >= 1 && g.KW >= 1, op, ": kernel must be at least 1x1 ", shapes);
  const int64_t eff_h = g.DH * (g.KH - 1) + 1, eff_w = g.DW * (g.KW - 1) + 1;
  FK_CHECK(eff_h <= g.H + 2 * g.PH && eff_w <= g.W + 2 * g.PW, op, ": kernel ", eff_h, "x", eff_w,
           " (dilation ", pair_str(o.dilation), ") is larger than padded input ", g.H + 2 * g.PH, "x",
           g.W + 2 * g.PW, " ", shapes, ", padding=", pair_str(o.padding));
  if (bias.defined()) {
    check_float_input(bias, op, "bias");
    check_same_type(x, bias, op);
    FK_CHECK(bias.dim() == 1 && bias.size(0) == g.OC, op, ": bias must be 1-d with ", g.OC,
             " elements (one per output channel), got ", shape_str(bias.shape()), " ", shapes);
  }
  g.OH = cpu::conv_out_size(g.H, g.PH, g.DH, g.KH, g.SH);
  g.OW = cpu::conv_out_size(g.W, g.PW, g.DW, g.KW, g.SW);
  return g;
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opts) {
  const Conv2dGeometry g = conv2d_geometry(x, weight, bias, opts, "conv2d");
  if constexpr (kWithCuda) {
    if (x.device().is_cuda()) return cuda::conv2d(x, weight, bias, opts);
  }
  Tensor xc = x.contiguous(), wc = weight.contiguous();
  Tensor bc = bias.defined() ? bias.contiguous() : Tensor();
  // y: (N, OC, OH, OW); not zero-filled: conv2d_forward writes every element (so do both backward paths)
  Tensor y = empty_uninitialized({g.N, g.OC, g.OH, g.OW}, x.dtype());
  dispatch_float(x.dtype(), "conv2d", [&]<class T>() {
    cpu::conv2d_forward<T>(g, xc.data<T>(), wc.data<T>(), bc.defined() ? bc.data<T>() : nullptr, y.data<T>());
  });
  return y;
}

Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, bool has_bias,
                            const Conv2dOptions& opts, std::array<bool, 3> output_mask) {
  const Conv2dGeometry g = conv2d_geometry(x, weight, Tensor(), opts, "conv2d_backward");
  check_float_input(dy, "conv2d_backward", "dy");
  check_same_type(x, dy, "conv2d_backward");
  const Shape y_shape{g.N, g.OC, g.OH, g.OW};
  FK_CHECK(dy.shape() == y_shape, "conv2d_backward: dy ", shape_str(dy.shape()), " does not match the output shape ",
           shape_str(y_shape), " (x=", shape_str(x.shape()), ", weight=", shape_str(weight.shape()), ")");
  if constexpr (kWithCuda) {
    if (x.device().is_cuda()) return cuda::conv2d_backward(dy, x, weight, has_bias, opts, output_mask);
  }
  Tensor dyc = dy.contiguous(), xc = x.contiguous(), wc = weight.contiguous();
  Conv2dGrads grads;
  if (output_mask[0]) grads.dx = empty_uninitialized(x.shape(), x.dtype());            // dx: (N, C, H, W)
  if (output_mask[1]) grads.dweight = empty_uninitialized(weight.shape(), x.dtype());  // (OC, C/groups, KH, KW)
  if (has_bias && output_mask[2]) grads.dbias = empty({g.OC}, x.dtype());  // dbias: (OC)
  dispatch_float(x.dtype(), "conv2d_backward", [&]<class T>() {
    cpu::conv2d_backward<T>(g, dyc.data<T>(), xc.data<T>(), wc.data<T>(),
                            grads.dx.defined() ? grads.dx.data<T>() : nullptr,
                            grads.dweight.defined() ? grads.dweight.data<T>() : nullptr,
                            grads.dbias.defined() ? grads.dbias.data<T>() : nullptr);
  });
  return grads;
}

// x's shape over xb's storage, all strides 0: what conv2d_geometry checks, never read
static Tensor shape_of(const BlockedTensor& xb) {
  return Tensor(xb.data.storage(), {xb.N(), xb.channels, xb.H(), xb.W()}, {0, 0, 0, 0}, 0, DType::Float32);
}

bool conv2d_blocked_input_applies(const Tensor& x, const Tensor& weight, const Conv2dOptions& opts) {
  if (!x.defined() || !weight.defined() || !x.device().is_cpu() || x.dtype() != DType::Float32 ||
      weight.dtype() != DType::Float32 || x.dim() != 4 || weight.dim() != 4)
    return false;
  const Conv2dGeometry g = conv2d_geometry(x, weight, Tensor(), opts, "conv2d");
  return cpu::conv2d_blocked_applies(g) && cpu::conv2d_weight_grad_blocked_applies(g);
}

Tensor conv2d(const BlockedTensor& xb, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opts) {
  const Conv2dGeometry g = conv2d_geometry(shape_of(xb), weight, bias, opts, "conv2d");
  FK_CHECK(cpu::conv2d_blocked_applies(g) && weight.device().is_cpu(),
           "conv2d: a blocked input needs a conv the blocked kernels run, got weight ", weight.str());
  Tensor wc = weight.contiguous();
  Tensor bc = bias.defined() ? bias.contiguous() : Tensor();
  Tensor y = empty_uninitialized({g.N, g.OC, g.OH, g.OW});  // every element written
  cpu::conv2d_forward_blocked_input(g, xb.ptr(), wc.data<float>(), bc.defined() ? bc.data<float>() : nullptr,
                                    y.data<float>());
  return y;
}

Conv2dGrads conv2d_backward(const Tensor& dy, const BlockedTensor& xb, const Tensor& weight, bool has_bias,
                            const Conv2dOptions& opts, std::array<bool, 3> output_mask) {
  const Conv2dGeometry g = conv2d_geometry(shape_of(xb), weight, Tensor(), opts, "conv2d_backward");
  check_float_input(dy, "conv2d_backward", "dy");
  const Shape y_shape{g.N, g.OC, g.OH, g.OW};
  FK_CHECK(dy.dtype() == DType::Float32 && dy.device().is_cpu() && dy.shape() == y_shape, "conv2d_backward: dy ",
           dy.str(), " does not match the float32 CPU output shape ", shape_str(y_shape));
  FK_CHECK(cpu::conv2d_weight_grad_blocked_applies(g) && weight.device().is_cpu(),
           "conv2d_backward: a blocked input needs a conv the blocked kernels run, got weight ", weight.str());
  Tensor dyc = dy.contiguous(), wc = weight.contiguous();
  Conv2dGrads grads;
  if (output_mask[0]) grads.dx = empty_uninitialized({g.N, g.C, g.H, g.W});
  if (output_mask[1]) grads.dweight = empty_uninitialized(weight.shape());
  if (has_bias && output_mask[2]) grads.dbias = empty({g.OC});
  // x itself is not needed: the weight gradient reads xb, dx and dbias read only dy and the weights
  cpu::conv2d_backward<float>(g, dyc.data<float>(), nullptr, wc.data<float>(),
                              grads.dx.defined() ? grads.dx.data<float>() : nullptr,
                              grads.dweight.defined() ? grads.dweight.data<float>() : nullptr,
                              grads.dbias.defined() ? grads.dbias.data<float>() : nullptr, xb.ptr());
  return grads;
}

}  // namespace fk::ops
