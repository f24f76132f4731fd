// The training loop of `facekit train` (see trainer.h): a Trainer builds the run from its settings
// (factories.h), opens or resumes its folder (run_folder.h), then runs epochs of steps.
#include "models/training/trainer.h"

#include <chrono>
#include <cmath>
#include <memory>

#include "cuda/runtime.h"
#include "data/formats/tfevents.h"
#include "data/loading/loader.h"
#include "models/training/factories.h"
#include "models/training/run_folder.h"
#include "models/training/validation.h"
#include "tensor/error.h"
#include "tensor/finite.h"
#include "tensor/format.h"
#include "tensor/random.h"
#include "tensor/reduce.h"

namespace fk::models {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A step whose gradients hold NaN or Inf is skipped (as mixed-precision trainers do); this many in a
// row stop the run.
constexpr int64_t kMaxNonfiniteSteps = 5;

// Whether every gradient the optimiser would apply is finite: exactly on the CPU, through a sum per
// tensor on a GPU (a sum that overflows counts as non-finite: that run is diverging too).
bool gradients_finite(optim::Optimizer& opt) {
  for (const auto& g : opt.param_groups())
    for (const auto& [name, p] : g.params) {
      const Tensor grad = p.grad();
      if (!grad.defined()) continue;
      if (grad.device().is_cpu() ? count_nonfinite(grad).count != 0 : !std::isfinite(ops::sum(grad).item()))
        return false;
    }
  return true;
}

// The sums of one epoch so far (seconds: set when it ends).
struct EpochTally {
  double loss_sum = 0, loader_wait = 0, seconds = 0;
  double last_loss = 0;  // of the last step
  int64_t right = 0, seen = 0, step = 0, skipped = 0;
};

class Trainer {
 public:
  Trainer(const TrainConfig& config, const TrainCallbacks& cb)
      : c_(config), cb_(cb), device_(Device::cpu()), folder_(c_, cb.on_message, cb.before_write) {}

  std::vector<EpochMetrics> run() {
    check_config(c_);
    device_ = parse_device(c_.device);
    build();
    RunState state = run_state();
    const bool resumed = folder_.open(config_text(c_, all_->classes()));
    if (resumed) {
      folder_.load(state);
      message("resuming " + folder_.path("last.pth") + " after epoch " + std::to_string(state.epochs_done));
    }
    move_to_device();
    data::DataLoader loader(train_set_, make_pipeline(c_, prep_, true, finder_), loader_options());
    steps_per_epoch_ = loader.batches_per_epoch();
    if (resumed && state.epochs_done > 0) {  // the files a crash may have left behind last.pth
      if (history_.last_was_best()) folder_.write_best(to_device(model_->state_dict(), Device::cpu()), state.epochs_done);
      folder_.write_metrics(history_, state.epochs_done);
    }
    if (!c_.tensorboard.empty()) {
      tb_ = std::make_unique<data::EventFileWriter>(c_.tensorboard);
      // a resumed run restarts at the first step after its last finished epoch: TensorBoard drops what a
      // crashed process logged from there on (its steps >= this one), and this process logs them again
      if (resumed) tb_->add_session_start(state.epochs_done * steps_per_epoch_ + 1);
      message("TensorBoard events: " + tb_->path());
    }
    for (int64_t epoch = state.epochs_done; epoch < c_.epochs; ++epoch) {
      const double lr = sched_->get_last_lr()[0];
      finish_epoch(state, epoch, lr, run_epoch(loader, epoch, lr));
    }
    return history_.all();
  }

 private:
  void message(const std::string& m) const {
    if (cb_.on_message) cb_.on_message(m);
  }

  // Data, validation, model, head, centre loss, optimiser and schedule, all on the CPU.
  void build() {
    const ArchInfo& arch = find_architecture(c_.arch);
    FK_CHECK(arch.height > 0 && arch.width > 0, "train: ", c_.arch, " takes inputs of any size; pick a recognition model");
    all_ = data::open_dataset(c_.data, c_.data_root);
    train_set_ = all_;
    prep_ = training_preprocess(arch);
    if (c_.face_crop) {
      FK_CHECK(!c_.mtcnn_weights.empty(), "train: --face-crop needs the MTCNN weights folder");
      finder_ = mtcnn_box_finder(c_.mtcnn_weights);
    }
    val_ = make_validation(c_, all_, train_set_, make_pipeline(c_, prep_, false, finder_),
                           make_pipeline(c_, prep_, false, nullptr));
    std::vector<std::string> bin_names;
    for (const BinValidation& b : val_.bins) bin_names.push_back(b.name);
    history_ = History(val_.kind, bin_names);
    const int64_t num_classes = int64_t(all_->classes().size());
    FK_CHECK(num_classes >= 2, c_.data, ": found ", num_classes, " identity; training needs at least two");

    manual_seed(c_.seed);  // the initial weights: model, then head, then centres
    ArchOptions opts;
    opts.num_classes = num_classes;  // used by classifier architectures only
    if (!c_.classifier.empty()) opts.head = c_.classifier;
    model_ = arch.make(opts);
    kind_ = probe(*model_, arch);
    FK_CHECK(!kind_.classifier || !is_margin_head(c_.head), "train: ", c_.arch,
             " ends in a classifier; use --head softmax or focal with it (margin heads need an embedding model)");
    if (!c_.pretrained.empty()) load_pretrained(*model_, c_, cb_.on_message);
    if (c_.freeze_backbone) freeze_backbone(*model_, kind_);
    if (!kind_.classifier) head_ = make_head(c_, kind_.features, num_classes);
    if (c_.center_loss > 0) center_ = std::make_shared<CenterLoss>(num_classes, kind_.features, c_.center_alpha);
    margin_head_ = dynamic_cast<MarginHead*>(head_.get());
    opt_ = make_optimizer(c_, *model_, head_.get(), center_.get());
    sched_ = make_scheduler(c_, *opt_);
  }

  RunState run_state() {
    RunState s;
    s.model = model_.get(), s.head = head_.get(), s.center = center_.get();
    s.opt = opt_.get(), s.sched = sched_.get(), s.history = &history_;
    return s;
  }

  // Everything was built (and resumed) on the CPU; now it moves to the training device. The
  // optimiser's parameter handles follow (Module::to converts in place), its state is moved here.
  void move_to_device() {
    if (!device_.is_cuda()) return;
    model_->to(device_);
    if (head_) head_->to(device_);
    if (center_) center_->to(device_);
    opt_->load_state_dict(optimizer_state_to(opt_->state_dict(), device_));
    message("training on " + device_.str() + " (" + cuda::describe() + ")");
  }

  data::LoaderOptions loader_options() const {
    data::LoaderOptions lo;
    lo.batch_size = c_.batch, lo.shuffle = true, lo.drop_last = true, lo.num_workers = c_.workers, lo.seed = c_.seed;
    lo.pin_memory = device_.is_cuda();
    if (int64_t(train_set_->size()) < c_.batch) lo.drop_last = false;
    return lo;
  }

  EpochTally run_epoch(data::DataLoader& loader, int64_t epoch, double lr) {
    model_->train();
    if (head_) head_->train();
    loader.start_epoch(epoch);
    EpochTally t;
    const auto t0 = Clock::now();
    data::Batch batch;
    for (;;) {
      const auto w0 = Clock::now();
      const bool more = loader.next(batch);
      t.loader_wait += seconds_since(w0);
      note_skipped(loader, t);
      if (!more) break;
      step(batch, epoch, lr, t);
      if (tb_)  // the step's loss and learning rate, at the run's global step (1-based)
        tb_->add_scalars(epoch * steps_per_epoch_ + t.step, {{"train/loss", float(t.last_loss)}, {"train/lr", float(lr)}});
      if (cb_.on_step) {
        const double secs = seconds_since(t0);
        StepInfo s;
        s.epoch = epoch, s.epochs = c_.epochs, s.step = t.step, s.steps = steps_per_epoch_;
        s.steps_this_process = steps_done_;
        s.loss = t.loss_sum / double(t.seen), s.accuracy = double(t.right) / double(t.seen);
        s.images_per_second = secs > 0 ? double(t.seen) / secs : 0;
        s.eta_seconds = t.step > 0 ? secs / double(t.step) * double(s.steps - t.step) : 0;
        cb_.on_step(s);
      }
    }
    note_skipped(loader, t);
    FK_CHECK(t.seen > 0, c_.data, ": no image of epoch ", epoch + 1, " could be used");
    t.seconds = seconds_since(t0);
    return t;
  }

  // One batch: forward, loss, backward, the optimiser step (skipped on non-finite gradients), metrics.
  void step(const data::Batch& batch, int64_t epoch, double lr, EpochTally& t) {
    const std::string where = "epoch " + std::to_string(epoch + 1) + ", step " + std::to_string(t.step + 1);
    // dropout draws depend on (seed, epoch, step) only, so a resumed run draws the same masks
    manual_seed(data::hash_seed({c_.seed, uint64_t(epoch), uint64_t(t.step), 0x64726f70ULL}));
    Tensor x = batch.images;
    if (c_.sample_pairing && data::sample_pairing_active(epoch, c_.epochs)) {
      data::Rng rng(data::batch_seed(c_.seed, epoch, t.step));
      x = data::sample_pairing(x, 0.5, rng);
    }
    x = x.to(device_);  // no copy on the CPU; from pinned memory on a GPU
    const Tensor labels = batch.labels.to(device_);
    Tensor out = flatten(model_->forward(x), 1);
    Tensor logits = !head_ ? out : margin_head_ ? margin_head_->forward(out, labels) : (*head_)(out);
    Tensor loss = c_.head == HeadKind::focal ? focal_loss(logits, labels, c_.focal_gamma) : cross_entropy(logits, labels);
    if (center_) loss = add(loss, mul(center_->forward(out, labels), c_.center_loss));
    const double value = loss.item();
    if (!std::isfinite(value))
      throw Error("train: the loss is " + std::string(std::isnan(value) ? "NaN" : "infinite") + " at " + where +
                  " of " + std::to_string(steps_per_epoch_) + " (lr " + shortest_g(lr) +
                  "); stopped. Last good checkpoint: " + folder_.last_good(epoch));
    // gradients dropped, not zeroed (torch 2's default): backward then writes each .grad instead of
    // adding into zeros, and a parameter the loss does not reach is left alone by the step
    opt_->zero_grad(/*set_to_none=*/true);
    if (center_) center_->zero_grad();
    loss.backward();
    if (c_.clip_grad_norm > 0) {
      std::vector<Tensor> ps;
      for (const auto& g : opt_->param_groups())
        for (const auto& [n, p] : g.params) ps.push_back(p);
      optim::clip_grad_norm_(ps, c_.clip_grad_norm);
    }
    if (steps_done_ < c_.nan_gradient_steps) {  // testing aid: what an overflow would leave
      Tensor g = opt_->param_groups()[0].params[0].second.grad();
      ops::fill_(g, NAN);
    }
    if (!gradients_finite(*opt_)) {
      ++nonfinite_in_a_row_;
      message(where + ": non-finite gradients, the step is skipped (" + std::to_string(nonfinite_in_a_row_) + " in a row)");
      if (nonfinite_in_a_row_ >= kMaxNonfiniteSteps)
        throw Error("train: " + std::to_string(nonfinite_in_a_row_) + " steps in a row had non-finite gradients, the last at " +
                    where + " (lr " + shortest_g(lr) + "); stopped. Last good checkpoint: " + folder_.last_good(epoch));
    } else {
      nonfinite_in_a_row_ = 0;
      opt_->step();
    }
    if (center_ && c_.center_alpha > 0) center_->update_centers(out.detach(), labels);

    Tensor pred = argmax(logits.detach(), 1).to(Device::cpu()).contiguous();
    const int64_t n = batch.labels.size(0);
    for (int64_t i = 0; i < n; ++i) t.right += pred.data<int64_t>()[i] == batch.labels.data<int64_t>()[i];
    t.loss_sum += value * double(n), t.seen += n, t.last_loss = value, ++t.step, ++steps_done_;
  }

  void note_skipped(data::DataLoader& loader, EpochTally& t) {
    const std::vector<std::string> skipped = loader.take_skipped();
    t.skipped += int64_t(skipped.size());
    folder_.note_skipped(skipped, train_set_->size());
  }

  // Validation, the history, the schedule's step, then last.pth, best.pth + backbone.pth, metrics.
  void finish_epoch(RunState& state, int64_t epoch, double lr, const EpochTally& t) {
    const double secs = t.seconds;
    double val_acc = -1;
    if (!val_.kind.empty()) val_acc = validate(val_, *model_, head_.get(), kind_.classifier, c_.batch, device_, cb_.on_message);
    EpochMetrics m;
    if (!val_.bins.empty()) {
      const std::vector<double> acc = validate_bins(val_, *model_, c_.batch, device_, cb_.on_message);
      for (size_t i = 0; i < acc.size(); ++i) m.val_bins.emplace_back(val_.bins[i].name, acc[i]);
    }
    m.epoch = epoch, m.lr = lr, m.train_loss = t.loss_sum / double(t.seen);
    m.train_accuracy = double(t.right) / double(t.seen), m.val_accuracy = val_acc;
    m.images_per_second = double(t.seen) / secs, m.seconds = secs, m.loader_wait_seconds = t.loader_wait;
    m.skipped_images = t.skipped;
    // the best epoch: by the validation accuracy, else the --val-bin sets' mean accuracy, else the loss
    double bins_sum = 0;
    int64_t bins_used = 0;
    for (const auto& [name, acc] : m.val_bins)
      if (acc >= 0) bins_sum += acc, ++bins_used;
    const double metric = val_acc >= 0 ? val_acc : bins_used > 0 ? bins_sum / double(bins_used) : -m.train_loss;
    m.best = metric > state.best_metric;
    if (m.best) state.best_metric = metric;
    history_.add(m);
    if (tb_) log_epoch(m, epoch);
    sched_->step();

    state.epochs_done = epoch + 1;
    const StateDict model_cpu = folder_.save(state);
    if (m.best) folder_.write_best(model_cpu, epoch + 1);
    folder_.write_metrics(history_, epoch + 1);
    if (cb_.on_epoch) cb_.on_epoch(history_.at(history_.epochs() - 1));
  }

  // The epoch's metrics as TensorBoard scalars, at the global step that ends the epoch.
  void log_epoch(const EpochMetrics& m, int64_t epoch) {
    std::vector<std::pair<std::string, float>> s = {{"epoch/train_loss", float(m.train_loss)},
                                                    {"epoch/train_accuracy", float(m.train_accuracy)},
                                                    {"epoch/lr", float(m.lr)},
                                                    {"epoch/images_per_second", float(m.images_per_second)}};
    if (m.val_accuracy >= 0) s.emplace_back("epoch/val_accuracy", float(m.val_accuracy));
    for (const auto& [name, acc] : m.val_bins)
      if (acc >= 0) s.emplace_back("epoch/val_bin/" + name, float(acc));
    tb_->add_scalars((epoch + 1) * steps_per_epoch_, s);
  }

  TrainConfig c_;
  const TrainCallbacks& cb_;
  Device device_;
  RunFolder folder_;
  std::shared_ptr<data::Dataset> all_;
  std::shared_ptr<const data::Dataset> train_set_;
  FacePreprocess prep_;
  data::BoxFinder finder_;
  Validation val_;
  std::unique_ptr<data::EventFileWriter> tb_;  // --tensorboard
  History history_;
  std::shared_ptr<Model> model_;
  ModelKind kind_;
  std::shared_ptr<Module> head_;
  std::shared_ptr<CenterLoss> center_;
  MarginHead* margin_head_ = nullptr;
  std::unique_ptr<optim::Optimizer> opt_;
  std::shared_ptr<optim::LRScheduler> sched_;
  int64_t steps_done_ = 0, nonfinite_in_a_row_ = 0, steps_per_epoch_ = 0;
};

}  // namespace

std::vector<EpochMetrics> train(const TrainConfig& config, const TrainCallbacks& callbacks) {
  return Trainer(config, callbacks).run();
}

}  // namespace fk::models
