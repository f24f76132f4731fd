// The `facekit` command: one executable, one subcommand per file in apps/. Errors from the library
// are printed as "facekit: <message>" with exit code 1; bad usage exits 2 (CLI11's parse errors).
#include <CLI/CLI.hpp>
#include <iostream>

#include "apps/commands.h"
#include "cuda/runtime.h"
#include "tensor/error.h"

int main(int argc, char** argv) {
  CLI::App app{"facekit: face detection, alignment, recognition and training, from scratch in C++"};
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", std::string("facekit ") + FK_VERSION + " (" + fk::cuda::describe() + ")");
  fk::apps::add_demo_command(app);
  fk::apps::add_inspect_command(app);
  fk::apps::add_run_command(app);
  fk::apps::add_detect_command(app);
  fk::apps::add_align_command(app);
  fk::apps::add_embed_command(app);
  fk::apps::add_train_command(app);
  fk::apps::add_identify_command(app);
  fk::apps::add_lookalike_command(app);
  fk::apps::add_cluster_command(app);
  fk::apps::add_gradcam_command(app);
  fk::apps::add_verify_command(app);
  fk::apps::add_synth_faces_command(app);
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
