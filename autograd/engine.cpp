// The backward engine and the autograd half of Tensor (requires_grad, .grad, hooks, detach).
//
// run_backward: (1) walk the graph from the root's node and count, for every node, how many edges
// point at it; (2) start from the root with its gradient and process nodes whose every consumer has
// delivered its gradient (Kahn's order), summing contributions; (3) free each node's saved tensors
// unless retain_graph. Gradients are computed with recording off, so backward builds no graph.
#include <unordered_map>
#include <unordered_set>

#include "autograd/node.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

namespace fk::autograd {

static thread_local bool g_grad_enabled = true;

bool grad_enabled() { return g_grad_enabled; }
NoGrad::NoGrad() : prev_(g_grad_enabled) { g_grad_enabled = false; }
NoGrad::~NoGrad() { g_grad_enabled = prev_; }

Grads Node::apply(const Tensor& grad_output) {
  FK_CHECK(!released_, "backward through ", name_,
           " a second time: its saved tensors were freed after the first backward; pass retain_graph=true "
           "to the first backward() if you need to run it twice");
  return fn_(grad_output);
}

static AutogradMeta& meta(TensorImpl* impl) {
  if (!impl->autograd) impl->autograd = std::make_unique<AutogradMeta>();
  return *impl->autograd;
}

static Tensor apply_hooks(const std::vector<GradHook>& hooks, Tensor grad) {
  for (const auto& h : hooks) {
    Tensor r = h(grad);
    if (r.defined()) {
      FK_CHECK(r.shape() == grad.shape(), "gradient hook returned shape ", shape_str(r.shape()), ", expected ",
               shape_str(grad.shape()));
      grad = r;
    }
  }
  return grad;
}

// Whether `t` is the only handle on its data: no other Tensor shares its impl, no other impl (a view,
// a saved tensor, another edge's pending gradient) its storage, and it spans its whole storage (a
// slice kept as .grad would pin the rest). Such a gradient can become a leaf's .grad without a copy.
static bool sole_owner(const Tensor& t) {
  return t.impl_ptr().use_count() == 1 && t.storage().use_count() == 1 && !t.impl()->autograd &&
         t.is_contiguous() && t.offset() == 0 && t.storage()->nbytes() == size_t(t.numel()) * dtype_size(t.dtype());
}

Grads AccumulateGrad::take(Tensor grad) {
  auto impl = leaf_.lock();
  if (!impl) return {};  // the leaf is gone: nobody can read its .grad
  AutogradMeta& m = meta(impl.get());
  Tensor g = apply_hooks(m.hooks, std::move(grad));
  if (m.grad.defined()) {
    ops::add_(m.grad, g);  // accumulate, never assign: a tensor used twice gets both contributions
  } else if (sole_owner(g)) {
    m.grad = std::move(g);  // written, not copied: nothing else can see or change it
  } else {
    m.grad = g.clone();  // own copy: later in-place accumulation must not write into another tensor
  }
  return {};
}

static std::shared_ptr<Node> gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return nullptr;
  AutogradMeta& m = meta(t.impl());
  if (m.grad_fn) return m.grad_fn;
  if (!m.grad_accumulator) m.grad_accumulator = std::make_shared<AccumulateGrad>(t.impl_ptr());
  return m.grad_accumulator;
}

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, BackwardFn fn) {
  if (!needs_grad(inputs)) return out;
  std::vector<Edge> edges;
  edges.reserve(inputs.size());
  for (const Tensor& t : inputs) edges.push_back({gradient_edge(t)});
  // A fresh handle: the op's output may share an impl with an input (a no-op view, to() of the same dtype).
  Tensor result(std::make_shared<TensorImpl>(TensorImpl{out.storage(), out.shape(), out.strides(), out.offset(),
                                                        out.dtype(), nullptr}));
  AutogradMeta& m = meta(result.impl());
  m.requires_grad = true;
  m.grad_fn = std::make_shared<Node>(name, std::move(fn), std::move(edges));
  return result;
}

void run_backward(const Tensor& root, const Tensor& grad_in, bool retain_graph) {
  FK_CHECK(root.defined(), "backward on an undefined tensor");
  FK_CHECK(root.requires_grad(), "backward: tensor ", root.str(),
           " does not require grad (no input had requires_grad, or it was made under NoGrad)");
  Tensor grad = grad_in;
  if (!grad.defined()) {
    FK_CHECK(root.numel() == 1, "backward: grad can be implicitly created only for scalar outputs; ", root.str(),
             " needs an explicit gradient of the same shape");
    grad = ones_like(root);
  }
  FK_CHECK(grad.shape() == root.shape(), "backward: gradient shape ", shape_str(grad.shape()),
           " does not match tensor shape ", shape_str(root.shape()));
  NoGrad no_grad;  // backward itself records nothing

  std::shared_ptr<Node> start = gradient_edge(root);
  // (1) dependency counts
  std::unordered_map<Node*, int> deps;
  std::vector<Node*> stack{start.get()};
  std::unordered_set<Node*> seen{start.get()};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next_edges()) {
      if (!e.node) continue;
      ++deps[e.node.get()];
      if (seen.insert(e.node.get()).second) stack.push_back(e.node.get());
    }
  }
  // (2) run in dependency order
  std::unordered_map<Node*, Tensor> pending{{start.get(), grad}};
  std::vector<std::shared_ptr<Node>> ready{start};
  while (!ready.empty()) {
    std::shared_ptr<Node> node = ready.back();
    ready.pop_back();
    Tensor g = std::move(pending[node.get()]);
    pending.erase(node.get());
    g = apply_hooks(node->pre_hooks(), std::move(g));
    Grads grads = node->take(std::move(g));  // the last use of g: a leaf may keep it as its .grad
    const auto& edges = node->next_edges();
    FK_CHECK(grads.size() == edges.size() || edges.empty(), "internal: ", node->name(), " returned ", grads.size(),
             " gradients for ", edges.size(), " inputs");
    for (size_t i = 0; i < edges.size(); ++i) {
      Node* next = edges[i].node.get();
      if (!next) continue;
      if (grads[i].defined()) {
        Tensor& slot = pending[next];
        slot = slot.defined() ? ops::add(slot, grads[i]) : grads[i];
      }
      if (--deps[next] == 0) {
        if (pending.count(next) && pending[next].defined()) {
          ready.push_back(edges[i].node);
        } else {
          pending.erase(next);
          // nothing flows into this branch: still release its dependents' counts
          std::vector<Node*> dead{next};
          while (!dead.empty()) {
            Node* d = dead.back();
            dead.pop_back();
            for (const Edge& e : d->next_edges())
              if (e.node && --deps[e.node.get()] == 0) {
                if (pending.count(e.node.get()) && pending[e.node.get()].defined())
                  ready.push_back(e.node);
                else
                  dead.push_back(e.node.get());
              }
            if (!retain_graph) d->release();
          }
        }
      }
    }
    // (3) free the saved tensors
    if (!retain_graph) node->release();
  }
}

}  // namespace fk::autograd

// ---- the autograd half of fk::Tensor
namespace fk {

using autograd::meta;

bool Tensor::requires_grad() const { return impl()->autograd && impl()->autograd->requires_grad; }

Tensor& Tensor::requires_grad_(bool on) {
  FK_CHECK(defined(), "requires_grad_ on an undefined tensor");
  FK_CHECK(is_leaf(), "requires_grad_: ", str(), " is not a leaf (it was computed by ",
           grad_fn()->name(), "); call .detach() first");
  FK_CHECK(!on || is_compute_float(dtype()), "requires_grad_: only float32/float64 tensors can require grad, got ",
           str());
  meta(impl()).requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return impl()->autograd ? impl()->autograd->grad : Tensor(); }
void Tensor::set_grad(const Tensor& g) {
  FK_CHECK(!g.defined() || g.shape() == shape(), "set_grad: gradient shape ", shape_str(g.shape()),
           " does not match ", str());
  meta(impl()).grad = g;
}
void Tensor::zero_grad() {
  if (impl()->autograd) impl()->autograd->grad = Tensor();
}
bool Tensor::is_leaf() const { return !impl()->autograd || !impl()->autograd->grad_fn; }
std::shared_ptr<autograd::Node> Tensor::grad_fn() const {
  return impl()->autograd ? impl()->autograd->grad_fn : nullptr;
}

void Tensor::backward(const Tensor& grad, bool retain_graph) const { autograd::run_backward(*this, grad, retain_graph); }

Tensor Tensor::detach() const {
  return Tensor(std::make_shared<TensorImpl>(TensorImpl{storage(), shape(), strides(), offset(), dtype(), nullptr}));
}

void Tensor::register_hook(GradHook hook) {
  FK_CHECK(requires_grad(), "register_hook: ", str(), " does not require grad");
  AutogradMeta& m = meta(impl());
  if (m.grad_fn) {
    m.grad_fn->pre_hooks().push_back(std::move(hook));
  } else {
    m.hooks.push_back(std::move(hook));
  }
}

void Tensor::retain_grad() {
  FK_CHECK(requires_grad(), "retain_grad: ", str(), " does not require grad");
  if (is_leaf()) return;  // leaves keep .grad anyway
  AutogradMeta& m = meta(impl());
  if (m.retains_grad) return;
  m.retains_grad = true;
  std::weak_ptr<TensorImpl> weak = impl_ptr();
  m.grad_fn->pre_hooks().push_back([weak](const Tensor& g) {
    if (auto impl = weak.lock()) {
      AutogradMeta& mm = meta(impl.get());
      mm.grad = mm.grad.defined() ? ops::add(mm.grad, g) : g.clone();
    }
    return Tensor();
  });
}

}  // namespace fk
