// `facekit run`: --help lists the architectures; outputs written to the .npz equal an in-process
// forward (a training-checkpoint-style file with a nested state dict and a DataParallel prefix, and
// PNet on an arbitrary size); errors name the problem: unknown arch, wrong input shape, weights that
// do not fit, a missing --weights-key.
#include <filesystem>
#include <string>

#include "data/formats/npy.h"
#include "data/formats/weights.h"
#include "models/model_case.h"
#include "models/zoo/zoo.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using Run = fk::test::CliRun;
using fk::Tensor;

using fk::test::has;

using fk::test::scratch;  // a fresh scratch folder per test case

// det-filled model of `arch`, its weights saved under `prefix` (e.g. "net_state_dict.module.")
std::shared_ptr<fk::models::Model> saved_model(const std::string& arch, const fs::path& file, const std::string& prefix) {
  auto m = fk::models::create(arch);
  fk::test::det_fill(*m);
  fk::StateDict sd;
  for (const auto& [k, t] : m->state_dict()) sd.set(prefix + k, t);
  fk::data::write_torch(file.string(), sd);
  return m;
}

}  // namespace

TEST_CASE("run: --help lists every architecture with its input") {
  Run r = fk::test::run_cli("run --help");
  CHECK_MESSAGE(r.code == 0, r.out);
  for (const auto& a : fk::models::architectures()) CHECK_MESSAGE(has(r.out, a.name + ": "), a.name);
  CHECK(has(r.out, "--weights-key"));
  CHECK(fk::test::run_cli("run").code == 2);
}

TEST_CASE("run: a checkpoint's nested, DataParallel-prefixed state dict, outputs equal in-process forward") {
  fs::path d = scratch("ckpt");
  auto m = saved_model("mobilefacenet", d / "ckpt.pt", "net_state_dict.module.");
  fk::manual_seed(3);
  Tensor x = fk::randn({2, 3, 112, 96});
  fk::data::write_npy((d / "x.npy").string(), x);
  Run r = fk::test::run_cli("run --arch mobilefacenet --weights " + (d / "ckpt.pt").string() +
                            " --weights-key net_state_dict --input " + (d / "x.npy").string() + " --output " +
                            (d / "out.npz").string());
  REQUIRE_MESSAGE(r.code == 0, r.out);
  fk::StateDict out = fk::data::read_npz((d / "out.npz").string());
  m->eval();
  fk::autograd::NoGrad ng;
  CHECK_CLOSE(out.at("embedding"), m->forward(x), 1e-6, 1e-5, "mobilefacenet embedding via the CLI");

  // without the key the file does not fit: the error names the file, the arch and the keys
  Run bad = fk::test::run_cli("run --arch mobilefacenet --weights " + (d / "ckpt.pt").string() + " --input " +
                              (d / "x.npy").string() + " --output " + (d / "o2.npz").string());
  CHECK(bad.code == 1);
  CHECK_MESSAGE(has(bad.out, "weights do not fit mobilefacenet"), bad.out);
  CHECK_FALSE(fs::exists(d / "o2.npz"));

  Run nokey = fk::test::run_cli("run --arch mobilefacenet --weights " + (d / "ckpt.pt").string() +
                                " --weights-key model --input " + (d / "x.npy").string() + " --output " +
                                (d / "o3.npz").string());
  CHECK(nokey.code == 1);
  CHECK_MESSAGE(has(nokey.out, "no weights under key 'model'"), nokey.out);
  fs::remove_all(d);
}

TEST_CASE("run: PNet takes any size and writes prob and reg") {
  fs::path d = scratch("pnet");
  auto m = saved_model("pnet", d / "pnet.pt", "");
  fk::manual_seed(4);
  Tensor x = fk::randn({1, 3, 31, 45});
  fk::data::write_npy((d / "x.npy").string(), x);
  Run r = fk::test::run_cli("run --arch pnet --weights " + (d / "pnet.pt").string() + " --input " +
                            (d / "x.npy").string() + " --output " + (d / "out.npz").string());
  REQUIRE_MESSAGE(r.code == 0, r.out);
  fk::StateDict out = fk::data::read_npz((d / "out.npz").string());
  m->eval();
  fk::autograd::NoGrad ng;
  auto want = m->forward_outputs(x);
  REQUIRE(out.size() == want.size());
  for (const auto& [name, y] : want) CHECK_CLOSE(out.at(name), y, 1e-6, 1e-5, "pnet " + name);

  // RNet with PNet's weights, and PNet on a 2-d input: both refused with what was expected
  Run wrong = fk::test::run_cli("run --arch rnet --weights " + (d / "pnet.pt").string() + " --input " +
                                (d / "x.npy").string() + " --output " + (d / "o.npz").string());
  CHECK(wrong.code == 1);
  CHECK_MESSAGE(has(wrong.out, "weights do not fit rnet"), wrong.out);
  fk::data::write_npy((d / "flat.npy").string(), fk::randn({3, 31}));
  Run shape = fk::test::run_cli("run --arch pnet --weights " + (d / "pnet.pt").string() + " --input " +
                                (d / "flat.npy").string() + " --output " + (d / "o.npz").string());
  CHECK(shape.code == 1);
  CHECK_MESSAGE(has(shape.out, "pnet expects float32 (N, 3, any, any)"), shape.out);
  fs::remove_all(d);
}

TEST_CASE("run: unknown architecture lists the known ones") {
  Run r = fk::test::run_cli("run --arch resnet9000 --weights x --input y --output z");
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, "unknown architecture 'resnet9000' (expected one of: "), r.out);
  CHECK(has(r.out, "mobilefacenet"));
}

TEST_CASE("run: weights holding NaN or Inf are refused with the count and the first key, --allow-nonfinite loads them") {
  fs::path d = scratch("run_nonfinite");
  auto m = fk::models::create("pnet");
  fk::test::det_fill(*m);
  fk::StateDict sd = m->state_dict();
  std::string second_key;
  int i = 0;
  for (auto& [k, t] : sd) {
    Tensor c = t.clone();
    if (i == 1) {
      second_key = k;
      c.data<float>()[0] = NAN;
      c.data<float>()[1] = INFINITY;
    }
    if (i == 3) c.data<float>()[0] = -INFINITY;
    sd.set(k, c);
    ++i;
  }
  fk::data::write_torch((d / "bad.pt").string(), sd);
  fk::data::write_npy((d / "x.npy").string(), fk::zeros({1, 3, 12, 12}));
  const std::string common = "run --arch pnet --weights " + (d / "bad.pt").string() + " --input " +
                             (d / "x.npy").string() + " --output " + (d / "o.npz").string();
  Run r = fk::test::run_cli(common);
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, (d / "bad.pt").string() + ": 3 non-finite values (NaN or Inf), the first in '" + second_key +
                               "'; --allow-nonfinite loads them anyway"),
                r.out);
  CHECK(!fs::exists(d / "o.npz"));
  Run allowed = fk::test::run_cli(common + " --allow-nonfinite");
  CHECK_MESSAGE(allowed.code == 0, allowed.out);
  CHECK(fs::exists(d / "o.npz"));
  fs::remove_all(d);
}
