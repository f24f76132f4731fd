// Unpickled objects flattened into state dicts as PyTorch names them (pickle.h: flatten): dotted keys
// through dicts, lists and tuples, a whole pickled nn.Module as model.state_dict() gives it; tied weights
// stay one tensor; depth and visits are budgeted (shared references could blow up).
// Tests: tests/data/formats/test_torch_reader.cpp, tests/data/formats/test_hostile_files.cpp.
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "data/pickle/pickle.h"

namespace fk::data::pickle {

namespace {

struct Flattener {
  std::string what;
  StateDict out;
  std::unordered_map<const Value*, Tensor> done;  // tied weights stay one tensor
  size_t visits = 0;
  static constexpr size_t kMaxVisits = 4'000'000;
  static constexpr int kMaxDepth = 1000;

  static std::string join(const std::string& prefix, const std::string& k) { return prefix.empty() ? k : prefix + "." + k; }

  void add(const std::string& key, const Value* v) {
    std::string k = key.empty() ? "tensor" : key;
    FK_CHECK(!out.contains(k), what, ": key '", k, "' appears twice after flattening nested dicts");
    auto it = done.find(v);
    if (it == done.end()) it = done.emplace(v, materialize(v, what, k)).first;
    out.set(k, it->second);
  }

  void step(int depth) {
    FK_CHECK(depth <= kMaxDepth, what, ": objects nested deeper than ", kMaxDepth, " levels");
    FK_CHECK(++visits <= kMaxVisits, what, ": more than ", kMaxVisits,
             " object visits while flattening (shared references blow up; hostile file?)");
  }

  static bool key_text(const Value* k, std::string& s) {
    if (k->is_text()) s = k->as_utf8();
    else if (k->kind == Kind::Int) s = std::to_string(k->integer);
    else return false;
    return true;
  }

  void module(const Value* obj, const std::string& prefix, int depth) {
    step(depth);
    const Value* st = obj->state;
    std::unordered_set<std::string> non_persistent;
    if (const Value* np = st->get("_non_persistent_buffers_set"); np && np->kind == Kind::Set)
      for (const Value* n : np->items)
        if (n->is_text()) non_persistent.insert(n->as_utf8());
    for (const char* group : {"_parameters", "_buffers"}) {
      const Value* d = st->get(group);
      if (!d || d->kind != Kind::Dict) continue;
      for (size_t i = 0; i + 1 < d->items.size(); i += 2) {
        std::string k;
        const Value* v = d->items[i + 1];
        if (!key_text(d->items[i], k) || v->kind == Kind::None) continue;
        if (group[1] == 'b' && non_persistent.count(k)) continue;
        add(join(prefix, k), v);
      }
    }
    const Value* mods = st->get("_modules");
    if (!mods || mods->kind != Kind::Dict) return;
    for (size_t i = 0; i + 1 < mods->items.size(); i += 2) {
      std::string k;
      const Value* m = mods->items[i + 1];
      if (!key_text(mods->items[i], k) || m->kind == Kind::None) continue;
      value(m, join(prefix, k), depth + 1);
    }
  }

  static bool is_module(const Value* v) {
    return v->kind == Kind::Object && v->state && v->state->kind == Kind::Dict &&
           (v->state->get("_parameters") || v->state->get("_modules"));
  }

  static bool is_leaf(const Value* v) {
    switch (v->kind) {
      case Kind::Tensor: case Kind::TensorView: case Kind::NumpyArray: case Kind::Dict:
      case Kind::List: case Kind::Tuple: case Kind::Object: return false;
      default: return true;
    }
  }

  void value(const Value* v, const std::string& prefix, int depth) {
    if (is_leaf(v)) return;  // numbers, strings, None: checkpoint metadata, not tensors
    step(depth);
    switch (v->kind) {
      case Kind::Tensor:
      case Kind::TensorView: add(prefix, v); return;
      case Kind::NumpyArray:
        if (v->shape.empty() && v->items.size() == 1) return value(v->items[0], prefix, depth + 1);
        for (size_t i = 0; i < v->items.size(); ++i)
          if (!is_leaf(v->items[i])) value(v->items[i], join(prefix, std::to_string(i)), depth + 1);
        return;
      case Kind::Dict:
        for (size_t i = 0; i + 1 < v->items.size(); i += 2) {
          std::string k;
          if (!is_leaf(v->items[i + 1]) && key_text(v->items[i], k)) value(v->items[i + 1], join(prefix, k), depth + 1);
        }
        return;
      case Kind::List:
      case Kind::Tuple:
        for (size_t i = 0; i < v->items.size(); ++i)
          if (!is_leaf(v->items[i])) value(v->items[i], join(prefix, std::to_string(i)), depth + 1);
        return;
      case Kind::Object:
        if (is_module(v)) module(v, prefix, depth + 1);
        return;
      default: return;
    }
  }
};

}  // namespace

StateDict flatten(const Value* root, const std::string& what) {
  Flattener f;
  f.what = what;
  f.value(root, "", 0);
  return std::move(f.out);
}

}  // namespace fk::data::pickle
