// Parameter-free and small element-wise layers (torch.nn): ReLU, Sigmoid, PReLU (y = x if x >= 0 else
// a_c * x, `weight` of shape (num_parameters), init 0.25), Dropout (zeroes with probability p and
// scales by 1/(1-p) in training, identity in eval), Flatten (dims start..end into one), Identity.
// `inplace` flags are accepted for PyTorch-compatible construction and printing only: every forward
// here returns a new tensor. Prints as `ReLU(inplace=True)`, `PReLU(num_parameters=64)`,
// `Dropout(p=0.5, inplace=False)`, `Flatten(start_dim=1, end_dim=-1)`.
// Tests: tests/layers/test_layers.cpp ("prelu: ...", "dropout: ...", ...).
#pragma once

#include "layers/module.h"

namespace fk {

class ReLU : public Module {
 public:
  explicit ReLU(bool inplace = false) : inplace(inplace) {}
  Tensor forward(const Tensor& x) override { return relu(x); }
  std::string extra_repr() const override { return inplace ? "inplace=True" : ""; }
  bool inplace;
};

class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override { return sigmoid(x); }
};

class PReLU : public Module {
 public:
  explicit PReLU(int64_t num_parameters = 1, double init = 0.25);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override { return "num_parameters=" + std::to_string(num_parameters); }
  int64_t num_parameters;
  Tensor weight;  // (num_parameters)
};

class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, bool inplace = false);
  Tensor forward(const Tensor& x) override { return dropout(x, p, is_training()); }
  std::string extra_repr() const override { return "p=" + py_float(p) + ", inplace=" + py_bool(inplace); }
  double p;
  bool inplace;
};

class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1) : start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& x) override { return flatten(x, start_dim, end_dim); }
  std::string extra_repr() const override {
    return "start_dim=" + std::to_string(start_dim) + ", end_dim=" + std::to_string(end_dim);
  }
  int64_t start_dim, end_dim;
};

class Identity : public Module {
 public:
  Tensor forward(const Tensor& x) override { return x; }
};

}  // namespace fk
