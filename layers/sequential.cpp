// Sequential (see sequential.h).
#include "layers/sequential.h"

#include "layers/batchnorm.h"

namespace fk {

Sequential::Sequential(const std::vector<std::shared_ptr<Module>>& modules) {
  for (const auto& m : modules) push_back(m);
}

Sequential::Sequential(const NamedModules& named) {
  for (const auto& [name, m] : named) push_back(name, m);
}

Sequential& Sequential::push_back(std::shared_ptr<Module> module) {
  return push_back(std::to_string(order_.size()), std::move(module));
}

Sequential& Sequential::push_back(const std::string& name, std::shared_ptr<Module> module) {
  order_.push_back(register_module(name, std::move(module)));
  return *this;
}

std::shared_ptr<Module> Sequential::operator[](int64_t i) const {
  int64_t n = int64_t(order_.size());
  FK_CHECK(i >= -n && i < n, "Sequential: index ", i, " is out of range for ", n, " module(s)");
  return order_[size_t(i < 0 ? i + n : i)];
}

Tensor Sequential::forward(const Tensor& x) { return run(x, order_.size()); }

Tensor Sequential::forward_add(const Tensor& x, const Tensor& residual) {
  if (order_.empty() || has_forward_hooks(false) || !fuses_with_residual(*order_.back())) return add((*this)(x), residual);
  return batch_norm_residual(*order_.back(), run(x, order_.size() - 1), residual);
}

Tensor Sequential::run(const Tensor& x, size_t end) {
  Tensor y = x;
  for (size_t i = 0; i < end; ++i) {
    // a BatchNorm and its PReLU / ReLU in training: one fused op (batch_norm_activation)
    if (i + 1 < end && fuses_with_activation(*order_[i], *order_[i + 1])) {
      y = batch_norm_activation(*order_[i], *order_[i + 1], y);
      ++i;
    } else {
      y = (*order_[i])(y);
    }
  }
  return y;
}

}  // namespace fk
