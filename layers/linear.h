// Linear (torch.nn.Linear): y = x W^T + b over the last dimension, W (out, in), b (out) or None.
// Default init as PyTorch: W and b ~ U(-1/sqrt(in), 1/sqrt(in)) from fk::default_generator().
// Prints as `Linear(in_features=512, out_features=10, bias=True)`.
// Tests: tests/layers/test_layers.cpp ("linear: ...").
#pragma once

#include "layers/module.h"

namespace fk {

class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);

  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  int64_t in_features, out_features;
  Tensor weight;  // (out, in)
  Tensor bias;    // (out), undefined when bias=false
};

}  // namespace fk
