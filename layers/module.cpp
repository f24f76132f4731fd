// fk::Module (see module.h): registration, traversal in PyTorch's order, state_dict /
// load_state_dict with one-line error reports, dtype/device conversion in place, forward hooks and
// PyTorch's __repr__ (extra_repr + children indented by two spaces). Also the torch.nn.init
// initialisers the layers use. Tests: tests/layers/test_module.cpp.
#include "layers/module.h"

#include <cxxabi.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <ostream>
#include <sstream>
#include <typeinfo>
#include <unordered_set>

#include "autograd/node.h"
#include "tensor/dispatch.h"
#include "tensor/format.h"
#include "tensor/random.h"

namespace fk {

// ---------------------------------------------------------------- small formatting helpers

std::string Int2::str() const { return is_int ? std::to_string(v[0]) : tuple_str(); }
std::string Int2::tuple_str() const {
  std::string s = "(";  // appended, not `"(" + to_string(...)`: GCC 12 warns there (-Wrestrict, a false alarm)
  s.append(std::to_string(v[0])).append(", ").append(std::to_string(v[1])).append(")");
  return s;
}


static std::string join_dotted(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

static size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// `"a", "b", "c"` — the (at most 5) candidates closest to `name`
static std::string closest(const std::string& name, std::vector<std::string> candidates) {
  if (candidates.empty()) return "(none)";
  std::stable_sort(candidates.begin(), candidates.end(), [&](const std::string& a, const std::string& b) {
    return edit_distance(name, a) < edit_distance(name, b);
  });
  if (candidates.size() > 5) candidates.resize(5);
  std::string out;
  for (const auto& c : candidates) out += (out.empty() ? "\"" : ", \"") + c + "\"";
  return out;
}

// The first few keys quoted, then how many more: a whole model's keys (another architecture's file)
// would make a message of many kilobytes.
static constexpr size_t kKeysListed = 5;
static std::string quoted_list(const std::vector<std::string>& keys) {
  std::string out;
  for (size_t i = 0; i < keys.size() && i < kKeysListed; ++i) out += (out.empty() ? "\"" : ", \"") + keys[i] + "\"";
  if (keys.size() > kKeysListed) out += " and " + std::to_string(keys.size() - kKeysListed) + " more";
  return out;
}

static bool is_floating(DType t) {
  return t == DType::Float32 || t == DType::Float64 || t == DType::Float16 || t == DType::BFloat16;
}

// Points every handle of `t` at `src`'s data (same TensorImpl, new storage/dtype/device).
static void replace_contents(Tensor& t, const Tensor& src) {
  TensorImpl* impl = t.impl();
  impl->storage = src.storage();
  impl->shape = src.shape();
  impl->strides = src.strides();
  impl->offset = src.offset();
  impl->dtype = src.dtype();
}

// ---------------------------------------------------------------- forward and hooks

Tensor Module::operator()(const Tensor& x) {
  Tensor y = forward(x);
  auto hooks = hooks_;  // a hook may remove itself
  for (auto& [handle, hook] : hooks) {
    Tensor replaced = hook(*this, x, y);
    if (replaced.defined()) y = replaced;
  }
  return y;
}

int Module::register_forward_hook(ForwardHook hook) {
  FK_CHECK(hook != nullptr, type_name(), ".register_forward_hook: empty function");
  hooks_.emplace_back(next_hook_, std::move(hook));
  return next_hook_++;
}

void Module::remove_forward_hook(int handle) {
  auto it = std::find_if(hooks_.begin(), hooks_.end(), [&](const auto& h) { return h.first == handle; });
  FK_CHECK(it != hooks_.end(), type_name(), ".remove_forward_hook: no hook with handle ", handle,
           " (already removed, or registered on another module)");
  hooks_.erase(it);
}

bool Module::has_forward_hooks(bool recurse) const {
  if (!hooks_.empty()) return true;
  if (recurse)
    for (const auto& [name, child] : children_)
      if (child->has_forward_hooks(true)) return true;
  return false;
}

static std::atomic<uint64_t> g_weights_generation{1};

uint64_t Module::weights_generation() { return g_weights_generation.load(std::memory_order_relaxed); }
void Module::weights_changed() { g_weights_generation.fetch_add(1, std::memory_order_relaxed); }

Module& Module::train(bool on) {
  weights_changed();
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
  return *this;
}

// ---------------------------------------------------------------- registration

void Module::check_new_name(const std::string& name, const char* what) const {
  FK_CHECK(!name.empty(), type_name(), ": ", what, " name can't be empty");
  FK_CHECK(name.find('.') == std::string::npos, type_name(), ": ", what, " name can't contain \".\", got \"",
           name, "\"");
  auto taken = [&](const auto& slots) {
    return std::any_of(slots.begin(), slots.end(), [&](const auto& s) { return s->name == name; });
  };
  bool child = std::any_of(children_.begin(), children_.end(), [&](const auto& c) { return c.first == name; });
  FK_CHECK(!taken(params_) && !taken(buffers_) && !child, type_name(), ": attribute \"", name,
           "\" already exists (registering a ", what, ")");
}

Tensor& Module::register_parameter(const std::string& name, Tensor t) {
  check_new_name(name, "parameter");
  if (t.defined()) {
    FK_CHECK(is_compute_float(t.dtype()), type_name(), ": parameter \"", name, "\" is ", t.str(),
             "; only float32/float64 tensors can require gradients");
    if (!t.is_leaf()) t = t.detach();
    t.requires_grad_(true);
  }
  params_.push_back(std::make_unique<Slot>(Slot{name, t}));
  return params_.back()->tensor;
}

Tensor& Module::register_buffer(const std::string& name, Tensor t) {
  check_new_name(name, "buffer");
  buffers_.push_back(std::make_unique<Slot>(Slot{name, t.defined() ? t.detach() : t}));
  return buffers_.back()->tensor;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  check_new_name(name, "module");
  FK_CHECK(m != nullptr, type_name(), ": register_module(\"", name, "\") got a null module");
  FK_CHECK(m.get() != this, type_name(), ": register_module(\"", name, "\") got the module itself");
  children_.emplace_back(name, std::move(m));
}

// ---------------------------------------------------------------- traversal

void Module::walk(const std::string& prefix, const std::shared_ptr<Module>& holder, std::vector<const Module*>& seen,
                  const std::function<void(const std::string&, Module&, const std::shared_ptr<Module>&)>& f) {
  if (std::find(seen.begin(), seen.end(), this) != seen.end()) return;
  seen.push_back(this);
  f(prefix, *this, holder);
  for (auto& [name, child] : children_) child->walk(join_dotted(prefix, name), child, seen, f);
}

// Parameters or buffers (`slots` picks which list) of this module and, with recurse, its
// descendants, dotted names in registration order; a tensor shared by two modules is listed once.
NamedTensors Module::named_tensors(bool recurse, SlotList Module::*slots) const {
  NamedTensors out;
  std::unordered_set<const TensorImpl*> seen_tensors;
  std::vector<const Module*> seen;
  auto self = const_cast<Module*>(this);  // walk only reads
  self->walk("", nullptr, seen, [&](const std::string& prefix, Module& m, const std::shared_ptr<Module>&) {
    if (!recurse && &m != this) return;
    for (const auto& slot : m.*slots)
      if (slot->tensor.defined() && seen_tensors.insert(slot->tensor.impl()).second)
        out.emplace_back(join_dotted(prefix, slot->name), slot->tensor);
  });
  return out;
}

NamedTensors Module::named_parameters(bool recurse) const { return named_tensors(recurse, &Module::params_); }

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const { return named_tensors(recurse, &Module::buffers_); }

NamedModules Module::named_children() const {
  NamedModules out;
  std::vector<const Module*> seen;
  for (const auto& [name, child] : children_) {
    if (std::find(seen.begin(), seen.end(), child.get()) != seen.end()) continue;
    seen.push_back(child.get());
    out.emplace_back(name, child);
  }
  return out;
}

NamedModules Module::named_modules() {
  std::shared_ptr<Module> self = weak_from_this().lock();
  FK_CHECK(self != nullptr, type_name(),
           ".named_modules: the module is not held by a std::shared_ptr (create it with std::make_shared)");
  NamedModules out;
  std::vector<const Module*> seen;
  walk("", self, seen, [&](const std::string& prefix, Module&, const std::shared_ptr<Module>& holder) {
    out.emplace_back(prefix, holder);
  });
  return out;
}

std::shared_ptr<Module> Module::find(const std::string& dotted_name) {
  if (dotted_name.empty()) {
    std::shared_ptr<Module> self = weak_from_this().lock();
    FK_CHECK(self != nullptr, type_name(),
             ".find(\"\"): the module is not held by a std::shared_ptr (create it with std::make_shared)");
    return self;
  }
  std::shared_ptr<Module> cur;
  Module* m = this;
  size_t start = 0;
  while (true) {
    size_t dot = dotted_name.find('.', start);
    std::string part = dotted_name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    auto it = std::find_if(m->children_.begin(), m->children_.end(), [&](const auto& c) { return c.first == part; });
    if (it == m->children_.end()) {
      std::vector<std::string> names;
      std::vector<const Module*> seen;
      walk("", nullptr, seen, [&](const std::string& prefix, Module&, const std::shared_ptr<Module>&) {
        if (!prefix.empty()) names.push_back(prefix);
      });
      throw Error(detail::concat(type_name(), ".find: no submodule \"", dotted_name, "\"; closest: ",
                                 closest(dotted_name, names)));
    }
    cur = it->second;
    m = cur.get();
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

Tensor& Module::parameter(const std::string& dotted_name) {
  size_t dot = dotted_name.rfind('.');
  std::string local = dot == std::string::npos ? dotted_name : dotted_name.substr(dot + 1);
  Module* owner = this;
  std::shared_ptr<Module> keep;
  if (dot != std::string::npos) {
    std::string path = dotted_name.substr(0, dot);
    // a bad path reports the parameter names, not module names
    bool ok = true;
    Module* m = this;
    size_t start = 0;
    while (ok) {
      size_t d = path.find('.', start);
      std::string part = path.substr(start, d == std::string::npos ? std::string::npos : d - start);
      auto it = std::find_if(m->children_.begin(), m->children_.end(), [&](const auto& c) { return c.first == part; });
      if (it == m->children_.end()) {
        ok = false;
        break;
      }
      m = it->second.get();
      if (d == std::string::npos) break;
      start = d + 1;
    }
    owner = ok ? m : nullptr;
  }
  if (owner != nullptr)
    for (auto& slot : owner->params_)
      if (slot->name == local && slot->tensor.defined()) return slot->tensor;
  std::vector<std::string> names;
  for (auto& [name, t] : named_parameters()) names.push_back(name);
  throw Error(detail::concat(type_name(), ".parameter: no parameter \"", dotted_name, "\"; closest: ",
                             closest(dotted_name, names)));
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const Tensor& p : parameters()) n += p.numel();
  return n;
}

void Module::zero_grad() {
  for (Tensor& p : parameters()) p.zero_grad();
}

// ---------------------------------------------------------------- state dict

void Module::collect_state(const std::string& prefix, std::vector<StateEntry>& out) {
  for (auto& slot : params_)
    if (slot->tensor.defined()) out.push_back({join_dotted(prefix, slot->name), &slot->tensor, this, slot->name});
  for (auto& slot : buffers_)
    if (slot->tensor.defined()) out.push_back({join_dotted(prefix, slot->name), &slot->tensor, this, slot->name});
  for (auto& [name, child] : children_) child->collect_state(join_dotted(prefix, name), out);
}

StateDict Module::state_dict() const {
  std::vector<StateEntry> entries;
  const_cast<Module*>(this)->collect_state("", entries);  // only reads
  StateDict sd;
  for (const auto& e : entries) sd.set(e.key, e.tensor->detach());
  return sd;
}

IncompatibleKeys Module::load_state_dict(const StateDict& sd, bool strict) {
  weights_changed();
  std::vector<StateEntry> entries;
  collect_state("", entries);
  IncompatibleKeys result;
  std::vector<std::string> mismatches;
  std::vector<std::pair<Tensor*, Tensor>> copies;
  std::vector<StateEntry*> fill_later;
  std::unordered_set<std::string> expected;
  for (auto& e : entries) {
    expected.insert(e.key);
    if (!sd.contains(e.key)) {
      fill_later.push_back(&e);
      continue;
    }
    Tensor src = sd.at(e.key);
    FK_CHECK(src.defined(), "load_state_dict(", type_name(), "): key \"", e.key, "\" holds an undefined tensor");
    // PyTorch's backward-compatibility rule: a 1-element 1-d value loads into a 0-d tensor
    if (e.tensor->dim() == 0 && src.dim() == 1 && src.numel() == 1) src = ops::reshape(src, {});
    if (src.shape() != e.tensor->shape()) {
      mismatches.push_back("size mismatch for " + e.key + ": checkpoint has " + shape_str(src.shape()) +
                           ", the model " + shape_str(e.tensor->shape()));
      continue;
    }
    copies.emplace_back(e.tensor, src);
  }
  // a missing key its owner has a value for (BatchNorm's num_batches_tracked) is not reported
  for (StateEntry* e : fill_later) {
    Tensor value = e->owner->value_for_missing(e->local);
    if (value.defined())
      copies.emplace_back(e->tensor, value);
    else
      result.missing_keys.push_back(e->key);
  }
  for (const auto& [key, t] : sd)
    if (!expected.count(key)) result.unexpected_keys.push_back(key);

  std::vector<std::string> problems;
  if (strict && !result.missing_keys.empty())
    problems.push_back(std::to_string(result.missing_keys.size()) + " missing key(s): " +
                       quoted_list(result.missing_keys));
  if (strict && !result.unexpected_keys.empty())
    problems.push_back(std::to_string(result.unexpected_keys.size()) + " unexpected key(s): " +
                       quoted_list(result.unexpected_keys));
  const size_t shown = std::min(mismatches.size(), kKeysListed);
  problems.insert(problems.end(), mismatches.begin(), mismatches.begin() + int64_t(shown));
  if (mismatches.size() > shown) problems.push_back("and " + std::to_string(mismatches.size() - shown) + " more size mismatches");
  if (!problems.empty()) {
    std::string msg = "load_state_dict(" + type_name() + "): ";
    for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
    throw Error(msg);
  }
  autograd::NoGrad no_grad;
  for (auto& [dst, src] : copies) ops::copy_(*dst, src);
  return result;
}

void Module::convert_tensors(const std::function<Tensor(const Tensor&)>& fn) {
  std::unordered_set<const TensorImpl*> done;
  std::vector<StateEntry> entries;
  collect_state("", entries);
  for (auto& e : entries) {
    if (!done.insert(e.tensor->impl()).second) continue;
    Tensor converted = fn(*e.tensor);
    if (converted.impl() == e.tensor->impl()) continue;
    e.tensor->zero_grad();
    replace_contents(*e.tensor, converted);
  }
}

Module& Module::to(DType dtype) {
  FK_CHECK(is_floating(dtype), type_name(), ".to: ", dtype_name(dtype),
           " is not a floating-point dtype (only floating-point parameters and buffers are converted)");
  weights_changed();
  autograd::NoGrad no_grad;
  convert_tensors([&](const Tensor& t) { return is_floating(t.dtype()) ? t.to(dtype).contiguous() : t; });
  return *this;
}

Module& Module::to(Device device) {
  weights_changed();
  autograd::NoGrad no_grad;
  convert_tensors([&](const Tensor& t) { return t.to(device); });
  return *this;
}

// ---------------------------------------------------------------- printing

std::string Module::type_name() const {
  const char* mangled = typeid(*this).name();
  int status = 0;
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = (status == 0 && demangled) ? demangled : mangled;
  std::free(demangled);
  size_t template_start = name.find('<');
  size_t ns = name.rfind("::", template_start);
  return ns == std::string::npos ? name : name.substr(ns + 2);
}

// every line but the first indented by two spaces (torch's _addindent)
static std::string add_indent(const std::string& s) {
  std::string out;
  for (char c : s) {
    out += c;
    if (c == '\n') out += "  ";
  }
  return out;
}

std::string Module::repr() const {
  std::vector<std::string> extra_lines;
  std::string extra = extra_repr();
  if (!extra.empty()) {
    std::istringstream is(extra);
    for (std::string line; std::getline(is, line);) extra_lines.push_back(line);
  }
  std::vector<std::string> child_lines;
  for (const auto& [name, child] : children_) child_lines.push_back("(" + name + "): " + add_indent(child->repr()));
  std::string out = type_name() + "(";
  if (!extra_lines.empty() || !child_lines.empty()) {
    if (extra_lines.size() == 1 && child_lines.empty()) {
      out += extra_lines[0];
    } else {
      out += "\n";
      for (const auto& l : extra_lines) out += "  " + l + "\n";
      for (const auto& l : child_lines) out += "  " + l + "\n";
    }
  }
  return out + ")";
}

std::ostream& operator<<(std::ostream& os, const Module& m) { return os << m.repr(); }

// ---------------------------------------------------------------- init

namespace init {

void uniform_(Tensor& t, double lo, double hi) {
  Generator& gen = default_generator();
  auto draw = [&] { return lo + (hi - lo) * gen.uniform(); };
  if (t.device().is_cpu() && t.is_contiguous() && is_compute_float(t.dtype())) {
    // drawn straight into the tensor: a float64 staging tensor the size of the weight would be left in
    // the CPU allocator's cache (tensor/cpu_allocator.h) after every layer's initialisation, ~1.3x the
    // model's parameters held for nothing. Same values as the staged copy (double rounded to T).
    dispatch_float(t.dtype(), "init::uniform_", [&]<class T>() {
      T* p = t.data<T>();
      for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = T(draw());
    });
    return;
  }
  std::vector<double> values(size_t(t.numel()));
  for (double& v : values) v = draw();
  autograd::NoGrad no_grad;
  ops::copy_(t, from_buffer(values.data(), t.shape(), DType::Float64));
}

std::pair<int64_t, int64_t> fans(const Tensor& t) {
  FK_CHECK(t.dim() >= 2, "init: fan in and fan out need a tensor with at least 2 dimensions, got ",
           shape_str(t.shape()));
  int64_t receptive = 1;
  for (int64_t d = 2; d < t.dim(); ++d) receptive *= t.size(d);
  return {t.size(1) * receptive, t.size(0) * receptive};
}

void kaiming_uniform_default_(Tensor& t) {
  // gain = sqrt(2 / (1 + a^2)) with a = sqrt(5); bound = gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in)
  int64_t fan_in = fans(t).first;
  double bound = fan_in > 0 ? 1.0 / std::sqrt(double(fan_in)) : 0.0;
  uniform_(t, -bound, bound);
}

void xavier_uniform_(Tensor& t) {
  auto [fan_in, fan_out] = fans(t);
  double bound = std::sqrt(6.0 / double(fan_in + fan_out));
  uniform_(t, -bound, bound);
}

}  // namespace init

}  // namespace fk
