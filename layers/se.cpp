// SEModule (see se.h).
#include "layers/se.h"

namespace fk {

SEModule::SEModule(int64_t channels, int64_t reduction) {
  FK_CHECK(channels > 0 && reduction > 0 && channels / reduction > 0, "SEModule: channels (", channels,
           ") / reduction (", reduction, ") must be at least 1");
  avg_pool = register_module("avg_pool", std::make_shared<AdaptiveAvgPool2d>(1));
  fc1 = register_module("fc1", std::make_shared<Conv2d>(channels, channels / reduction, 1, 1, 0, 1, 1, false));
  init::xavier_uniform_(fc1->weight);
  relu = register_module("relu", std::make_shared<ReLU>(true));
  fc2 = register_module("fc2", std::make_shared<Conv2d>(channels / reduction, channels, 1, 1, 0, 1, 1, false));
  sigmoid = register_module("sigmoid", std::make_shared<Sigmoid>());
}

Tensor SEModule::forward(const Tensor& x) {
  Tensor gate = (*sigmoid)((*fc2)((*relu)((*fc1)((*avg_pool)(x)))));
  return mul(x, gate);
}

}  // namespace fk
