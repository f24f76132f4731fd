// Uses an installed facekit: a gradient through the public headers, printed for check.cmake.
#include <cstdio>

#include "autograd/ops.h"

int main() {
  fk::Tensor x = fk::tensor({1, 2, 3}, fk::DType::Float64).requires_grad_();
  fk::sum(x * x).backward();
  std::printf("grad %g %g %g\n", x.grad().to_vector<double>()[0], x.grad().to_vector<double>()[1],
              x.grad().to_vector<double>()[2]);
  return 0;
}
