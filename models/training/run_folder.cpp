// The run folder: config.txt, checkpoints, metrics files, skipped images (see run_folder.h).
#include "models/training/run_folder.h"

#include <cmath>
#include <filesystem>
#include <sstream>

#include "data/formats/files.h"
#include "data/formats/weights.h"
#include "tensor/creation.h"
#include "tensor/error.h"
#include "tensor/finite.h"
#include "tensor/format.h"

namespace fk::models {

namespace fs = std::filesystem;

namespace {

Tensor scalar(double v) { return full({}, v, DType::Float64); }

}  // namespace

StateDict to_device(const StateDict& sd, Device device) {
  StateDict out;
  for (const auto& [k, t] : sd) out.set(k, t.to(device));
  return out;
}

StateDict optimizer_state_to(const StateDict& sd, Device device) {
  StateDict out;
  for (const auto& [k, t] : sd) {
    const bool buffer = k.rfind("state.", 0) == 0 && !(k.size() >= 5 && k.compare(k.size() - 5, 5, ".step") == 0);
    out.set(k, buffer ? t.to(device) : t);
  }
  return out;
}

RunFolder::RunFolder(const TrainConfig& c, Message message, BeforeWrite before_write)
    : c_(c), message_(std::move(message)), before_write_(std::move(before_write)) {}

std::string RunFolder::path(const std::string& file) const { return (fs::path(c_.out) / file).string(); }

std::string RunFolder::last_good(int64_t epochs_done) const {
  return fs::exists(path("last.pth")) ? path("last.pth") + " (after epoch " + std::to_string(epochs_done) + ")"
                                      : std::string("none (no epoch finished)");
}

bool RunFolder::open(const std::string& cfg) {
  fs::create_directories(c_.out);
  for (const auto& stale : data::remove_stale_temporaries(c_.out))
    if (message_) message_("removed " + stale + " (left by a run that died while writing)");
  const std::string config_txt = path("config.txt"), last = path("last.pth");
  if (c_.resume && fs::exists(last)) {
    const std::string before = fs::exists(config_txt) ? data::read_file(config_txt) : "";
    FK_CHECK(before == cfg, config_txt, ": the run was started with other settings or data (",
             config_difference(before, cfg), "); resume with the same options (or start a new --out)");
    if (fs::exists(path("skipped.txt"))) {
      std::istringstream in(data::read_file(path("skipped.txt")));
      for (std::string line; std::getline(in, line);)
        if (!line.empty() && bad_seen_.insert(line).second) bad_files_.push_back(line);
    }
    return true;
  }
  FK_CHECK(!c_.resume || !fs::exists(config_txt), c_.out,
           ": --resume but no last.pth (the run ended before its first epoch): start it again without --resume");
  FK_CHECK(!fs::exists(last), last, " exists: pass --resume to continue that run, or choose another --out");
  data::write_file_atomic(config_txt, cfg);
  return false;
}

void RunFolder::load(RunState& s) const {
  StateDict file = data::read_torch(path("last.pth"));
  s.model->load_state_dict(file.under("model_state_dict."));
  StateDict hs = file.under("head_state_dict.");
  if (s.head) s.head->load_state_dict(hs.under("head."));
  if (s.center) s.center->load_state_dict(hs.under("center."));
  s.opt->load_state_dict(file.under("optim_state_dict."));
  s.sched->load_state_dict(file.under("scheduler_state_dict."));
  StateDict t = file.under("trainer.");
  s.epochs_done = int64_t(t.at("epoch").item());
  s.best_metric = t.at("best_metric").item();
  if (auto* sphereface = dynamic_cast<SphereFace*>(s.head))
    sphereface->iteration = int64_t(t.at("sphereface_iteration").item());
  s.history->load(t, "history.");
}

StateDict RunFolder::save(const RunState& s) const {
  // A checkpoint is only written when every value in it is finite (a diverged run once saved a
  // backbone.pth whose BatchNorm running_var was infinite, and named such a last.pth as good).
  auto check_finite = [&](const StateDict& sd, const std::string& what) {
    const NonFiniteEntries bad = count_nonfinite(sd);
    if (bad.count == 0) return;
    throw Error("train: after epoch " + std::to_string(s.epochs_done) + " the " + what + " holds " +
                nonfinite_text(bad.count) + ", the first in '" + bad.first_key +
                "'; stopped without writing a checkpoint. Last good checkpoint: " + last_good(s.epochs_done - 1));
  };
  // every tensor from a CPU copy: the files are those of a CPU run whatever the device
  const Device cpu = Device::cpu();
  StateDict hs;
  if (s.head)
    for (const auto& [k, t] : s.head->state_dict()) hs.set("head." + k, t.to(cpu));
  if (s.center)
    for (const auto& [k, t] : s.center->state_dict()) hs.set("center." + k, t.to(cpu));
  StateDict t;
  t.set("epoch", scalar(double(s.epochs_done)));
  t.set("best_metric", scalar(s.best_metric));
  const auto* sphereface = dynamic_cast<const SphereFace*>(s.head);
  t.set("sphereface_iteration", scalar(sphereface ? double(sphereface->iteration) : 0.0));
  // the random state: every draw is seeded from (seed, epoch, sample or step), so the seed is all of it
  t.set("seed", full({}, double(int64_t(c_.seed)), DType::Int64));
  s.history->save(t, "history.");
  const StateDict model_sd = to_device(s.model->state_dict(), cpu), optim_sd = to_device(s.opt->state_dict(), cpu);
  check_finite(model_sd, "model (weights and BatchNorm statistics)");
  check_finite(hs, "head");
  check_finite(optim_sd, "optimiser state");
  data::TorchCheckpoint ck = {{"epoch", s.epochs_done},
                              {"arch", c_.arch},
                              {"head", std::string(name_of(c_.head))},
                              {"model_state_dict", model_sd},
                              {"head_state_dict", hs},
                              {"optim_state_dict", optim_sd},
                              {"scheduler_state_dict", s.sched->state_dict()},
                              {"trainer", t}};
  data::write_torch_checkpoint(path("last.pth"), ck);
  return model_sd;
}

void RunFolder::write_best(const StateDict& model_cpu, int64_t epochs_done) const {
  if (before_write_) before_write_("best.pth", epochs_done);
  data::write_file_atomic(path("best.pth"), data::read_file(path("last.pth")));
  if (before_write_) before_write_("backbone.pth", epochs_done);
  data::write_torch(path("backbone.pth"), model_cpu);
}

void RunFolder::write_metrics(const History& h, int64_t epochs_done) const {
  if (before_write_) before_write_("metrics.jsonl", epochs_done);
  h.write_files(c_.out);
}

void RunFolder::note_skipped(const std::vector<std::string>& files, size_t training_images) {
  bool grew = false;
  for (const auto& s : files) {
    if (!bad_seen_.insert(s).second) continue;
    bad_files_.push_back(s);
    if (message_) message_("skipped " + s);
    grew = true;
  }
  if (!grew) return;
  std::string text;
  for (const auto& s : bad_files_) text += s + "\n";
  data::write_file_atomic(path("skipped.txt"), text);
  const double limit = c_.max_bad * double(training_images);
  FK_CHECK(double(bad_files_.size()) <= limit, "train: ", bad_files_.size(), " of ", training_images,
           " training images could not be read, more than --max-bad ", shortest_g(c_.max_bad * 100),
           " %; they are listed in ", path("skipped.txt"));
}

}  // namespace fk::models
