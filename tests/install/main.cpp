// Uses an installed facekit: a gradient through the public headers, and the README's module example
// (a Sequential written with write_torch and loaded back by name); prints what check.cmake expects.
#include <cstdio>
#include <filesystem>

#include "autograd/ops.h"
#include "data/formats/weights.h"
#include "layers/layers.h"

int main() {
  fk::Tensor x = fk::tensor({1, 2, 3}, fk::DType::Float64).requires_grad_();
  fk::sum(x * x).backward();
  auto g = x.grad().to_vector<double>();
  std::printf("grad %g %g %g\n", g[0], g[1], g[2]);

  auto net = std::make_shared<fk::Sequential>(std::make_shared<fk::Conv2d>(3, 10, 3), std::make_shared<fk::PReLU>(10),
                                              std::make_shared<fk::MaxPool2d>(2));
  std::string path = (std::filesystem::temp_directory_path() / "facekit_consumer.pt").string();
  fk::data::write_torch(path, net->state_dict());
  auto copy = std::make_shared<fk::Sequential>(std::make_shared<fk::Conv2d>(3, 10, 3), std::make_shared<fk::PReLU>(10),
                                               std::make_shared<fk::MaxPool2d>(2));
  copy->load_state_dict(fk::data::read_torch(path));
  std::filesystem::remove(path);
  bool same = copy->state_dict().at("0.weight").to_vector<float>() == net->state_dict().at("0.weight").to_vector<float>();
  std::printf("state dict %s\n", same ? "round trip ok" : "MISMATCH");
  return same ? 0 : 1;
}
