// The `facekit` command: one executable, one subcommand per file in apps/. Errors from the library
// are printed as "facekit: <message>" with exit code 1; bad usage exits 2 (CLI11's parse errors, a
// missing command, a number option that is not finite); output that cannot be written exits 1.
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "apps/commands.h"
#include "cuda/runtime.h"
#include "tensor/error.h"
#include "tensor/printable.h"

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
  // every number option of every command is finite: "nan" passes range checks (comparisons with NaN
  // are false), "inf" would be a size or a factor no run can use
  for (CLI::App* cmd : app.get_subcommands([](CLI::App*) { return true; }))
    for (CLI::Option* opt : cmd->get_options())
      if (opt->get_type_name().rfind("FLOAT", 0) == 0) opt->check(fk::apps::finite_number());
  int rc = 0;
  try {
    app.parse(argc, argv);
    if (app.get_subcommands().empty()) {  // a command is needed: usage on stderr, as for any bad usage
      std::cerr << app.help() << "facekit: a command is required\n";
      rc = 2;
    } else {
      rc = fk::apps::run_selected(app);
    }
  } catch (const CLI::ParseError& e) {
    rc = app.exit(e) == 0 ? 0 : 2;
  } catch (const std::exception& e) {  // fk::Error and the rest: one line, exit 1
    std::cerr << "facekit: " << fk::printable(e.what()) << "\n";
    rc = 1;
  }
  // What was printed must have reached stdout: a full disk or a closed pipe is an error, not exit 0
  // with the output lost (e.g. `facekit detect photo.jpg > /dev/full`).
  std::cout.flush();
  if (!std::cout || std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::cerr << "facekit: cannot write to standard output: " << std::strerror(errno ? errno : EIO) << "\n";
    return 1;
  }
  return rc;
}
