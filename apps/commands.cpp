// The subcommand registry (see commands.h).
#include "apps/commands.h"

#include <cmath>
#include <cstdlib>
#include <map>
#include <regex>

namespace fk::apps {

static std::map<CLI::App*, std::function<int()>>& runners() {
  static std::map<CLI::App*, std::function<int()>> r;
  return r;
}

void on_run(CLI::App* cmd, std::function<int()> run) { runners()[cmd] = std::move(run); }

int run_selected(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands()) {
    auto it = runners().find(sub);
    if (it != runners().end()) return it->second();
  }
  return 2;
}

CLI::Validator finite_number() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        if (end != s.c_str() && *end == '\0' && !std::isfinite(v)) return "must be a finite number, got " + s;
        return "";  // anything else is CLI11's own conversion's to judge
      },
      "");
}

void add_allow_nonfinite_flag(CLI::App* cmd, bool& flag) {
  cmd->add_flag("--allow-nonfinite", flag,
                "Use weights (and galleries) even when they hold NaN or infinite values (refused by default)");
}

CLI::Validator device_name() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        static const std::regex ok("cpu|cuda|cuda:[0-9]+");
        return std::regex_match(s, ok) ? "" : "unknown device '" + s + "' (expected cpu, cuda or cuda:N)";
      },
      "DEVICE");
}

}  // namespace fk::apps
