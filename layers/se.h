// SEModule: squeeze-and-excitation as in face.evoLVe's IR-SE (reference models.md section 3):
//   gate = sigmoid(fc2(relu(fc1(avg_pool(x))))),  y = x * gate  (gate (N, C, 1, 1) broadcast),
// avg_pool = AdaptiveAvgPool2d(1), fc1 = Conv2d(C, C/r, 1, bias=False) (xavier_uniform init, as the
// release), fc2 = Conv2d(C/r, C, 1, bias=False). State keys fc1.weight, fc2.weight.
// Tests: tests/layers/test_layers.cpp ("se: ...").
#pragma once

#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/pooling.h"

namespace fk {

class SEModule : public Module {
 public:
  SEModule(int64_t channels, int64_t reduction);
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<AdaptiveAvgPool2d> avg_pool;
  std::shared_ptr<Conv2d> fc1;
  std::shared_ptr<ReLU> relu;
  std::shared_ptr<Conv2d> fc2;
  std::shared_ptr<Sigmoid> sigmoid;
};

}  // namespace fk
