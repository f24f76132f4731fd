// PReLU and Dropout constructors (see activation.h); the other layers there are one-liners.
#include "layers/activation.h"

#include "tensor/creation.h"

namespace fk {

PReLU::PReLU(int64_t num_parameters_, double init) : num_parameters(num_parameters_) {
  FK_CHECK(num_parameters > 0, "PReLU: num_parameters must be positive, got ", num_parameters);
  weight = register_parameter("weight", full({num_parameters}, init));
}

Tensor PReLU::forward(const Tensor& x) {
  FK_CHECK(num_parameters == 1 || (x.dim() >= 2 && x.size(1) == num_parameters), "PReLU(num_parameters=",
           num_parameters, "): input ", shape_str(x.shape()), " must have ", num_parameters, " channels in dim 1");
  return prelu(x, weight);
}

Dropout::Dropout(double p_, bool inplace_) : p(p_), inplace(inplace_) {
  FK_CHECK(p >= 0 && p <= 1, "Dropout: dropout probability has to be between 0 and 1, but got ", p);
}

}  // namespace fk
