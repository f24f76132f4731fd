// The zoo's name table and the weights-selection helper shared by `facekit run` and the apps.
#include <algorithm>
#include <stdexcept>

#include "models/zoo/zoo.h"

namespace fk::models {

const std::vector<ArchInfo>& architectures() {
  static const std::vector<ArchInfo> all = [] {
    std::vector<ArchInfo> v;
    add_vggface2_archs(v);
    add_resnet_torchvision_archs(v);
    add_inception_resnet_v1_archs(v);
    add_irse_archs(v);
    add_iresnet_archs(v);
    add_mobilefacenet_archs(v);
    add_mtcnn_archs(v);
    return v;
  }();
  return all;
}

const ArchInfo& find_architecture(const std::string& name) {
  for (const auto& a : architectures())
    if (a.name == name) return a;
  std::string names;
  for (const auto& a : architectures()) names += (names.empty() ? "" : ", ") + a.name;
  throw std::invalid_argument("unknown architecture '" + name + "' (expected one of: " + names + ")");
}

std::shared_ptr<Model> create(const std::string& name, const ArchOptions& opts) {
  return find_architecture(name).make(opts);
}

namespace {
bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
}  // namespace

StateDict select_weights(const StateDict& file_contents, const std::string& key) {
  std::vector<std::pair<std::string, Tensor>> picked;
  if (key.empty()) {
    picked = file_contents.items();
  } else {
    picked = file_contents.under(key + ".").items();
    if (picked.empty()) {
      // name the top-level entries so the user sees what to pick instead
      std::vector<std::string> tops;
      for (const auto& [name, t] : file_contents) {
        std::string top = name.substr(0, name.find('.'));
        if (std::find(tops.begin(), tops.end(), top) == tops.end()) tops.push_back(top);
      }
      std::string list;
      for (size_t i = 0; i < tops.size() && i < 12; ++i) list += (i ? ", " : "") + tops[i];
      if (tops.size() > 12) list += ", ...";
      throw std::invalid_argument("no weights under key '" + key + "' (top-level entries: " + list + ")");
    }
  }
  StateDict out;
  for (auto& [name, t] : picked) out.set(starts_with(name, "module.") ? name.substr(7) : name, t);
  return out;
}

}  // namespace fk::models
