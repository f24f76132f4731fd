// `facekit run --arch NAME --weights FILE --input IN.npy --output OUT.npz`: one forward pass of a zoo
// model (models/zoo/zoo.h) on an NCHW float32 array, every output written to an .npz named after it
// (embedding, logits, features, prob, reg, landmarks). Weights in any format the readers accept;
// --weights-key picks a state dict nested in a training checkpoint, and a DataParallel "module."
// prefix is stripped. The weights must fit the architecture exactly (strict load).
// Tests: tests/apps/test_run.cpp.
#include <cstdio>
#include <iostream>

#include "apps/commands.h"
#include "autograd/node.h"
#include "data/formats/npy.h"
#include "data/formats/weights.h"
#include "models/recognition/face_embedder.h"
#include "models/zoo/zoo.h"
#include "tensor/error.h"

namespace fk::apps {

namespace {

struct RunArgs {
  std::string arch, weights, weights_key, input, output, head;
  int64_t classify = 0;
  bool features = false, train_mode = false, allow_nonfinite = false;
};

std::string expected_input(const models::ArchInfo& a) {
  auto dim = [](int64_t d) { return d == 0 ? std::string("any") : std::to_string(d); };
  return "(N, " + std::to_string(a.channels) + ", " + dim(a.height) + ", " + dim(a.width) + ")";
}

int run_model(const RunArgs& args) {
  const models::ArchInfo& arch = models::find_architecture(args.arch);

  models::ArchOptions opts;
  opts.num_classes = args.classify;
  opts.features = args.features;
  if (!args.head.empty()) opts.head = args.head;
  std::shared_ptr<models::Model> model = models::load_model(args.arch, args.weights, args.weights_key, opts, args.allow_nonfinite);

  Tensor x = data::read_npy(args.input);
  if (x.dtype() == DType::Float64) x = x.to(DType::Float32);
  bool shape_ok = x.dtype() == DType::Float32 && x.dim() == 4 && x.size(0) >= 1 && x.size(1) == arch.channels &&
                  (arch.height == 0 || x.size(2) == arch.height) && (arch.width == 0 || x.size(3) == arch.width);
  if (!shape_ok)
    throw Error(args.input + ": input is " + std::string(dtype_name(x.dtype())) + shape_str(x.shape()) + ", " + arch.name +
                " expects float32 " + expected_input(arch) + " (" + arch.preprocessing + ")");

  model->train(args.train_mode);
  StateDict out;
  {
    autograd::NoGrad no_grad;
    for (const auto& [name, y] : model->forward_outputs(x)) out.set(name, y);
  }
  data::write_npz(args.output, out);
  for (const auto& [name, y] : out) std::fprintf(stderr, "%s: %s\n", name.c_str(), shape_str(y.shape()).c_str());
  return 0;
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Run a zoo model on an NCHW float32 .npy and write its outputs to an .npz");
  auto args = std::make_shared<RunArgs>();
  std::string names;
  for (const auto& a : models::architectures())
    names += "\n  " + a.name + ": " + a.description + "; input " + expected_input(a) + ", " + a.preprocessing;
  cmd->add_option("--arch", args->arch, "Architecture, one of:" + names)->required();
  cmd->add_option("--weights", args->weights, "Weights (.pt/.pth/.ckpt, legacy torch, .pkl, .npz; sniffed by content)")
      ->required();
  cmd->add_option("--weights-key", args->weights_key,
                  "Use the state dict nested under this key (e.g. net_state_dict of a training checkpoint)");
  add_allow_nonfinite_flag(cmd, args->allow_nonfinite);
  cmd->add_option("--input", args->input, "Input .npy: float32 (N, C, H, W), already preprocessed")->required();
  cmd->add_option("--output", args->output,
                  "Output .npz, one array per output: embedding, logits, features, prob, reg, landmarks")
      ->required();
  cmd->add_option("--classify", args->classify,
                  "Classifier size N (default: read from the weights, else the architecture's default)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--features", args->features, "VGGFace2 nets: write the 2048-d pooled feature instead of the logits");
  cmd->add_option("--head", args->head,
                  "resnet50_torchvision's classifier head: fc, linear or mlp (default: read from the weights)")
      ->check(CLI::IsMember({"fc", "linear", "mlp"}));
  cmd->add_flag("--train-mode", args->train_mode,
                "Run in training mode (BatchNorm uses batch statistics, dropout is active)");
  on_run(cmd, [args]() { return run_model(*args); });
}

}  // namespace fk::apps
