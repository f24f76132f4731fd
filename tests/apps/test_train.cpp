// `facekit train` (apps/train.cpp, models/training/trainer.h) end to end on synthetic faces
// (data/loading/synthetic_faces.h, generated in a temp folder): ir_small with ArcFace learns 12 identities
// (validation accuracy asserted), a run killed mid-epoch and resumed ends with exactly the weights and
// optimiser state of an uninterrupted run, a NaN loss stops the run naming the epoch and step, the
// files of the run folder (torch-format checkpoints, metrics.jsonl, curves.png, backbone.pth that
// `facekit run` loads), and the one-line errors for bad settings.
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "data/image/image.h"
#include "data/formats/files.h"
#include "data/formats/npy.h"
#include "data/loading/synthetic_faces.h"
#include "data/formats/tfevents.h"
#include "data/formats/weights.h"
#include "tensor/finite.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using fk::test::CliRun;

using fk::test::has;

using fk::test::scratch;

fs::path synthetic(const fs::path& dir, int64_t identities, int64_t images) {
  fk::data::synth::SyntheticFaceOptions o;
  o.identities = identities, o.images_per_identity = images;
  fk::data::synth::write_synthetic_faces(dir.string(), o);
  return dir;
}

// An insightface verification set as Python 2 pickled it (protocol 2: BINSTRING images, NEWTRUE /
// NEWFALSE flags, APPENDS; tests/fixtures/make_verification_bin.py writes the same layout).
std::string python2_bin(const std::vector<std::string>& images, const std::vector<bool>& same) {
  std::string out = "\x80\x02](";
  for (const std::string& img : images) {
    const uint32_t n = uint32_t(img.size());
    out += 'T';
    for (int b = 0; b < 4; ++b) out += char((n >> (8 * b)) & 0xff);
    out += img;
  }
  out += "e](";
  for (bool s : same) out += s ? '\x88' : '\x89';
  out += "e\x86.";
  return out;
}

std::vector<nlohmann::json> read_metrics(const fs::path& run) {
  std::vector<nlohmann::json> out;
  std::ifstream f(run / "metrics.jsonl");
  for (std::string line; std::getline(f, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace

TEST_CASE("train: --help names the options of the issue") {
  CliRun r = fk::test::run_cli("train --help");
  CHECK_MESSAGE(r.code == 0, r.out);
  for (const char* opt : {"--data", "--arch", "--head", "arcface", "cosface", "sphereface", "softmax", "focal",
                          "--center-loss", "--epochs", "--batch", "--lr", "--val", "--val-pairs", "--val-bin", "--tensorboard", "--pretrained",
                          "--freeze-backbone", "--out", "--resume", "--device", "--max-bad"})
    CHECK_MESSAGE(has(r.out, opt), opt);
}

TEST_CASE("train: ir_small with ArcFace learns 12 synthetic identities") {
  fs::path d = scratch("train_learn");
  fs::path run = d / "run";
#ifdef FK_SANITIZED
  // ~10x slower under the sanitizers: a short run on fewer images, asserting only that it learns
  // something (chance is 1/12)
  fs::path data = synthetic(d / "faces", 12, 12);  // 9 training and 3 validation images each
  const std::string epochs = "2", milestones = "1";
  const double bar = 0.15;
#else
  fs::path data = synthetic(d / "faces", 12, 40);  // 30 training and 10 validation images each
  const std::string epochs = "15", milestones = "9,12";
  const double bar = 0.85;  // measured: 0.925 after 15 epochs (best 0.942); chance is 1/12
#endif
  CliRun r = fk::test::run_cli("train --data " + (data / "train").string() + " --val " + (data / "val").string() +
                               " --arch ir_small --head arcface --margin-s 32 --epochs " + epochs +
                               " --milestones " + milestones + " --batch 16 --lr 0.1 --out " + run.string());
  REQUIRE_MESSAGE(r.code == 0, r.out);
  auto metrics = read_metrics(run);
  REQUIRE(metrics.size() == size_t(std::stoi(epochs)));
  double final_acc = metrics.back()["val_accuracy"].get<double>();
  MESSAGE("validation accuracy after " << epochs << " epochs: " << final_acc);
  CHECK(final_acc >= bar);
  CHECK(metrics.back()["train_loss"].get<double>() < metrics.front()["train_loss"].get<double>());
  CHECK(metrics.front()["val_kind"] == "classification");
  for (const auto& m : metrics) {  // the time spent waiting for the loader is part of the epoch's time
    CHECK(m["loader_wait_seconds"].get<double>() >= 0);
    CHECK(m["loader_wait_seconds"].get<double>() <= m["seconds"].get<double>());
  }
  CHECK_MESSAGE(has(r.out, "(loader wait "), r.out);
  for (const char* f : {"last.pth", "best.pth", "backbone.pth", "curves.png", "config.txt"}) CHECK(fs::exists(run / f));
  CHECK(fk::data::read_image((run / "curves.png").string()).width == 640);
  fs::remove_all(d);
}

TEST_CASE("train: a run killed mid-epoch and resumed ends exactly like an uninterrupted one") {
  fs::path d = scratch("train_resume");
  fs::path data = synthetic(d / "faces", 4, 14);  // 10 training images each: 5 batches of 8 per epoch
  const std::string common = "train --data " + (data / "train").string() +
                             " --arch ir_small --head cosface --epochs 3 --batch 8 --lr 0.05 --rotate 5 --workers 2 "
                             "--val-split 0.2 --seed 7 --out ";
  CliRun a = fk::test::run_cli(common + (d / "a").string());
  REQUIRE_MESSAGE(a.code == 0, a.out);
  // the same run, killed in its second epoch (after 4 + 2 steps), then resumed
  CliRun killed = fk::test::run_cli(common + (d / "b").string() + " --abort-after-steps 6");
  CHECK_MESSAGE(killed.code == 137, killed.out);
  REQUIRE(fs::exists(d / "b" / "last.pth"));
  CHECK(read_metrics(d / "b").size() == 1);
  CliRun resumed = fk::test::run_cli(common + (d / "b").string() + " --resume");
  REQUIRE_MESSAGE(resumed.code == 0, resumed.out);
  CHECK_MESSAGE(has(resumed.out, "resuming " + (d / "b" / "last.pth").string() + " after epoch 1"), resumed.out);

  fk::StateDict ca = fk::data::read_torch((d / "a" / "last.pth").string());
  fk::StateDict cb = fk::data::read_torch((d / "b" / "last.pth").string());
  REQUIRE(ca.size() == cb.size());
  int64_t compared = 0;
  for (const auto& [name, t] : ca) {
    if (name.rfind("trainer.history.images_per_second", 0) == 0 || name.rfind("trainer.history.seconds", 0) == 0 ||
        name.rfind("trainer.history.loader_wait", 0) == 0)
      continue;  // timings
    REQUIRE_MESSAGE(cb.contains(name), name);
    CHECK_CLOSE(cb.at(name), t, 0, 0, name);  // bit for bit: weights, BN statistics, momentum buffers
    ++compared;
  }
  CHECK(compared > 100);
  auto ma = read_metrics(d / "a"), mb = read_metrics(d / "b");
  REQUIRE(ma.size() == 3);
  REQUIRE(mb.size() == 3);
  for (size_t e = 0; e < 3; ++e) CHECK(ma[e]["train_loss"] == mb[e]["train_loss"]);

  // resuming with other settings is refused; so is reusing a finished run folder without --resume
  CliRun other = fk::test::run_cli(common + (d / "b").string() + " --resume --weight-decay 0.001");
  CHECK(other.code == 1);
  CHECK_MESSAGE(has(other.out, "the run was started with other settings"), other.out);
  CHECK_MESSAGE(has(other.out, "(weight_decay = 0.0005 then, 0.001 now)"), other.out);  // names the option
  CliRun again = fk::test::run_cli(common + (d / "a").string());
  CHECK(again.code == 1);
  CHECK_MESSAGE(has(again.out, "last.pth exists: pass --resume"), again.out);

  // the exported backbone is a plain state dict that `facekit run` loads strictly
  fk::data::write_npy((d / "x.npy").string(), fk::zeros({1, 3, 112, 112}));
  CliRun run = fk::test::run_cli("run --arch ir_small --weights " + (d / "a" / "backbone.pth").string() + " --input " +
                                 (d / "x.npy").string() + " --output " + (d / "y.npz").string());
  CHECK_MESSAGE(run.code == 0, run.out);
  CHECK(fk::data::read_npz((d / "y.npz").string()).at("embedding").shape() == fk::Shape{1, 128});
  fs::remove_all(d);
}

TEST_CASE("train: a NaN loss stops the run naming the epoch and step") {
  fs::path d = scratch("train_nan");
  fs::path data = synthetic(d / "faces", 3, 8);
  CliRun r = fk::test::run_cli("train --data " + (data / "train").string() +
                               " --arch ir_small --head softmax --epochs 2 --batch 6 --lr 1e30 --workers 0 --out " +
                               (d / "run").string());
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, "facekit: train: the loss is"), r.out);
  CHECK_MESSAGE(has(r.out, "at epoch 1, step "), r.out);
  CHECK_MESSAGE(has(r.out, "Last good checkpoint: none (no epoch finished)"), r.out);
  CHECK_FALSE(fs::exists(d / "run" / "last.pth"));
  fs::remove_all(d);
}

TEST_CASE("train: bad settings get one-line errors") {
  fs::path d = scratch("train_errors");
  fs::path data = synthetic(d / "faces", 2, 4);
  const std::string base = "train --data " + (data / "train").string() + " --epochs 1 --batch 2 --out " + (d / "run").string();
  CliRun missing = fk::test::run_cli("train --data " + (d / "nothing").string() + " --out " + (d / "run").string());
  CHECK(missing.code == 1);
  CHECK_MESSAGE(has(missing.out, "nothing"), missing.out);
  CliRun classifier = fk::test::run_cli(base + " --arch resnet50_torchvision --head arcface");
  CHECK(classifier.code == 1);
  CHECK_MESSAGE(has(classifier.out, "ends in a classifier; use --head softmax or focal"), classifier.out);
  if (fk::cuda::device_count() == 0) {  // with a GPU this would train: tests/cuda/test_train_step.cpp does
    CliRun device = fk::test::run_cli(base + " --arch ir_small --device cuda");
    CHECK(device.code == 1);
    CHECK_MESSAGE(has(device.out, "facekit: train: --device cuda: no CUDA device ("), device.out);
  }
  CliRun pnet = fk::test::run_cli(base + " --arch pnet");
  CHECK(pnet.code == 1);
  CHECK_MESSAGE(has(pnet.out, "takes inputs of any size"), pnet.out);
  fs::remove_all(d);
}

TEST_CASE("train: every head, center loss, Adam, cosine warm-up and verification pairs run and log") {
  fs::path d = scratch("train_heads");
  fs::path data = synthetic(d / "faces", 3, 8);  // 6 training, 2 validation images each
  // verification pairs over all 24 images: every pair, same identity or not (84 same, 192 different)
  std::ofstream pairs(d / "pairs.csv");
  pairs << "img1,img2,label\n";
  auto image = [](int id, int k) {
    char p[64];
    std::snprintf(p, sizeof p, "%s/id_%02d/%03d.png", k < 6 ? "train" : "val", id, k);
    return std::string(p);
  };
  for (int a = 0; a < 24; ++a)
    for (int b = a + 1; b < 24; ++b) pairs << image(a / 8, a % 8) << "," << image(b / 8, b % 8) << "," << (a / 8 == b / 8) << "\n";
  pairs.close();
  struct Case {
    std::string name, flags, val_kind;
  };
  std::vector<Case> cases = {
      {"sphereface", "--head sphereface --val-split 0.34", "classification"},
      {"focal_center", "--head focal --center-loss 0.01 --center-alpha 0.5 --optimizer adam --lr 0.001", ""},
      {"cosface_pairs", "--head cosface --schedule cosine --warmup 1 --val-pairs " + (d / "pairs.csv").string() +
                            " --val-images " + data.string(),
       "verification"},
      {"arcface_center_sgd", "--head arcface --center-loss 0.01 --clip-grad 5 --nesterov --color-jitter 0.2 "
                             "--random-erasing 0.5 --sample-pairing",
       ""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    fs::path run = d / c.name;
    CliRun r = fk::test::run_cli("train --data " + (data / "train").string() + " --arch ir_small --epochs 2 --batch 6 " +
                                 (c.flags.find("--lr") == std::string::npos ? "--lr 0.05 " : "") + c.flags +
                                 " --out " + run.string());
    REQUIRE_MESSAGE(r.code == 0, r.out);
    auto m = read_metrics(run);
    REQUIRE(m.size() == 2);
    for (const auto& e : m) {
      CHECK(std::isfinite(e["train_loss"].get<double>()));
      if (c.val_kind.empty()) {
        CHECK(e["val_accuracy"].is_null());
      } else {
        CHECK(e["val_kind"] == c.val_kind);
        double acc = e["val_accuracy"].get<double>();
        CHECK(acc >= 0);
        CHECK(acc <= 1);
      }
    }
    // the checkpoint holds the head's (and the center loss's) state
    fk::StateDict ck = fk::data::read_torch((run / "last.pth").string());
    CHECK(ck.contains("head_state_dict.head.weight"));
    if (c.flags.find("--center-loss") != std::string::npos) CHECK(ck.contains("head_state_dict.center.centers"));
  }
  fs::remove_all(d);
}

TEST_CASE("train: --val-bin sets are measured every epoch, logged, plotted, and kept on resume") {
  fs::path d = scratch("train_val_bin");
  fs::path data = synthetic(d / "faces", 3, 8);  // 6 training, 2 validation images each
  // two sets of pairs over the 24 images (PNG bytes: the crops need not be JPEG)
  auto image = [&](int a) {
    char p[64];
    std::snprintf(p, sizeof p, "%s/id_%02d/%03d.png", a % 8 < 6 ? "train" : "val", a / 8, a % 8);
    return fk::data::read_file((data / p).string());
  };
  for (const char* name : {"set_a", "set_b"}) {
    std::vector<std::string> images;
    std::vector<bool> same;
    for (int k = 0; k < 12; ++k) {  // 6 same pairs, 6 different, interleaved
      const int a = (k * 5 + (name[4] == 'b')) % 24, b = k % 2 == 0 ? (a / 8) * 8 + (a + 3) % 8 : (a + 8) % 24;
      images.push_back(image(a)), images.push_back(image(b)), same.push_back(a / 8 == b / 8);
    }
    fk::data::write_file_atomic((d / (std::string(name) + ".bin")).string(), python2_bin(images, same));
  }
  const std::string bins = " --val-bin " + (d / "set_a.bin").string() + "," + (d / "set_b.bin").string();
  const std::string base = "train --data " + (data / "train").string() + " --arch ir_small --batch 6 --lr 0.05 --out " +
                           (d / "run").string() + bins;
  // crashed in epoch 3, after two finished epochs
  CliRun r = fk::test::run_cli(base + " --epochs 3 --abort-after-steps 7");
  REQUIRE_MESSAGE(r.code == 137, r.out);
  CHECK_MESSAGE(has(r.out, ", set_a 0."), r.out);
  CHECK_MESSAGE(has(r.out, ", set_b "), r.out);
  auto m = read_metrics(d / "run");
  REQUIRE(m.size() == 2);
  for (const auto& e : m) {
    CHECK(e["val_accuracy"].is_null());
    for (const char* name : {"set_a", "set_b"}) {
      CAPTURE(name);
      REQUIRE(e["val_bins"][name].is_number());
      CHECK(e["val_bins"][name].get<double>() >= 0);
      CHECK(e["val_bins"][name].get<double>() <= 1);
    }
  }
  CHECK(m[0]["best"] == true);  // the first epoch is always the best so far
  fk::StateDict ck = fk::data::read_torch((d / "run" / "last.pth").string());
  bool kept = false;
  for (const auto& [key, t] : ck.items()) kept |= key.size() > 17 && key.substr(key.size() - 17) == "history.val_bin.a";
  CHECK_FALSE(kept);  // named by the file's stem
  for (const auto& [key, t] : ck.items()) kept |= key.find("history.val_bin.set_b") != std::string::npos;
  CHECK(kept);
  fk::data::Image curves = fk::data::read_image((d / "run" / "curves.png").string());
  CHECK(curves.width == 640);
  // resumed: the first two epochs' values come back from the checkpoint
  CliRun resumed = fk::test::run_cli(base + " --epochs 3 --resume");
  REQUIRE_MESSAGE(resumed.code == 0, resumed.out);
  auto m3 = read_metrics(d / "run");
  REQUIRE(m3.size() == 3);
  CHECK(m3[0]["val_bins"] == m[0]["val_bins"]);
  CHECK(m3[1]["val_bins"] == m[1]["val_bins"]);
  CHECK(m3[2]["val_bins"]["set_a"].is_number());
  // one-line errors: a set that cannot be read, two sets with one name
  CliRun missing = fk::test::run_cli("train --data " + (data / "train").string() + " --arch ir_small --epochs 1 --out " +
                                     (d / "run2").string() + " --val-bin " + (d / "nope.bin").string());
  CHECK(missing.code == 1);
  CHECK_MESSAGE(has(missing.out, "facekit: " + (d / "nope.bin").string() + ": cannot open"), missing.out);
  fs::create_directories(d / "other");
  fs::copy_file(d / "set_a.bin", d / "other" / "set_a.bin");
  CliRun twice = fk::test::run_cli("train --data " + (data / "train").string() + " --arch ir_small --epochs 1 --out " +
                                   (d / "run3").string() + " --val-bin " + (d / "set_a.bin").string() + "," +
                                   (d / "other" / "set_a.bin").string());
  CHECK(twice.code == 1);
  CHECK_MESSAGE(has(twice.out, "two --val-bin sets are named 'set_a'"), twice.out);
  fs::remove_all(d);
}

TEST_CASE("train: --tensorboard logs every scalar at every step, read back by TensorBoard's own reader") {
  fs::path d = scratch("train_tensorboard");
  fs::path data = synthetic(d / "faces", 3, 8);  // 6 training images each: 3 steps of 6 per epoch
  const std::string base = "train --data " + (data / "train").string() + " --arch ir_small --batch 6 --lr 0.05 --val " +
                           (data / "val").string() + " --out " + (d / "run").string() + " --tensorboard " +
                           (d / "tb").string();
  // crashed after the first step of epoch 4 (step 10), then resumed
  CliRun r = fk::test::run_cli(base + " --epochs 4 --abort-after-steps 10");
  REQUIRE_MESSAGE(r.code == 137, r.out);
  CHECK_MESSAGE(has(r.out, "TensorBoard events: " + (d / "tb").string() + "/events.out.tfevents."), r.out);
  const auto m = read_metrics(d / "run");
  REQUIRE(m.size() == 3);
  // facekit's own reader: the version event, a loss and lr per step 1..10, the epoch metrics at 3, 6, 9
  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(d / "tb")) files.push_back(f.path());
  REQUIRE(files.size() == 1);
  const auto events = fk::data::read_event_file(files[0].string());
  REQUIRE(events.size() == 1 + 10 + 3);
  CHECK(events[0].file_version == "brain.Event:2");
  for (int64_t s = 1; s <= 10; ++s) {
    const auto& e = events[size_t(s + (s - 1) / 3)];  // after each epoch's 3 steps comes its epoch event
    CHECK(e.step == s);
    REQUIRE(e.scalars.size() == 2);
    CHECK(e.scalars[0].first == "train/loss");
    CHECK(std::isfinite(e.scalars[0].second));
    if (s <= 9)
      CHECK(e.scalars[1] == std::pair<std::string, float>{"train/lr", float(m[size_t((s - 1) / 3)]["lr"].get<double>())});
  }
  for (size_t ep = 0; ep < 3; ++ep) {
    const auto& e = events[4 * (ep + 1)];
    CHECK(e.step == int64_t(3 * (ep + 1)));
    std::map<std::string, float> got(e.scalars.begin(), e.scalars.end());
    CHECK(got.at("epoch/train_loss") == float(m[ep]["train_loss"].get<double>()));
    CHECK(got.at("epoch/train_accuracy") == float(m[ep]["train_accuracy"].get<double>()));
    CHECK(got.at("epoch/val_accuracy") == float(m[ep]["val_accuracy"].get<double>()));
    CHECK(got.at("epoch/images_per_second") == float(m[ep]["images_per_second"].get<double>()));
  }
  // the resumed process writes a second file that starts with a session start at step 10: TensorBoard
  // drops the crashed process's step 10 and keeps the one logged again
  CliRun resumed = fk::test::run_cli(base + " --epochs 4 --resume");
  REQUIRE_MESSAGE(resumed.code == 0, resumed.out);
  const auto m4 = read_metrics(d / "run");
  REQUIRE(m4.size() == 4);
  files.clear();
  for (const auto& f : fs::directory_iterator(d / "tb")) files.push_back(f.path());
  REQUIRE(files.size() == 2);
  std::sort(files.begin(), files.end());
  const fs::path second = fk::data::read_event_file(files[0].string()).size() == 14 ? files[1] : files[0];
  const auto events2 = fk::data::read_event_file(second.string());
  REQUIRE(events2.size() >= 2);
  CHECK(events2[1].session_start);
  CHECK(events2[1].step == 10);

  // TensorBoard's reader (tensorboard from the Python package index, in the readers' venv)
  const std::string python = fk::test::readers_python();
  if (python.empty()) {
    FK_SKIP("the readers' venv (~/.cache/facekit/readers, scripts/install-deps.sh) is absent: TensorBoard's reader "
            "not run (facekit's own reader checked the events)");
  }
  CliRun py = fk::test::run_shell(python + " " + fk::test::fixture_path("read_tfevents.py") + " " +
                                  (d / "tb").string() + " 2>" + (d / "stderr.txt").string());
  REQUIRE_MESSAGE(py.code == 0, py.out, fk::data::read_file((d / "stderr.txt").string()));
  const auto tb = nlohmann::json::parse(py.out);
  REQUIRE_MESSAGE(tb.contains("train/loss"), py.out);
  REQUIRE(tb["train/loss"].size() == 12);  // steps 1..12, each once
  for (size_t i = 0; i < 12; ++i) CHECK(tb["train/loss"][i][0] == i + 1);
  for (const char* tag : {"epoch/train_loss", "epoch/train_accuracy", "epoch/val_accuracy", "epoch/lr",
                          "epoch/images_per_second"}) {
    CAPTURE(tag);
    REQUIRE(tb[tag].size() == 4);
    const std::string key = std::string(tag).substr(6);
    for (size_t ep = 0; ep < 4; ++ep) {
      CHECK(tb[tag][ep][0] == 3 * (ep + 1));
      CHECK(tb[tag][ep][1].get<double>() == double(float(m4[ep][key].get<double>())));
    }
  }
  fs::remove_all(d);
}

TEST_CASE("train: --face-crop cuts faces out of photos, unreadable images are skipped and listed") {
  const fs::path shared = fs::path(FK_SHARED_DATA_DIR);
  if (!fs::exists(shared / "mtcnn" / "pnet.pt") || !fs::exists(shared / "faces" / "face_recognition")) {
    FK_SKIP("../shared/data (MTCNN weights, face_recognition photos) is absent");
  }
  fs::path d = scratch("train_facecrop");
  fs::path data = d / "people";
  fs::copy(shared / "faces" / "face_recognition" / "knn_examples" / "train", data, fs::copy_options::recursive);
  { std::ofstream(data / "obama" / "broken.jpg") << "not a jpeg"; }
  CliRun r = fk::test::run_cli("train --data " + data.string() + " --face-crop --mtcnn-weights " +
                               (shared / "mtcnn").string() +
                               " --arch ir_small --head softmax --epochs 1 --batch 5 --lr 0.01 --workers 2 --max-bad 0.2 --out " +
                               (d / "run").string());
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK_MESSAGE(has(r.out, "skipped " + (data / "obama" / "broken.jpg").string()), r.out);
  CHECK(has(fk::data::read_file((d / "run" / "skipped.txt").string()), (data / "obama" / "broken.jpg").string() + ": "));
  auto m = read_metrics(d / "run");
  REQUIRE(m.size() == 1);
  CHECK(m[0]["skipped_images"] == 1);
  CHECK(std::isfinite(m[0]["train_loss"].get<double>()));
  fs::remove_all(d);
}

TEST_CASE("train: --device is checked before anything is read, in one line") {
  fs::path d = scratch("train_device");
  fs::path data = synthetic(d / "faces", 2, 4);
  const std::string base = "train --data " + (data / "train").string() + " --arch ir_small --epochs 1 --batch 2 --out " +
                           (d / "run").string();
  for (const char* bad : {"gpu", "tpu", "cuda:", "cuda:x", "cuda0"}) {  // a misspelt device is bad usage: exit 2
    CliRun r = fk::test::run_cli(base + " --device " + bad);
    CHECK(r.code == 2);
    CHECK_MESSAGE(has(r.out, std::string("--device: unknown device '") + bad + "' (expected cpu, cuda or cuda:N)"),
                  r.out);
  }
  CliRun far = fk::test::run_cli(base + " --device cuda:99");
  CHECK(far.code == 1);
  const std::string want = fk::cuda::device_count() == 0 ? "facekit: train: --device cuda:99: no CUDA device ("
                                                         : "facekit: train: --device cuda:99: there is no CUDA device 99";
  CHECK_MESSAGE(has(far.out, want), far.out);
  CHECK_FALSE(fs::exists(d / "run"));  // refused before the run folder was made
  fs::remove_all(d);
}

TEST_CASE("train: unreadable images are reported once per run, listed in skipped.txt, and over --max-bad stop the run") {
  fs::path d = scratch("train_max_bad");
  fs::path data = synthetic(d / "faces", 3, 10);
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(data / "train"))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 12);
  int corrupt = 0;
  for (size_t i = 0; i < files.size(); i += 4, ++corrupt) std::ofstream(files[i], std::ios::trunc) << "not an image";
  int64_t batch = 4;  // one that divides the set, so that drop_last leaves no image out of an epoch
  for (int64_t b : {10, 8, 7, 6, 5})
    if (int64_t(files.size()) % b == 0) {
      batch = b;
      break;
    }
  REQUIRE(int64_t(files.size()) % batch == 0);
  const std::string common = "train --data " + (data / "train").string() + " --arch ir_small --head softmax --epochs 2 --batch " +
                             std::to_string(batch) + " --lr 0.01 --workers 2 --out ";
  // the default (1 %): stopped with the count, the list written
  CliRun stop = fk::test::run_cli(common + (d / "a").string());
  CHECK(stop.code == 1);
  CHECK_MESSAGE(has(stop.out, "training images could not be read, more than --max-bad 1 %; they are listed in " +
                                  (d / "a" / "skipped.txt").string()),
                stop.out);
  CHECK(fs::exists(d / "a" / "skipped.txt"));
  // allowed: two epochs, each bad file reported once, skipped.txt lists each once
  CliRun ok = fk::test::run_cli(common + (d / "b").string() + " --max-bad 0.5");
  REQUIRE_MESSAGE(ok.code == 0, ok.out);
  const std::string listed = fk::data::read_file((d / "b" / "skipped.txt").string());
  for (size_t i = 0; i < files.size(); i += 4) {
    const std::string line = "skipped " + files[i].string() + ": ";
    CHECK_MESSAGE(ok.out.find(line) != std::string::npos, ok.out);
    CHECK_MESSAGE(ok.out.find(line) == ok.out.rfind(line), ok.out);  // once, not once per epoch
    CHECK(listed.find(files[i].string() + ": ") != std::string::npos);
  }
  CHECK(std::count(listed.begin(), listed.end(), '\n') == corrupt);
  auto m = read_metrics(d / "b");
  REQUIRE(m.size() == 2);
  CHECK(m[1]["skipped_images"] == corrupt);  // still counted in every epoch's metrics
  fs::remove_all(d);
}

TEST_CASE("train: divergence never leaves a checkpoint with non-finite values, steps with NaN gradients are skipped") {
  fs::path d = scratch("train_nonfinite");
  fs::path data = synthetic(d / "faces", 4, 14);
  const std::string common = "train --data " + (data / "train").string() +
                             " --arch ir_small --head cosface --batch 8 --workers 2 --schedule none --out ";
  // the runs: an lr of 1e4 left an infinite BatchNorm running_var in backbone.pth (exit 0), 1e8
  // with warm-up named a last.pth of 272 infinite values as the last good checkpoint
  CliRun big = fk::test::run_cli(common + (d / "a").string() + " --lr 1e4 --epochs 3");
  CHECK(big.code == 1);
  const bool stopped = has(big.out, "non-finite value") || has(big.out, "the loss is");
  CHECK_MESSAGE(stopped, big.out);
  CliRun huge = fk::test::run_cli(common + (d / "b").string() + " --lr 1e8 --warmup 4 --epochs 6");
  CHECK(huge.code == 1);
  for (const fs::path& run : {d / "a", d / "b"})
    for (const char* file : {"last.pth", "best.pth", "backbone.pth"})
      if (fs::exists(run / file)) {
        const fk::NonFiniteEntries bad = fk::count_nonfinite(fk::data::read_torch((run / file).string()));
        CHECK_MESSAGE(bad.count == 0, (run / file).string() << ": " << bad.count << " non-finite, first " << bad.first_key);
      }
  // NaN gradients (the testing aid puts one into a weight's gradient): skipped and counted, the run
  // goes on after 3; 5 in a row stop it, naming the last good checkpoint
  CliRun three = fk::test::run_cli(common + (d / "c").string() + " --lr 0.05 --epochs 1 --nan-gradient-steps 3");
  CHECK_MESSAGE(three.code == 0, three.out);
  CHECK_MESSAGE(has(three.out, "epoch 1, step 3: non-finite gradients, the step is skipped (3 in a row)"), three.out);
  CHECK(!has(three.out, "step 4: non-finite"));
  CHECK(fk::count_nonfinite(fk::data::read_torch((d / "c" / "last.pth").string())).count == 0);
  CliRun five = fk::test::run_cli(common + (d / "e").string() + " --lr 0.05 --epochs 1 --nan-gradient-steps 5");
  CHECK(five.code == 1);
  CHECK_MESSAGE(has(five.out, "train: 5 steps in a row had non-finite gradients, the last at epoch 1, step 5"), five.out);
  CHECK_MESSAGE(has(five.out, "Last good checkpoint: none (no epoch finished)"), five.out);
  CHECK(!fs::exists(d / "e" / "last.pth"));
  fs::remove_all(d);
}

TEST_CASE("train: killed between the checkpoint writes, --resume rewrites best.pth and backbone.pth from last.pth") {
  fs::path d = scratch("train_kill_writes");
  fs::path data = synthetic(d / "faces", 4, 14);
  const std::string common = "train --data " + (data / "train").string() +
                             " --arch ir_small --head cosface --epochs 2 --batch 8 --lr 0.05 --workers 2 --seed 3 --out ";
  // killed after epoch 2's last.pth, before its best.pth: best.pth is still epoch 1's
  CliRun killed = fk::test::run_cli(common + (d / "a").string() + " --abort-before-write best.pth@2");
  REQUIRE_MESSAGE(killed.code == 137, killed.out);  // epoch 2 is the best one with this seed
  const std::string last_bytes = fk::data::read_file((d / "a" / "last.pth").string());
  CHECK(fk::data::read_file((d / "a" / "best.pth").string()) != last_bytes);
  // a temporary file of a writer that died, and one of a live process (this test's): only the first goes
  { std::ofstream(d / "a" / "best.pth.tmp.999999") << "half a file"; }
  const fs::path live = d / "a" / ("best.pth.tmp." + std::to_string(::getpid()));
  { std::ofstream(live) << "being written"; }
  CliRun resumed = fk::test::run_cli(common + (d / "a").string() + " --resume");
  REQUIRE_MESSAGE(resumed.code == 0, resumed.out);
  CHECK_MESSAGE(has(resumed.out, "removed " + (d / "a" / "best.pth.tmp.999999").string()), resumed.out);
  CHECK(!fs::exists(d / "a" / "best.pth.tmp.999999"));
  CHECK(fs::exists(live));
  CHECK(fk::data::read_file((d / "a" / "best.pth").string()) == last_bytes);
  fk::StateDict backbone = fk::data::read_torch((d / "a" / "backbone.pth").string());
  fk::StateDict last = fk::data::read_torch((d / "a" / "last.pth").string());
  int64_t compared = 0;
  for (const auto& [k, t] : backbone) {
    REQUIRE(last.contains("model_state_dict." + k));
    CHECK_CLOSE(t, last.at("model_state_dict." + k), 0, 0, k);
    ++compared;
  }
  CHECK(compared > 10);
  auto m = read_metrics(d / "a");
  REQUIRE(m.size() == 2);
  CHECK(m[1]["best"] == true);

  // killed before epoch 1's backbone.pth: the resumed run writes it before training epoch 2
  CliRun killed2 = fk::test::run_cli(common + (d / "b").string() + " --abort-before-write backbone.pth@1");
  REQUIRE_MESSAGE(killed2.code == 137, killed2.out);
  CHECK(!fs::exists(d / "b" / "backbone.pth"));
  CliRun resumed2 = fk::test::run_cli(common + (d / "b").string() + " --resume");
  REQUIRE_MESSAGE(resumed2.code == 0, resumed2.out);
  CHECK(fs::exists(d / "b" / "backbone.pth"));
  CHECK(read_metrics(d / "b").size() == 2);
  fs::remove_all(d);
}
