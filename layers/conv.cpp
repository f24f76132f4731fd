// Conv2d (see conv.h): argument checks with PyTorch's messages, default init, forward = fk::conv2d.
#include "layers/conv.h"

#include <cmath>

#include "tensor/creation.h"

namespace fk {

Conv2d::Conv2d(int64_t in_channels_, int64_t out_channels_, Int2 kernel_size_, Int2 stride_, Int2 padding_,
               Int2 dilation_, int64_t groups_, bool bias_)
    : in_channels(in_channels_),
      out_channels(out_channels_),
      kernel_size(kernel_size_),
      stride(stride_),
      padding(padding_),
      dilation(dilation_),
      groups(groups_) {
  FK_CHECK(groups > 0, "Conv2d: groups must be a positive integer, got ", groups);
  FK_CHECK(in_channels > 0 && out_channels > 0, "Conv2d: in_channels and out_channels must be positive, got ",
           in_channels, " and ", out_channels);
  FK_CHECK(in_channels % groups == 0, "Conv2d: in_channels (", in_channels, ") must be divisible by groups (",
           groups, ")");
  FK_CHECK(out_channels % groups == 0, "Conv2d: out_channels (", out_channels, ") must be divisible by groups (",
           groups, ")");
  FK_CHECK(kernel_size[0] > 0 && kernel_size[1] > 0 && stride[0] > 0 && stride[1] > 0 && dilation[0] > 0 &&
               dilation[1] > 0 && padding[0] >= 0 && padding[1] >= 0,
           "Conv2d: kernel_size ", kernel_size.tuple_str(), ", stride ", stride.tuple_str(), " and dilation ",
           dilation.tuple_str(), " must be positive and padding ", padding.tuple_str(), " non-negative");
  weight = register_parameter("weight", empty({out_channels, in_channels / groups, kernel_size[0], kernel_size[1]}));
  init::kaiming_uniform_default_(weight);
  if (bias_) {
    bias = register_parameter("bias", empty({out_channels}));
    int64_t fan_in = init::fans(weight).first;
    double bound = 1.0 / std::sqrt(double(fan_in));
    init::uniform_(bias, -bound, bound);
  } else {
    register_parameter("bias", Tensor());
  }
}

Tensor Conv2d::forward(const Tensor& x) {
  Conv2dOptions opts;
  opts.stride = stride.v;
  opts.padding = padding.v;
  opts.dilation = dilation.v;
  opts.groups = groups;
  return conv2d(x, weight, bias, opts);
}

std::string Conv2d::extra_repr() const {
  std::string s = std::to_string(in_channels) + ", " + std::to_string(out_channels) +
                  ", kernel_size=" + kernel_size.tuple_str() + ", stride=" + stride.tuple_str();
  if (!padding.all_equal(0)) s += ", padding=" + padding.tuple_str();
  if (!dilation.all_equal(1)) s += ", dilation=" + dilation.tuple_str();
  if (groups != 1) s += ", groups=" + std::to_string(groups);
  if (!bias.defined()) s += ", bias=False";
  return s;
}

}  // namespace fk
