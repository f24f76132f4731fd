// The `facekit` command: one executable, one subcommand per file in apps/. Errors from the library
// are printed as "facekit: <message>" with exit code 1; bad usage exits 2 (CLI11's parse errors).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "apps/commands.h"
#include "cuda/runtime.h"
#include "tensor/error.h"

// OpenMP's idle threads spin before they sleep. With libgomp's default spin count they steal the
// cores from OpenBLAS and from any other process: on a busy 2-core machine the demo ran 2-20x
// slower, while a short spin (GOMP_SPINCOUNT=10000) is as fast as the default on an idle machine and
// the fastest under load (docs/perf.md). libgomp reads the variable when it is loaded, before main,
// so we set it and start ourselves again, once, unless the user chose a policy.
static void set_openmp_spin(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  setenv("GOMP_SPINCOUNT", "10000", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then run with the default policy
}

int main(int argc, char** argv) {
  set_openmp_spin(argv);
  CLI::App app{"facekit: face detection, alignment, recognition and training, from scratch in C++"};
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", std::string("facekit ") + FK_VERSION + " (" + fk::cuda::describe() + ")");
  fk::apps::add_demo_command(app);
  fk::apps::add_inspect_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (app.get_subcommands().empty()) {
    std::cout << app.help();
    return 0;
  }
  try {
    return fk::apps::run_selected(app);
  } catch (const fk::Error& e) {
    std::cerr << "facekit: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "facekit: " << e.what() << "\n";
    return 1;
  }
}
