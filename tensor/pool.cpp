// max_pool2d, avg_pool2d, adaptive_avg_pool2d and their backwards (torch.nn.functional.*): argument
// checks, output shape, allocation and dispatch to tensor/cpu/pool.cpp. Input (N,C,H,W) or (C,H,W).
// Output size per axis (PyTorch's pooling_output_shape):
//   out = floor_or_ceil((in + 2*pad - dil*(K-1) - 1) / stride) + 1
//   with ceil_mode the last window must start inside the input or the left padding:
//   if ((out-1)*stride >= in + pad) --out.
// CUDA inputs go to cuda/pool.cu after the checks, with the same geometry.
// Tests: tests/tensor/test_pool.cpp, tests/autograd/test_pool_grad.cpp, tests/cuda/test_pool.cpp.
#include "tensor/pool.h"

#include "cuda/pool.h"
#include "tensor/cpu/kernels_conv_pool.h"
#include "tensor/cpu/pool_math.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"

namespace fk::ops {

static std::string pair_str(const std::array<int64_t, 2>& p) { return std::to_string(p[0]) + "x" + std::to_string(p[1]); }

// x is (N,C,H,W) or (C,H,W); returns the shape with the last two dims replaced by (OH, OW).
static Shape with_spatial(const Shape& x, int64_t OH, int64_t OW) {
  Shape s = x;
  s[s.size() - 2] = OH;
  s[s.size() - 1] = OW;
  return s;
}

// Checks a (C,H,W) or (N,C,H,W) shape and fills planes, H, W.
static void check_pool_input(const Shape& x, const char* op, const char* arg, Pool2dGeometry& g) {
  FK_CHECK(x.size() == 3 || x.size() == 4, op, ": ", arg, " must be 3-d (C, H, W) or 4-d (N, C, H, W), got ",
           shape_str(x));
  g.H = x[x.size() - 2];
  g.W = x[x.size() - 1];
  g.planes = x.size() == 4 ? x[0] * x[1] : x[0];
  FK_CHECK(g.H >= 1 && g.W >= 1, op, ": ", arg, " has an empty spatial size ", shape_str(x));
}

// The geometry of max_pool2d (with dilation) or avg_pool2d (dilation must stay 1) on x_shape.
static Pool2dGeometry pool_geometry(const Shape& x_shape, const Pool2dOptions& o, const char* op,
                                         bool allow_dilation) {
  Pool2dGeometry g;
  check_pool_input(x_shape, op, "x", g);
  const std::string where = "(x=" + shape_str(x_shape) + ", kernel=" + pair_str(o.kernel) + ")";
  g.KH = o.kernel[0], g.KW = o.kernel[1];
  g.SH = o.stride[0] == 0 ? g.KH : o.stride[0];
  g.SW = o.stride[1] == 0 ? g.KW : o.stride[1];
  g.PH = o.padding[0], g.PW = o.padding[1];
  g.DH = o.dilation[0], g.DW = o.dilation[1];
  g.count_include_pad = o.count_include_pad;
  FK_CHECK(g.KH >= 1 && g.KW >= 1, op, ": kernel must be at least 1x1, got ", pair_str(o.kernel), " ", where);
  FK_CHECK(g.SH >= 1 && g.SW >= 1, op, ": stride must be >= 1 (or 0 for the kernel size), got ", pair_str(o.stride),
           " ", where);
  FK_CHECK(g.PH >= 0 && g.PW >= 0, op, ": padding must be >= 0, got ", pair_str(o.padding), " ", where);
  FK_CHECK(g.PH <= g.KH / 2 && g.PW <= g.KW / 2, op, ": padding ", pair_str(o.padding),
           " must be at most half of the kernel ", pair_str(o.kernel), " ", where);
  if (allow_dilation) {
    FK_CHECK(g.DH >= 1 && g.DW >= 1, op, ": dilation must be >= 1, got ", pair_str(o.dilation), " ", where);
  } else {
    FK_CHECK(g.DH == 1 && g.DW == 1, op, ": dilation is not supported (got ", pair_str(o.dilation), ") ", where);
  }
  const int64_t eff_h = g.DH * (g.KH - 1) + 1, eff_w = g.DW * (g.KW - 1) + 1;
  FK_CHECK(eff_h <= g.H + 2 * g.PH && eff_w <= g.W + 2 * g.PW, op, ": kernel ", eff_h, "x", eff_w,
           " is larger than padded input ", g.H + 2 * g.PH, "x", g.W + 2 * g.PW, " (x=", shape_str(x_shape),
           ", padding=", pair_str(o.padding), ", dilation=", pair_str(o.dilation), ")");
  g.OH = cpu::pool_output_size(g.H, g.KH, g.SH, g.PH, g.DH, o.ceil_mode);
  g.OW = cpu::pool_output_size(g.W, g.KW, g.SW, g.PW, g.DW, o.ceil_mode);
  return g;
}

// dy must have the pooled shape of x_shape.
static void check_dy(const Tensor& dy, const Shape& expected, const Shape& x_shape, const char* op) {
  check_float_input(dy, op, "dy");
  FK_CHECK(dy.shape() == expected, op, ": dy ", shape_str(dy.shape()), " does not match the output shape ",
           shape_str(expected), " of x=", shape_str(x_shape));
}

std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const Pool2dOptions& opts) {
  check_float_input(x, "max_pool2d", "x");
  const Pool2dGeometry g = pool_geometry(x.shape(), opts, "max_pool2d", true);
  if constexpr (kWithCuda) {
    if (x.device().is_cuda()) return cuda::max_pool2d_with_indices(x, g, true);
  }
  Tensor xc = x.contiguous();
  const Shape y_shape = with_spatial(x.shape(), g.OH, g.OW);
  Tensor y = empty(y_shape, x.dtype());              // y: (N, C, OH, OW)
  Tensor indices = empty(y_shape, DType::Int64);     // indices: (N, C, OH, OW), flat ih*W + iw
  dispatch_float(x.dtype(), "max_pool2d", [&]<class T>() {
    cpu::max_pool2d_forward<T>(g, xc.data<T>(), y.data<T>(), indices.data<int64_t>());
  });
  return {y, indices};
}

Tensor max_pool2d(const Tensor& x, const Pool2dOptions& opts) {  // the same values, no indices
  check_float_input(x, "max_pool2d", "x");
  const Pool2dGeometry g = pool_geometry(x.shape(), opts, "max_pool2d", true);
  if constexpr (kWithCuda) {
    if (x.device().is_cuda()) return cuda::max_pool2d_with_indices(x, g, false).first;
  }
  Tensor xc = x.contiguous();
  Tensor y = empty(with_spatial(x.shape(), g.OH, g.OW), x.dtype());  // y: (N, C, OH, OW)
  dispatch_float(x.dtype(), "max_pool2d", [&]<class T>() { cpu::max_pool2d_forward<T>(g, xc.data<T>(), y.data<T>(), nullptr); });
  return y;
}

Tensor max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape) {
  const char* op = "max_pool2d_backward";
  Pool2dGeometry g;
  check_pool_input(x_shape, op, "x_shape", g);
  check_float_input(dy, op, "dy");
  FK_CHECK(indices.defined() && indices.dtype() == DType::Int64, op, ": indices must be int64, got ", indices.str());
  FK_CHECK(dy.dim() == int64_t(x_shape.size()) && indices.shape() == dy.shape(), op, ": dy ", shape_str(dy.shape()),
           " and indices ", shape_str(indices.shape()), " must share one shape with as many dims as x=",
           shape_str(x_shape));
  for (size_t d = 0; d + 2 < x_shape.size(); ++d)
    FK_CHECK(dy.shape()[d] == x_shape[d], op, ": dy ", shape_str(dy.shape()), " and x=", shape_str(x_shape),
             " differ in batch or channel dims");
  FK_CHECK(indices.device() == dy.device(), op, ": indices on ", indices.device().str(), " but dy on ",
           dy.device().str(), " (move both to one device)");
  g.OH = dy.size(-2), g.OW = dy.size(-1);
  if constexpr (kWithCuda) {
    if (dy.device().is_cuda()) return cuda::max_pool2d_backward(dy, indices, g, x_shape);
  }
  Tensor dyc = dy.contiguous(), ic = indices.contiguous();
  Tensor dx = empty(x_shape, dy.dtype());  // dx: (N, C, H, W)
  dispatch_float(dy.dtype(), op, [&]<class T>() {
    cpu::max_pool2d_backward<T>(g, dyc.data<T>(), ic.data<int64_t>(), dx.data<T>());
  });
  return dx;
}

Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& opts) {
  check_float_input(x, "avg_pool2d", "x");
  const Pool2dGeometry g = pool_geometry(x.shape(), opts, "avg_pool2d", false);
  if constexpr (kWithCuda) {
    if (x.device().is_cuda()) return cuda::avg_pool2d(x, g);
  }
  Tensor xc = x.contiguous();
  Tensor y = empty(with_spatial(x.shape(), g.OH, g.OW), x.dtype());  // y: (N, C, OH, OW)
  dispatch_float(x.dtype(), "avg_pool2d", [&]<class T>() { cpu::avg_pool2d_forward<T>(g, xc.data<T>(), y.data<T>()); });
  return y;
}

Tensor avg_pool2d_backward(const Tensor& dy, const Shape& x_shape, const Pool2dOptions& opts) {
  const char* op = "avg_pool2d_backward";
  const Pool2dGeometry g = pool_geometry(x_shape, opts, op, false);
  check_dy(dy, with_spatial(x_shape, g.OH, g.OW), x_shape, op);
  if constexpr (kWithCuda) {
    if (dy.device().is_cuda()) return cuda::avg_pool2d_backward(dy, g, x_shape);
  }
  Tensor dyc = dy.contiguous();
  Tensor dx = empty(x_shape, dy.dtype());  // dx: (N, C, H, W)
  dispatch_float(dy.dtype(), op, [&]<class T>() { cpu::avg_pool2d_backward<T>(g, dyc.data<T>(), dx.data<T>()); });
  return dx;
}

static Pool2dGeometry adaptive_geometry(const Shape& x_shape, std::array<int64_t, 2> output_size,
                                             const char* op) {
  Pool2dGeometry g;
  check_pool_input(x_shape, op, "x", g);
  FK_CHECK(output_size[0] >= 1 && output_size[1] >= 1, op, ": output_size must be at least 1x1, got ",
           pair_str(output_size), " (x=", shape_str(x_shape), ")");
  g.OH = output_size[0], g.OW = output_size[1];
  return g;
}

Tensor adaptive_avg_pool2d(const Tensor& x, std::array<int64_t, 2> output_size) {
  check_float_input(x, "adaptive_avg_pool2d", "x");
  const Pool2dGeometry g = adaptive_geometry(x.shape(), output_size, "adaptive_avg_pool2d");
  if constexpr (kWithCuda) {
    if (x.device().is_cuda()) return cuda::adaptive_avg_pool2d(x, g);
  }
  Tensor xc = x.contiguous();
  Tensor y = empty(with_spatial(x.shape(), g.OH, g.OW), x.dtype());  // y: (N, C, OH, OW)
  dispatch_float(x.dtype(), "adaptive_avg_pool2d", [&]<class T>() {
    cpu::adaptive_avg_pool2d_forward<T>(g, xc.data<T>(), y.data<T>());
  });
  return y;
}

Tensor adaptive_avg_pool2d_backward(const Tensor& dy, const Shape& x_shape) {
  const char* op = "adaptive_avg_pool2d_backward";
  check_float_input(dy, op, "dy");
  FK_CHECK(dy.dim() == 3 || dy.dim() == 4, op, ": dy must be 3-d or 4-d, got ", shape_str(dy.shape()));
  const Pool2dGeometry g = adaptive_geometry(x_shape, {dy.size(-2), dy.size(-1)}, op);
  check_dy(dy, with_spatial(x_shape, g.OH, g.OW), x_shape, op);
  if constexpr (kWithCuda) {
    if (dy.device().is_cuda()) return cuda::adaptive_avg_pool2d_backward(dy, g, x_shape);
  }
  Tensor dyc = dy.contiguous();
  Tensor dx = empty(x_shape, dy.dtype());  // dx: (N, C, H, W)
  dispatch_float(dy.dtype(), op, [&]<class T>() {
    cpu::adaptive_avg_pool2d_backward<T>(g, dyc.data<T>(), dx.data<T>());
  });
  return dx;
}

}  // namespace fk::ops
