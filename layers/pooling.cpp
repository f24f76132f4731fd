// Pooling layers (see pooling.h): argument checks, then fk::max_pool2d / avg_pool2d.
#include "layers/pooling.h"

namespace fk {

static void check_pool_args(const char* layer, const Int2& kernel, const Int2& stride, const Int2& padding) {
  FK_CHECK(kernel[0] > 0 && kernel[1] > 0, layer, ": kernel_size must be positive, got ", kernel.str());
  FK_CHECK(stride[0] > 0 && stride[1] > 0, layer, ": stride must be positive, got ", stride.str());
  FK_CHECK(padding[0] >= 0 && padding[1] >= 0 && 2 * padding[0] <= kernel[0] && 2 * padding[1] <= kernel[1], layer,
           ": pad should be at most half of kernel size, but got pad=", padding.str(), " and kernel_size=",
           kernel.str());
}

MaxPool2d::MaxPool2d(Int2 kernel_size_, Int2 stride_, Int2 padding_, Int2 dilation_, bool ceil_mode_)
    : kernel_size(kernel_size_),
      stride(stride_.all_equal(0) ? kernel_size_ : stride_),
      padding(padding_),
      dilation(dilation_),
      ceil_mode(ceil_mode_) {
  check_pool_args("MaxPool2d", kernel_size, stride, padding);
  FK_CHECK(dilation[0] > 0 && dilation[1] > 0, "MaxPool2d: dilation must be positive, got ", dilation.str());
}

Tensor MaxPool2d::forward(const Tensor& x) {
  Pool2dOptions opts;
  opts.kernel = kernel_size.v;
  opts.stride = stride.v;
  opts.padding = padding.v;
  opts.dilation = dilation.v;
  opts.ceil_mode = ceil_mode;
  return max_pool2d(x, opts);
}

std::string MaxPool2d::extra_repr() const {
  return "kernel_size=" + kernel_size.str() + ", stride=" + stride.str() + ", padding=" + padding.str() +
         ", dilation=" + dilation.str() + ", ceil_mode=" + py_bool(ceil_mode);
}

AvgPool2d::AvgPool2d(Int2 kernel_size_, Int2 stride_, Int2 padding_, bool ceil_mode_, bool count_include_pad_)
    : kernel_size(kernel_size_),
      stride(stride_.all_equal(0) ? kernel_size_ : stride_),
      padding(padding_),
      ceil_mode(ceil_mode_),
      count_include_pad(count_include_pad_) {
  check_pool_args("AvgPool2d", kernel_size, stride, padding);
}

Tensor AvgPool2d::forward(const Tensor& x) {
  Pool2dOptions opts;
  opts.kernel = kernel_size.v;
  opts.stride = stride.v;
  opts.padding = padding.v;
  opts.ceil_mode = ceil_mode;
  opts.count_include_pad = count_include_pad;
  return avg_pool2d(x, opts);
}

std::string AvgPool2d::extra_repr() const {
  return "kernel_size=" + kernel_size.str() + ", stride=" + stride.str() + ", padding=" + padding.str();
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(Int2 output_size_) : output_size(output_size_) {
  FK_CHECK(output_size[0] > 0 && output_size[1] > 0, "AdaptiveAvgPool2d: output_size must be positive, got ",
           output_size.str());
}

}  // namespace fk
