// Linear (see linear.h): default init and forward = fk::linear.
#include "layers/linear.h"

#include <cmath>

#include "tensor/creation.h"

namespace fk {

Linear::Linear(int64_t in_features_, int64_t out_features_, bool bias_)
    : in_features(in_features_), out_features(out_features_) {
  FK_CHECK(in_features >= 0 && out_features >= 0, "Linear: in_features and out_features must be non-negative, got ",
           in_features, " and ", out_features);
  weight = register_parameter("weight", empty({out_features, in_features}));
  init::kaiming_uniform_default_(weight);
  if (bias_) {
    bias = register_parameter("bias", empty({out_features}));
    double bound = in_features > 0 ? 1.0 / std::sqrt(double(in_features)) : 0.0;
    init::uniform_(bias, -bound, bound);
  } else {
    register_parameter("bias", Tensor());
  }
}

Tensor Linear::forward(const Tensor& x) {
  FK_CHECK(x.dim() >= 1 && x.size(-1) == in_features, "Linear(in_features=", in_features, "): input ",
           shape_str(x.shape()), " must end in ", in_features, " features");
  return linear(x, weight, bias);
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_features) + ", out_features=" + std::to_string(out_features) +
         ", bias=" + py_bool(bias.defined());
}

}  // namespace fk
