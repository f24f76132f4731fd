// The autograd graph. Every differentiable op that sees an input requiring grad records one Node:
// its backward function (output gradient -> one gradient per input) and an Edge per input telling
// where that input's gradient goes next: the node that made it, or the AccumulateGrad node of a leaf.
// Saved tensors are captured detached (`saved(x)`), so the graph never keeps itself alive through
// its own outputs. Matches torch.autograd.graph.Node, with one output per node.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace fk::autograd {

class Node;

struct Edge {
  std::shared_ptr<Node> node;  // null: this input needs no gradient
};

using Grads = std::vector<Tensor>;  // one per input; an undefined Tensor means "no gradient"
using BackwardFn = std::function<Grads(const Tensor& grad_output)>;

class Node {
 public:
  Node(std::string name, BackwardFn fn, std::vector<Edge> next)
      : name_(std::move(name)), fn_(std::move(fn)), next_(std::move(next)) {}
  virtual ~Node() = default;

  const std::string& name() const { return name_; }
  const std::vector<Edge>& next_edges() const { return next_; }
  // Runs the backward function; throws if the graph was already freed.
  virtual Grads apply(const Tensor& grad_output);
  // apply() for a gradient the caller hands over (the engine does, for the last use of each gradient).
  virtual Grads take(Tensor grad_output) { return apply(grad_output); }
  // Frees saved tensors (called after backward unless retain_graph).
  virtual void release() {
    fn_ = nullptr;
    released_ = true;
  }
  // Hooks on the gradient of this node's output (Tensor::register_hook on a non-leaf).
  std::vector<GradHook>& pre_hooks() { return pre_hooks_; }

 protected:
  std::string name_;
  BackwardFn fn_;
  std::vector<Edge> next_;
  std::vector<GradHook> pre_hooks_;
  bool released_ = false;
};

// The sink of a leaf tensor: adds the incoming gradient into leaf.grad (after the leaf's hooks).
class AccumulateGrad : public Node {
 public:
  explicit AccumulateGrad(std::weak_ptr<TensorImpl> leaf) : Node("AccumulateGrad", nullptr, {}), leaf_(std::move(leaf)) {}
  // The leaf's .grad += grad, or, where it has none, .grad = grad: the tensor itself when nothing else
  // holds it or its storage (a gradient handed over by take()), else a copy.
  Grads apply(const Tensor& grad) override { return take(grad); }
  Grads take(Tensor grad) override;
  void release() override {}

 private:
  std::weak_ptr<TensorImpl> leaf_;
};

// Is graph recording on? Off inside a NoGrad scope and while backward runs.
bool grad_enabled();

// RAII: no graph is recorded while it lives (torch.no_grad()).
class NoGrad {
 public:
  NoGrad();
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool prev_;
};

// A detached handle for a backward closure to keep (same storage, no graph).
inline Tensor saved(const Tensor& t) { return t.defined() ? t.detach() : t; }

// True when recording is on and any input requires grad.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Attaches a node computing `fn` to `out` when any of `inputs` requires grad; returns `out`.
// Differentiable ops are written as:
//   Tensor y = ops::relu(x);
//   return record("relu", y, {x}, [y = saved(y)](const Tensor& dy) { return Grads{ops::relu_backward(dy, y)}; });
Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, BackwardFn fn);

// The runtime behind Tensor::backward: runs nodes in dependency order from `root`.
void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph);

}  // namespace fk::autograd
