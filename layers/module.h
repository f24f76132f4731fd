// fk::Module: the base of every layer and model (torch.nn.Module). A module owns named parameters,
// buffers and child modules in registration order; names join with dots into PyTorch's state-dict
// keys ("layer1.0.conv1.weight"). It carries the train/eval flag, forward hooks, and PyTorch's
// printed form (`Conv2d(3, 64, kernel_size=(3, 3), ...)`, models as an indented tree).
// load_state_dict copies values into the existing tensors, so handles held elsewhere (optimisers,
// layer members) stay valid; strict mode reports every missing, unexpected and mis-shaped key in one
// error line. Int2 is PyTorch's "int or (h, w) pair" argument, remembering which form it was given
// in for printing. Tests: tests/layers/test_module.cpp (and test_layers.cpp through every layer).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/ops.h"
#include "tensor/format.h"
#include "tensor/state_dict.h"

namespace fk {

// PyTorch's `int or tuple` size argument: Int2(3) prints as "3", Int2(2, 3) or {2, 3} as "(2, 3)".
struct Int2 {
  std::array<int64_t, 2> v{0, 0};
  bool is_int = true;
  Int2(int64_t x) : v{x, x}, is_int(true) {}  // NOLINT: implicit like PyTorch's int arguments
  Int2(int64_t h, int64_t w) : v{h, w}, is_int(false) {}
  int64_t operator[](size_t i) const { return v[i]; }
  bool all_equal(int64_t x) const { return v[0] == x && v[1] == x; }
  std::string str() const;       // as given: "3" or "(2, 3)"
  std::string tuple_str() const;  // always "(3, 3)" (Conv2d prints tuples)
};

// Python's repr of a bool ("True"), for extra_repr strings (py_float, its float repr: tensor/format.h).
inline std::string py_bool(bool b) { return b ? "True" : "False"; }

class Module;
// Runs after forward; returning a defined Tensor replaces the output (torch's register_forward_hook).
using ForwardHook = std::function<Tensor(Module& module, const Tensor& input, const Tensor& output)>;

// What a non-strict load_state_dict skipped (torch's _IncompatibleKeys).
struct IncompatibleKeys {
  std::vector<std::string> missing_keys;
  std::vector<std::string> unexpected_keys;
};

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using NamedModules = std::vector<std::pair<std::string, std::shared_ptr<Module>>>;

class Module : public std::enable_shared_from_this<Module> {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;  // parameters are shared handles: a copy would alias them silently
  Module& operator=(const Module&) = delete;

  virtual Tensor forward(const Tensor& x) = 0;
  // forward, then the forward hooks in registration order (each may replace the output)
  Tensor operator()(const Tensor& x);
  int register_forward_hook(ForwardHook hook);
  void remove_forward_hook(int handle);  // throws for an unknown handle
  // Whether this module (or, with recurse, any module below it) has a forward hook.
  bool has_forward_hooks(bool recurse = true) const;

  // A process-wide counter that train(), load_state_dict() and to() advance: what a model prepared
  // for inference from its weights (layers/fuse.h) compares to know its prepared copy is stale.
  static uint64_t weights_generation();
  // Advances weights_generation(): call after changing parameters in place outside those functions
  // (an optimiser step in training mode needs nothing, as eval() advances it).
  static void weights_changed();

  // ---- train / eval, recursive over children (torch's train()/eval())
  Module& train(bool on = true);
  Module& eval() { return train(false); }
  bool is_training() const { return training_; }

  // ---- contents (dotted names, registration order, each tensor/module once, as PyTorch)
  NamedTensors named_parameters(bool recurse = true) const;
  std::vector<Tensor> parameters(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  NamedModules named_children() const;
  NamedModules named_modules();  // "" is the module itself (needs it held by a std::shared_ptr)
  // The module at a dotted path ("0.conv"; "" is this module); throws listing the closest names.
  std::shared_ptr<Module> find(const std::string& dotted_name);
  // The parameter at a dotted path ("0.weight"); throws listing the closest names.
  Tensor& parameter(const std::string& dotted_name);
  int64_t num_parameters() const;  // total elements of parameters()
  void zero_grad();                // every parameter's .grad set to undefined (set_to_none)

  // ---- weights
  // parameters then buffers of each module, then its children; tensors detached, sharing storage
  StateDict state_dict() const;
  // Copies values into the existing tensors (dtype converted, e.g. float16 files into float32).
  // strict: any missing or unexpected key throws; shape mismatches always throw. Everything is
  // checked before anything is copied, and all problems are listed in one line. A missing
  // BatchNorm `num_batches_tracked` is set to 0, as PyTorch does for a state dict without version
  // metadata (ours never has any).
  IncompatibleKeys load_state_dict(const StateDict& sd, bool strict = true);
  // Converts floating-point parameters and buffers (not num_batches_tracked) to `dtype` in place:
  // every handle to them sees the new dtype. Gradients are cleared. (torch's module.to(dtype))
  Module& to(DType dtype);
  Module& to(Device device);

  // ---- printing (torch's __repr__)
  virtual std::string type_name() const;  // the class name without namespaces, e.g. "Conv2d"
  virtual std::string extra_repr() const { return ""; }
  std::string repr() const;

 protected:
  // An undefined `t` registers "None" (bias=False): it appears in no listing and no state dict.
  // Parameters are set to requires_grad.
  Tensor& register_parameter(const std::string& name, Tensor t);
  Tensor& register_buffer(const std::string& name, Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }
  // The value load_state_dict loads for this module's own key `local_name` when the state dict lacks
  // it, or an undefined Tensor (the default) to report the key missing. BatchNorm returns 0 for
  // num_batches_tracked (PyTorch's _NormBase._load_from_state_dict).
  virtual Tensor value_for_missing(const std::string& local_name) const { return Tensor(); }

 private:
  struct Slot {
    std::string name;
    Tensor tensor;
  };
  // one state-dict entry: its full key, the tensor inside its slot, the owning module, its local name
  struct StateEntry {
    std::string key;
    Tensor* tensor;
    Module* owner;
    std::string local;
  };
  void add_child(const std::string& name, std::shared_ptr<Module> m);
  void check_new_name(const std::string& name, const char* what) const;
  void collect_state(const std::string& prefix, std::vector<StateEntry>& out);
  // visits each module once (first name wins, as PyTorch's named_modules): f(prefix, module, holder)
  void walk(const std::string& prefix, const std::shared_ptr<Module>& holder, std::vector<const Module*>& seen,
            const std::function<void(const std::string&, Module&, const std::shared_ptr<Module>&)>& f);
  void convert_tensors(const std::function<Tensor(const Tensor&)>& fn);

  // vectors of unique_ptr so that references returned by register_* stay valid
  using SlotList = std::vector<std::unique_ptr<Slot>>;
  // named_parameters / named_buffers: the walk over `slots` of every module
  NamedTensors named_tensors(bool recurse, SlotList Module::*slots) const;
  SlotList params_;
  SlotList buffers_;
  NamedModules children_;
  std::vector<std::pair<int, ForwardHook>> hooks_;
  int next_hook_ = 0;
  bool training_ = true;
};

// PyTorch's printed form (Module::repr).
std::ostream& operator<<(std::ostream& os, const Module& m);

// Weight initialisation from fk::default_generator() (torch.nn.init), in place, no graph.
namespace init {
void uniform_(Tensor& t, double lo, double hi);
// fan_in = size(1) * receptive field; fan_out = size(0) * receptive field (torch's _calculate_fan_in_and_fan_out)
std::pair<int64_t, int64_t> fans(const Tensor& t);
// kaiming_uniform_(a=sqrt(5)): uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), the default of Conv2d/Linear
void kaiming_uniform_default_(Tensor& t);
// xavier_uniform_: uniform(-b, b), b = sqrt(6 / (fan_in + fan_out))
void xavier_uniform_(Tensor& t);
}  // namespace init

}  // namespace fk
