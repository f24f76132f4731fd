// `facekit synth-faces OUT_DIR [--identities N] [--images N] [--size WxH] [--seed S] [--pose-noise x]
// [--light-noise x]`: writes a small synthetic face dataset (data/loading/synthetic_faces.h) as an ImageFolder
// tree, OUT_DIR/train/id_XX/NNN.png and OUT_DIR/val/id_XX/NNN.png (a quarter of each identity's
// images go to val), and prints a one-line summary. The same seed writes byte-identical files.
// Tests: tests/data/loading/test_synthetic_faces.cpp.
#include <cstdio>
#include <regex>

#include "apps/commands.h"
#include "apps/progress.h"
#include "data/loading/synthetic_faces.h"
#include "tensor/error.h"

namespace fk::apps {

namespace {

struct SynthArgs {
  std::string out_dir;
  std::string size = "112x112";
  data::synth::SyntheticFaceOptions opts;
};

// "WxH" (or a single number for a square) to width and height.
void parse_size(const std::string& text, data::synth::SyntheticFaceOptions& opts) {
  std::smatch m;
  if (std::regex_match(text, m, std::regex(R"((\d{1,5})(?:[xX](\d{1,5}))?)"))) {
    opts.width = std::stoll(m[1].str());
    opts.height = m[2].matched ? std::stoll(m[2].str()) : opts.width;
    return;
  }
  throw Error("--size: expected WxH (e.g. 112x112), got '" + text + "'");
}

int run_synth(SynthArgs args) {
  parse_size(args.size, args.opts);
  data::synth::check_options(args.opts);
  Progress progress("synth-faces", args.opts.identities * args.opts.images_per_identity);
  auto summary = data::synth::write_synthetic_faces(args.out_dir, args.opts,
                                                    [&](int64_t done, int64_t) { progress.update(done); });
  progress.done();
  std::printf("wrote %lld identities x %lld images (%lldx%lld, seed %llu): %lld train, %lld val under %s\n",
              (long long)summary.identities, (long long)args.opts.images_per_identity, (long long)args.opts.width,
              (long long)args.opts.height, (unsigned long long)args.opts.seed, (long long)summary.train_images,
              (long long)summary.val_images, args.out_dir.c_str());
  return 0;
}

}  // namespace

void add_synth_faces_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "synth-faces",
      "Write a synthetic face dataset (procedural identities under random pose and lighting) as OUT_DIR/{train,val}/id_XX/NNN.png");
  auto args = std::make_shared<SynthArgs>();
  cmd->add_option("out_dir", args->out_dir, "Output folder (its train/ and val/ must not exist yet)")->required();
  cmd->add_option("--identities", args->opts.identities, "Number of people (2..1000)")->capture_default_str()
      ->check(CLI::Range(2, 1000));
  cmd->add_option("--images", args->opts.images_per_identity,
                  "Images per person (2..10000); a quarter (at least one) go to val/")->capture_default_str()
      ->check(CLI::Range(2, 10000));
  cmd->add_option("--size", args->size, "Image size WxH, each side 32..1024")->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& text) {
            data::synth::SyntheticFaceOptions probe;
            try {
              parse_size(text, probe);
              data::synth::check_options(probe);
            } catch (const std::exception& e) {
              return std::string(e.what());
            }
            return std::string();
          },
          "WxH"));
  cmd->add_option("--seed", args->opts.seed, "Seed: the same seed writes byte-identical files")->capture_default_str();
  cmd->add_option("--pose-noise", args->opts.pose_noise,
                  "Pose variation (0..4); 1 = rotation +-10 deg, scale +-8 %, shift +-4 px at 112, slight yaw")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 4.0));
  cmd->add_option("--light-noise", args->opts.light_noise,
                  "Lighting variation (0..4); 1 = gradient, brightness, contrast, pixel noise, random background")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 4.0));
  on_run(cmd, [args]() { return run_synth(*args); });
}

}  // namespace fk::apps
