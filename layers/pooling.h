// Pooling layers (torch.nn.MaxPool2d / AvgPool2d / AdaptiveAvgPool2d) over NCHW (or CHW) input; the
// output-size rules are the ops' (tensor/pool.h). A stride of 0 stands for PyTorch's stride=None,
// i.e. the kernel size. Sizes print as given: `MaxPool2d(kernel_size=3, stride=2, padding=0,
// dilation=1, ceil_mode=True)`, `AvgPool2d(kernel_size=2, stride=2, padding=0)`,
// `AdaptiveAvgPool2d(output_size=(7, 7))`. Tests: tests/layers/test_layers.cpp ("pooling: ...").
#pragma once

#include "layers/module.h"

namespace fk {

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Int2 kernel_size, Int2 stride = 0, Int2 padding = 0, Int2 dilation = 1, bool ceil_mode = false);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Int2 kernel_size, stride, padding, dilation;
  bool ceil_mode;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Int2 kernel_size, Int2 stride = 0, Int2 padding = 0, bool ceil_mode = false,
                     bool count_include_pad = true);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Int2 kernel_size, stride, padding;
  bool ceil_mode, count_include_pad;
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Int2 output_size);
  Tensor forward(const Tensor& x) override { return adaptive_avg_pool2d(x, output_size.v); }
  std::string extra_repr() const override { return "output_size=" + output_size.str(); }
  Int2 output_size;
};

}  // namespace fk
