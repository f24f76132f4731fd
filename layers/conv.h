// Conv2d (torch.nn.Conv2d): y = conv2d(x, weight, bias) with weight (out, in/groups, KH, KW) and bias
// (out) or None. Default init as PyTorch: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
// fan_in = in/groups*KH*KW, drawn from fk::default_generator(). Sizes take an int or an {h, w} pair.
// Prints as `Conv2d(3, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)`.
// Tests: tests/layers/test_layers.cpp ("conv2d: ...").
#pragma once

#include "layers/module.h"

namespace fk {

class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, Int2 kernel_size, Int2 stride = 1, Int2 padding = 0,
         Int2 dilation = 1, int64_t groups = 1, bool bias = true);

  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  int64_t in_channels, out_channels;
  Int2 kernel_size, stride, padding, dilation;
  int64_t groups;
  Tensor weight;  // (out, in/groups, KH, KW)
  Tensor bias;    // (out), undefined when bias=false
};

}  // namespace fk
