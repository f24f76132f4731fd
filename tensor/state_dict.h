// StateDict: an ordered map from dotted parameter names ("layer1.0.conv1.weight") to tensors, as
// PyTorch's model.state_dict() (an OrderedDict). Insertion order is kept: files are written and
// listed in the order the model registers its parameters. Shared by layers/ (Module::state_dict)
// and data/ (the weight-file readers and writers).
#pragma once

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace fk {

class StateDict {
 public:
  // Adds or replaces `name` (a replaced entry keeps its position).
  void set(const std::string& name, const Tensor& t) {
    auto it = index_.find(name);
    if (it != index_.end()) {
      items_[it->second].second = t;
      return;
    }
    index_[name] = items_.size();
    items_.emplace_back(name, t);
  }
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  // Throws naming the key when it is absent.
  const Tensor& at(const std::string& name) const {
    auto it = index_.find(name);
    FK_CHECK(it != index_.end(), "state dict has no key '", name, "'");
    return items_[it->second].second;
  }
  // The entries whose key starts with `prefix` (e.g. "model_state_dict."), the prefix removed, in order.
  StateDict under(const std::string& prefix) const {
    StateDict out;
    for (const auto& [key, t] : items_)
      if (key.rfind(prefix, 0) == 0) out.set(key.substr(prefix.size()), t);
    return out;
  }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  const std::vector<std::pair<std::string, Tensor>>& items() const { return items_; }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::vector<std::pair<std::string, Tensor>> items_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace fk
