// Subcommand registry of the `facekit` command: each apps/<command>.cpp adds its CLI11 subcommand
// and the function that runs it; main() runs the one the user picked.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace fk::apps {

// Registers `cmd`'s runner; called by the add_*_command functions.
void on_run(CLI::App* cmd, std::function<int()> run);
// Runs the subcommand that was parsed; returns its exit code.
int run_selected(CLI::App& app);

// Usage checks shared by the commands (a failed one exits 2 naming the option):
// a finite number ("nan" and "inf" refused; main() puts it on every number option),
CLI::Validator finite_number();
// a device name: cpu, cuda or cuda:N (whether that device is present is checked when the run starts).
CLI::Validator device_name();
// --allow-nonfinite: weights (and galleries) holding NaN or Inf are refused unless it is given.
void add_allow_nonfinite_flag(CLI::App* cmd, bool& flag);

void add_demo_command(CLI::App& app);
void add_inspect_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_detect_command(CLI::App& app);
void add_align_command(CLI::App& app);
void add_embed_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_identify_command(CLI::App& app);
void add_lookalike_command(CLI::App& app);
void add_cluster_command(CLI::App& app);
void add_gradcam_command(CLI::App& app);
void add_verify_command(CLI::App& app);
void add_synth_faces_command(CLI::App& app);

}  // namespace fk::apps
