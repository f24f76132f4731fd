// Device memory: tensors copied to the GPU and back are bit-identical, in every dtype.
#include <doctest/doctest.h>

#include "tensor/creation.h"

using namespace fk;

TEST_CASE("to(cuda): host -> device -> host round trip is exact") {
  for (DType t : {DType::Float32, DType::Float64, DType::Int64, DType::UInt8}) {
    SUBCASE(dtype_name(t)) {
      Tensor x = arange(0, 1000, 1, t);
      Tensor y = x.to(Device::cuda()).to(Device::cpu());
      CHECK(y.to_vector<double>() == x.to_vector<double>());
    }
  }
}
