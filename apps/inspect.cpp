// `facekit inspect FILE [--json]`: what a weights file holds, read by facekit's own readers (nothing
// executed): the format sniffed from the content (torch-zip, torch-legacy, pickle, npz, npy), every key
// in file order with its dtype and shape, and the parameter count (sum of numel over floating-point
// tensors, as sum(p.numel() for p in state_dict.values() if p.is_floating_point()) in PyTorch).
// Tests: tests/apps/test_inspect.cpp.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "apps/commands.h"
#include "data/formats/weights.h"

namespace fk::apps {

namespace {

bool is_floating(DType t) {
  return t == DType::Float32 || t == DType::Float64 || t == DType::Float16 || t == DType::BFloat16;
}

int run_inspect(const std::string& path, bool json) {
  std::string format;
  StateDict sd = data::read_weights(path, &format);
  int64_t params = 0;
  for (const auto& [name, t] : sd)
    if (is_floating(t.dtype())) params += t.numel();

  if (json) {
    nlohmann::ordered_json out;
    out["path"] = path;
    out["format"] = format;
    out["tensors"] = nlohmann::ordered_json::array();
    for (const auto& [name, t] : sd)
      out["tensors"].push_back({{"name", name}, {"dtype", dtype_name(t.dtype())}, {"shape", t.shape()}});
    out["num_tensors"] = sd.size();
    out["parameters"] = params;
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  size_t width = 4;
  for (const auto& [name, t] : sd) width = std::max(width, name.size());
  std::printf("%s: %s, %zu tensors, %lld parameters\n", path.c_str(), format.c_str(), sd.size(), (long long)params);
  for (const auto& [name, t] : sd)
    std::printf("  %-*s  %-8s  %s\n", int(width), name.c_str(), dtype_name(t.dtype()), shape_str(t.shape()).c_str());
  return 0;
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "inspect", "Show what a weights file holds: format, every key with dtype and shape, parameter count");
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("file", *path, "Weights file (.pt/.pth, legacy torch, .pkl, .npz, .npy; sniffed by content)")
      ->required();
  cmd->add_flag("--json", *json, "Print JSON: {path, format, tensors: [{name, dtype, shape}], num_tensors, parameters}");
  on_run(cmd, [path, json]() { return run_inspect(*path, *json); });
}

}  // namespace fk::apps
