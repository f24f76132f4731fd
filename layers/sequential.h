// Sequential (torch.nn.Sequential): children run in order, each through its operator() (so their
// forward hooks fire); no children returns the input. Children are named "0", "1", ... or by the
// caller (PyTorch's OrderedDict form), and these names prefix their state-dict keys ("0.weight").
// Prints as an indented tree: `Sequential(\n  (0): Conv2d(...)\n  (1): ReLU()\n)`.
// Tests: tests/layers/test_module.cpp and test_layers.cpp ("sequential: ...").
#pragma once

#include "layers/module.h"

namespace fk {

class Sequential : public Module {
 public:
  Sequential() = default;
  // make_shared<Sequential>(conv, bn, relu): children "0", "1", "2"
  template <class... Ms>
  explicit Sequential(std::shared_ptr<Ms>... modules) {
    (push_back(std::shared_ptr<Module>(std::move(modules))), ...);
  }
  explicit Sequential(const std::vector<std::shared_ptr<Module>>& modules);
  explicit Sequential(const NamedModules& named);  // the OrderedDict form

  // appends with the name str(size()) (nn.Sequential.append), or under `name`
  Sequential& push_back(std::shared_ptr<Module> module);
  Sequential& push_back(const std::string& name, std::shared_ptr<Module> module);
  size_t size() const { return order_.size(); }
  // the i-th child; negative counts from the end as in Python; throws when out of range
  std::shared_ptr<Module> operator[](int64_t i) const;

  Tensor forward(const Tensor& x) override;
  // (*this)(x) + residual, with the add fused into the last child when that is a BatchNorm in training
  // (batch_norm_residual) and this Sequential has no forward hooks: a residual block's last step.
  Tensor forward_add(const Tensor& x, const Tensor& residual);

 private:
  // children [0, end) in order, each BatchNorm + activation pair fused
  Tensor run(const Tensor& x, size_t end);
  std::vector<std::shared_ptr<Module>> order_;
};

}  // namespace fk
