// `facekit train --data DIR_OR_LIST --arch NAME --head arcface|cosface|sphereface|softmax|focal
//  [--center-loss w] --epochs N --batch B --lr X [--val DIR | --val-pairs FILE] [--val-bin A.bin,B.bin] [--tensorboard DIR] [--pretrained FILE]
//  [--freeze-backbone] --out RUN_DIR [--resume] [--device cpu|cuda|cuda:N]`: trains a backbone
// (models/training/trainer.h; on a GPU with --device cuda) with a
// progress bar per epoch (loss, accuracy, images/s, ETA), metrics.jsonl and curves.png in RUN_DIR,
// checkpoints in PyTorch format (last.pth, best.pth, backbone.pth).
// Tests: tests/apps/test_train.cpp.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <unistd.h>

#include "apps/commands.h"
#include "apps/face_inputs.h"
#include "models/training/trainer.h"
#include "tensor/error.h"

namespace fk::apps {

namespace {

std::string clock_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto s = int64_t(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60), (long long)(s % 60));
  else std::snprintf(buf, sizeof buf, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
  return buf;
}

struct TrainArgs {
  models::TrainConfig config;
  std::string head = "arcface", optimizer = "sgd", schedule = "step";  // parsed into config's enums
  std::string mtcnn_weights;
  // testing aids (hidden options): a simulated crash (the process exits at once, as if killed)
  int64_t abort_after_steps = -1;  // after this many steps of this process
  std::string abort_before_write;  // "best.pth@2": just before writing that file after epoch 2
};

int run_train(const TrainArgs& args) {
  models::TrainConfig config = args.config;
  config.head = models::parse_head(args.head);
  config.optimizer = models::parse_optimizer(args.optimizer);
  config.schedule = models::parse_schedule(args.schedule);
  if (config.face_crop) config.mtcnn_weights = mtcnn_weights_dir(args.mtcnn_weights);
  const bool tty = isatty(2);
  models::TrainCallbacks cb;
  const int64_t abort_after = args.abort_after_steps;
  cb.on_step = [tty, abort_after](const models::StepInfo& s) {
    if (abort_after >= 0 && s.steps_this_process >= abort_after) std::_Exit(137);  // a simulated crash
    if (!tty) return;
    const int width = 24;
    int filled = s.steps > 0 ? int(width * s.step / s.steps) : width;
    std::string bar(size_t(filled), '=');
    if (filled < width) bar += '>' + std::string(size_t(width - filled - 1), ' ');
    std::fprintf(stderr, "\repoch %lld/%lld [%s] %lld/%lld loss %.4f acc %.3f %.1f img/s ETA %s   ",
                 (long long)s.epoch + 1, (long long)s.epochs, bar.c_str(), (long long)s.step, (long long)s.steps, s.loss,
                 s.accuracy, s.images_per_second, clock_text(s.eta_seconds).c_str());
    std::fflush(stderr);
  };
  cb.on_epoch = [tty](const models::EpochMetrics& m) {
    if (tty) std::fprintf(stderr, "\n");
    std::printf("epoch %lld: lr %.3g, loss %.4f, train accuracy %.4f", (long long)m.epoch + 1, m.lr, m.train_loss,
                m.train_accuracy);
    if (m.val_accuracy >= 0) std::printf(", %s accuracy %.4f", m.val_kind.c_str(), m.val_accuracy);
    for (const auto& [name, acc] : m.val_bins)
      if (acc >= 0) std::printf(", %s %.4f", name.c_str(), acc);
    std::printf(", %.1f img/s, %s (loader wait %.0f %%)%s%s\n", m.images_per_second, clock_text(m.seconds).c_str(),
                m.seconds > 0 ? 100.0 * m.loader_wait_seconds / m.seconds : 0.0,
                m.skipped_images ? (", " + std::to_string(m.skipped_images) + " images skipped").c_str() : "",
                m.best ? " (best)" : "");
    std::fflush(stdout);
  };
  cb.on_message = [](const std::string& msg) { std::cerr << msg << "\n"; };
  if (!args.abort_before_write.empty())
    cb.before_write = [abort = args.abort_before_write](const std::string& file, int64_t epochs_done) {
      if (abort == file + "@" + std::to_string(epochs_done)) std::_Exit(137);  // a simulated crash
    };
  auto metrics = models::train(config, cb);
  std::printf("done: %zu epochs in %s (last.pth, best.pth, backbone.pth, metrics.jsonl, curves.png)\n", metrics.size(),
              args.config.out.c_str());
  return 0;
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a face-recognition backbone (or a transfer-learning classifier)");
  auto args = std::make_shared<TrainArgs>();
  models::TrainConfig& c = args->config;
  cmd->add_option("--data", c.data, "Training images: a folder per identity, or a list file '<relative path> <label>'")
      ->required();
  cmd->add_option("--data-root", c.data_root, "Images folder of a list file (default: the list's folder)");
  cmd->add_option("--arch", c.arch, "Architecture (see `facekit run --help`); ir_small trains in minutes on a CPU")
      ->capture_default_str();
  cmd->add_option("--classifier", c.classifier, "resnet50_torchvision's classifier layout: fc, linear or mlp")
      ->check(CLI::IsMember({"fc", "linear", "mlp"}));
  cmd->add_option("--head", args->head, "Loss head on the embedding")
      ->capture_default_str()
      ->check(CLI::IsMember({"arcface", "cosface", "sphereface", "softmax", "focal"}));
  cmd->add_option("--margin-s", c.margin_s, "Scale s of ArcFace/CosFace (default 64)");
  cmd->add_option("--margin-m", c.margin_m, "Margin m (ArcFace 0.5, CosFace 0.4; SphereFace's integer m, 4)");
  cmd->add_option("--focal-gamma", c.focal_gamma, "gamma of the focal loss")->capture_default_str();
  cmd->add_option("--center-loss", c.center_loss, "Add the center loss with this weight")->capture_default_str();
  cmd->add_option("--center-alpha", c.center_alpha,
                  "Update the centres with Wen et al.'s rule at this rate (0: the optimiser updates them)")
      ->capture_default_str();
  cmd->add_option("--epochs", c.epochs, "Epochs")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--batch", c.batch, "Batch size")->capture_default_str()->check(CLI::Range(1, 65536));
  cmd->add_option("--lr", c.lr, "Learning rate")->capture_default_str();
  cmd->add_option("--optimizer", args->optimizer, "sgd (momentum), adam or adamw")
      ->capture_default_str()
      ->check(CLI::IsMember({"sgd", "adam", "adamw"}));
  cmd->add_option("--momentum", c.momentum, "SGD momentum")->capture_default_str();
  cmd->add_flag("--nesterov", c.nesterov, "Nesterov momentum");
  cmd->add_option("--weight-decay", c.weight_decay, "Weight decay")->capture_default_str();
  cmd->add_flag("--bn-decay", c.bn_decay,
                "Also decay BatchNorm/PReLU parameters and biases (default: not, as egcode's sgd_bn)");
  cmd->add_option("--schedule", args->schedule, "Learning-rate schedule: step (at --milestones), cosine or none")
      ->capture_default_str()
      ->check(CLI::IsMember({"step", "cosine", "none"}));
  cmd->add_option("--milestones", c.milestones, "Epochs at which the lr is multiplied by --lr-gamma (default: 60% and 85% of the run)")
      ->delimiter(',');
  cmd->add_option("--lr-gamma", c.lr_gamma, "Factor at each milestone")->capture_default_str();
  cmd->add_option("--warmup", c.warmup_epochs, "Epochs of linear warm-up from lr/10")->capture_default_str();
  cmd->add_option("--clip-grad", c.clip_grad_norm, "Clip the gradient norm to this (0: no clipping)")->capture_default_str();
  cmd->add_option("--max-bad", c.max_bad,
                  "Largest fraction of training images that may be unreadable (each is reported once and listed in "
                  "OUT/skipped.txt); more stops the run")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--val", c.val, "Validation folder with the same identities: top-1 accuracy each epoch");
  cmd->add_option("--val-pairs", c.val_pairs, "Or a pairs file (LFW pairs.txt, CSV, CALFW / CPLFW pairs, or CFP's Protocol/Split/FF|FP folder): 10-fold "
                  "verification accuracy");
  cmd->add_option("--val-images", c.val_images, "Images folder of --val-pairs (default: the pairs file's folder)");
  cmd->add_option("--val-bin", c.val_bins,
                  "insightface verification sets (lfw.bin,cfp_fp.bin,agedb_30.bin,...; comma-separated): each one's "
                  "10-fold accuracy every epoch, as insightface measures it (flip-sum embeddings, contiguous folds), "
                  "besides --val/--val-pairs; their mean picks best.pth when there is no other validation")
      ->delimiter(',');
  cmd->add_option("--tensorboard", c.tensorboard,
                  "Also write TensorBoard event files to this folder: train/loss and train/lr per step, epoch/* "
                  "(loss, accuracies, lr, images/s, validation) per epoch (`tensorboard --logdir` reads it)");
  cmd->add_option("--val-split", c.val_split, "Without --val: hold out this fraction of each identity")->capture_default_str();
  cmd->add_option("--pretrained", c.pretrained, "Initial backbone weights (entries of other shapes are skipped)");
  cmd->add_option("--pretrained-key", c.pretrained_key, "State dict nested in the pretrained file");
  cmd->add_flag("--freeze-backbone", c.freeze_backbone, "Train only the head (transfer learning)");
  cmd->add_flag("!--no-flip", c.flip, "No random horizontal flips");
  cmd->add_option("--rotate", c.rotate, "Random rotation of +- this many degrees")->capture_default_str();
  cmd->add_option("--color-jitter", c.color_jitter, "Brightness/contrast/saturation jitter")->capture_default_str();
  cmd->add_option("--random-erasing", c.random_erasing, "Random erasing probability")->capture_default_str();
  cmd->add_flag("--sample-pairing", c.sample_pairing, "SamplePairing (mix two images) in the middle 60% of the epochs");
  cmd->add_flag("--face-crop", c.face_crop,
                "Photos, not face crops: cut out MTCNN's most confident face plus 10 px first (KIT's face_crop); "
                "images without a face are skipped");
  cmd->add_option("--mtcnn-weights", args->mtcnn_weights,
                  "With --face-crop: folder of pnet.pt, rnet.pt, onet.pt (default: $FACEKIT_WEIGHTS, else ~/.cache/facekit)");
  cmd->add_option("--out", c.out, "Run folder (checkpoints, metrics.jsonl, curves.png)")->required();
  cmd->add_flag("--resume", c.resume, "Continue the run in --out from its last.pth");
  cmd->add_option("--seed", c.seed, "Seed of the weights, data order, augmentation and dropout")->capture_default_str();
  cmd->add_option("--workers", c.workers, "Data loading threads")->capture_default_str()->check(CLI::Range(0, 64));
  cmd->add_option("--device", c.device,
                  "cpu, cuda or cuda:N: where the model, head and optimiser live (batches are copied in from pinned "
                  "memory); checkpoints are the same files either way, and --resume may change the device")
      ->capture_default_str()
      ->check(device_name());
  cmd->add_option("--nan-gradient-steps", c.nan_gradient_steps,
                  "Testing aid: put a NaN into a gradient at each of the run's first N steps")
      ->group("");
  cmd->add_option("--abort-before-write", args->abort_before_write,
                  "Testing aid: FILE@EPOCH (best.pth, backbone.pth or metrics.jsonl): exit abruptly just before that write")
      ->group("");
  cmd->add_option("--abort-after-steps", args->abort_after_steps, "Testing aid: exit abruptly after this many steps")
      ->group("");  // hidden
  on_run(cmd, [args]() { return run_train(*args); });
}

}  // namespace fk::apps
