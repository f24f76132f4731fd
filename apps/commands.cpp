// The subcommand registry (see commands.h).
#include "apps/commands.h"

#include <map>

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

}  // namespace fk::apps
