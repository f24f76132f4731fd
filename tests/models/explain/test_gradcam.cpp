// Grad-CAM (models/explain/gradcam.h) and the `facekit gradcam` command:
//  - a hand-made network (stride-2 1x1 conv -> global average pool -> linear) whose maps are worked
//    out by hand: Grad-CAM, Grad-CAM++, guided ReLU, the arg-max class, the bilinear upsampling;
//  - an all-zero cam gives zeros (not NaN); unknown layers, layers run twice, wrong targets throw;
//  - PyTorch's Grad-CAM (tests/fixtures/make_gradcam.py) on zoo models with deterministic weights:
//    resnet50_vggface2 at layer4.2.conv3 (class logit), mobilefacenet at conv2 (cosine with a reference
//    embedding), resnet50_torchvision (guided ReLU, Grad-CAM++, layer4): max |map - PyTorch| <= 1e-4;
//  - default_layer names a module of every architecture;
//  - the command on real LFW photos with the real MobileFaceNet weights (../shared/data).
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "data/image/image.h"
#include "data/formats/npy.h"
#include "layers/layers.h"
#include "models/explain/gradcam.h"
#include "models/model_case.h"
#include "test_util.h"

using namespace fk;
namespace fs = std::filesystem;

namespace {

// conv (1 -> 2 channels, 1x1, stride 2, bias) -> global average pool -> [ReLU] -> linear (2 -> 3).
// Weights: conv w = (1, 2), b = (0, -2); linear rows (1, 1), (1, -1), (-1, 0), bias (0, 3, 0).
// On a 4x4 input whose even rows/columns hold [[0, 1], [2, 3]] the conv gives
//   A0 = [[0, 1], [2, 3]] (mean 1.5),  A1 = 2 A0 - 2 = [[-2, 0], [2, 4]] (mean 1),
// logits = (1.5 + 1, 1.5 - 1 + 3, -1.5) = (2.5, 3.5, -1.5), and dy_c/dA_k = row_c[k] / 4 everywhere.
class TinyNet : public models::Model {
 public:
  // relu_uses: how many times the shared ReLU module runs after the pool (0, 1 or 2; idempotent)
  explicit TinyNet(int relu_uses = 0) : relu_uses(relu_uses) {
    conv = register_module("conv", std::make_shared<Conv2d>(1, 2, 1, 2));
    pool = register_module("pool", std::make_shared<AdaptiveAvgPool2d>(1));
    relu = register_module("relu", std::make_shared<ReLU>());
    fc = register_module("fc", std::make_shared<Linear>(2, 3));
    set(conv->weight, {1, 2});
    set(conv->bias, {0, -2});
    set(fc->weight, {1, 1, 1, -1, -1, 0});
    set(fc->bias, {0, 3, 0});
  }
  Tensor forward(const Tensor& x) override {
    Tensor p = flatten((*pool)((*conv)(x)), 1);
    for (int i = 0; i < relu_uses; ++i) p = (*relu)(p);
    return (*fc)(p);
  }
  models::NamedOutputs forward_outputs(const Tensor& x) override { return {{"logits", forward(x)}}; }

  int relu_uses;
  std::shared_ptr<Conv2d> conv;
  std::shared_ptr<AdaptiveAvgPool2d> pool;
  std::shared_ptr<ReLU> relu;
  std::shared_ptr<Linear> fc;

 private:
  static void set(Tensor& t, const std::vector<double>& v) { ops::copy_(t, fk::tensor(v, t.shape())); }
};

// The 4x4 input: even rows/columns hold 0, 1 / 2, 3; the others 9 (the stride-2 conv never sees them).
Tensor tiny_input() {
  return fk::tensor({0, 9, 1, 9, 9, 9, 9, 9, 2, 9, 3, 9, 9, 9, 9, 9}, {1, 1, 4, 4});
}

// A (h, w) tensor from rows typed in.
Tensor grid(const std::vector<std::vector<double>>& rows) {
  std::vector<double> v;
  for (const auto& r : rows) v.insert(v.end(), r.begin(), r.end());
  return fk::tensor(v, {int64_t(rows.size()), int64_t(rows[0].size())});
}

using fk::test::has;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

// ---- PyTorch fixtures

nlohmann::json fixture_targets() {
  std::ifstream f(test::fixture_path("gradcam/targets.json"));
  REQUIRE_MESSAGE(f.good(), "missing fixture gradcam/targets.json");
  return nlohmann::json::parse(f);
}

// scale * det_uniform(key): make_gradcam.py's det_input
Tensor det_input(const std::string& key, const Shape& shape, double scale) {
  std::vector<double> v = test::det_uniform(key, numel_of(shape));
  for (double& x : v) x *= scale;
  return fk::tensor(v, shape);
}

// The map, the cam and the target value of one case against PyTorch's (max abs error 1e-4).
void check_case(const std::string& name, const models::GradCamResult& r, const nlohmann::json& want) {
  CHECK(r.layer == want["layer"].get<std::string>());
  CHECK_CLOSE(r.cam, test::fixture("gradcam/" + name + "_cam.npy"), 1e-4, 0, name + " cam");
  CHECK_CLOSE(r.map, test::fixture("gradcam/" + name + "_map.npy"), 1e-4, 0, name + " map");
  if (want.contains("class")) {
    CHECK(r.class_index == want["class"].get<int64_t>());
    double logit = want["logit"].get<double>();
    CHECK_MESSAGE(std::abs(r.target_value - logit) <= 1e-4 * std::max(1.0, std::abs(logit)),
                  name << ": logit " << r.target_value << ", PyTorch " << logit);
  } else {
    double cosine = want["cosine"].get<double>();
    CHECK_MESSAGE(std::abs(r.target_value - cosine) <= 1e-5, name << ": cosine " << r.target_value << ", PyTorch "
                                                                  << cosine);
  }
}

std::shared_ptr<models::Model> det_model(const std::string& arch, const models::ArchOptions& opts = {}) {
  auto model = models::create(arch, opts);
  test::det_fill(*model);
  model->eval();
  return model;
}

}  // namespace

TEST_CASE("grad_cam: a hand-worked network (class logit, stride-2 map upsampled bilinearly)") {
  auto net = std::make_shared<TinyNet>();
  net->eval();
  // class 1: α = (1, -1) / 4, cam = ReLU((A0 - A1) / 4) = ReLU([[0.5, 0.25], [0, -0.25]]) -> / 0.5
  models::GradCamResult r = models::grad_cam(*net, tiny_input(), "conv", models::CamTarget::logit(1));
  CHECK(r.class_index == 1);
  CHECK(r.target_value == doctest::Approx(3.5));
  CHECK_CLOSE(r.activation, fk::tensor({0, 1, 2, 3, -2, 0, 2, 4}, {2, 2, 2}), 1e-6, 0, "A");
  CHECK_CLOSE(r.gradient, fk::tensor({.25, .25, .25, .25, -.25, -.25, -.25, -.25}, {2, 2, 2}), 1e-7, 0, "dy/dA");
  CHECK_CLOSE(r.weights, fk::tensor({.25, -.25}), 1e-7, 0, "alpha");
  CHECK_CLOSE(r.raw_cam, grid({{.5, .25}, {0, 0}}), 1e-6, 0, "raw cam");
  CHECK_CLOSE(r.cam, grid({{1, .5}, {0, 0}}), 1e-6, 0, "cam");
  // 2 -> 4 with half-pixel centres: output i reads source (i + 0.5) / 2 - 0.5 = -0.25 (clamped to 0),
  // 0.25, 0.75, 1.25 (clamped to 1): weights (1, 0), (.75, .25), (.25, .75), (0, 1) on both axes.
  // Row 0 of the cam, (1, .5), becomes (1, .875, .625, .5); rows 1..3 are .75, .25 and 0 times it.
  CHECK_CLOSE(r.map,
              grid({{1, .875, .625, .5}, {.75, .65625, .46875, .375}, {.25, .21875, .15625, .125}, {0, 0, 0, 0}}),
              1e-6, 0, "map");

  // no class given: the arg max of (2.5, 3.5, -1.5)
  CHECK(models::grad_cam(*net, tiny_input(), "conv", models::CamTarget::logit()).class_index == 1);
  // class 0: α = (1, 1) / 4, cam = ReLU((A0 + A1) / 4) = [[0, .25], [1, 1.75]] -> / 1.75
  r = models::grad_cam(*net, tiny_input(), "conv", models::CamTarget::logit(0));
  CHECK(r.target_value == doctest::Approx(2.5));
  CHECK_CLOSE(r.cam, grid({{0, 1.0 / 7}, {4.0 / 7, 1}}), 1e-6, 0, "cam of class 0");
}

TEST_CASE("grad_cam: Grad-CAM++ and the guided ReLU rule on the hand-worked network") {
  auto net = std::make_shared<TinyNet>();
  net->eval();
  // Grad-CAM++ (as the reference implements it), class 1: g = ReLU(dy/dA) is 1/4 on A0, 0 on A1, so
  // w = (1, 0) and cam = A0 (no ReLU) -> [[0, 1/3], [2/3, 1]]
  models::GradCamOptions pp;
  pp.method = models::CamMethod::GradCamPlusPlus;
  models::GradCamResult r = models::grad_cam(*net, tiny_input(), "conv", models::CamTarget::logit(1), pp);
  CHECK_CLOSE(r.weights, fk::tensor({1, 0}), 1e-6, 0, "Grad-CAM++ weights");
  CHECK_CLOSE(r.cam, grid({{0, 1.0 / 3}, {2.0 / 3, 1}}), 1e-6, 0, "Grad-CAM++ cam");

  // With a ReLU after the pool (inputs 1.5 and 1, both positive, so it passes everything): the plain
  // rule gives the same map as without it; the guided rule clamps the gradient (1, -1) reaching the
  // ReLU to (1, 0), so α = (1/4, 0) and the cam is A0's.
  auto with_relu = std::make_shared<TinyNet>(1);
  with_relu->eval();
  r = models::grad_cam(*with_relu, tiny_input(), "conv", models::CamTarget::logit(1));
  CHECK_CLOSE(r.cam, grid({{1, .5}, {0, 0}}), 1e-6, 0, "plain ReLU");
  models::GradCamOptions guided;
  guided.guided_relu = true;
  r = models::grad_cam(*with_relu, tiny_input(), "conv", models::CamTarget::logit(1), guided);
  CHECK_CLOSE(r.weights, fk::tensor({.25, 0}), 1e-7, 0, "guided weights");
  CHECK_CLOSE(r.cam, grid({{0, 1.0 / 3}, {2.0 / 3, 1}}), 1e-6, 0, "guided cam");
}

TEST_CASE("grad_cam: an all-zero cam gives zeros, not NaN") {
  auto net = std::make_shared<TinyNet>();
  net->eval();
  // class 2 (row (-1, 0)): cam = ReLU(-A0 / 4) = 0 everywhere; the reference would divide 0 by 0
  models::GradCamResult r = models::grad_cam(*net, tiny_input(), "conv", models::CamTarget::logit(2));
  CHECK(r.target_value == doctest::Approx(-1.5));
  CHECK_CLOSE(r.raw_cam, zeros({2, 2}), 0, 0, "raw cam");
  CHECK_CLOSE(r.cam, zeros({2, 2}), 0, 0, "cam");
  CHECK_CLOSE(r.map, zeros({4, 4}), 0, 0, "map");
  // any constant cam carries no location
  CHECK_CLOSE(models::normalize_cam(full({3, 2}, 0.7)), zeros({3, 2}), 0, 0, "constant cam");
  CHECK_CLOSE(models::normalize_cam(grid({{-1, 0}, {1, 3}})), grid({{0, .25}, {.5, 1}}), 1e-7, 0, "min-max");
}

TEST_CASE("grad_cam: leaves the parameters as they were") {
  auto net = std::make_shared<TinyNet>();
  net->eval();
  models::grad_cam(*net, tiny_input(), "conv", models::CamTarget::logit(1));
  for (const auto& [name, p] : net->named_parameters()) {
    CHECK_MESSAGE(p.requires_grad(), name << " no longer requires grad");
    CHECK_MESSAGE(!p.grad().defined(), name << " got a gradient");
  }
  // the hooks are gone: a second run gives the same result
  CHECK(models::grad_cam(*net, tiny_input(), "conv", models::CamTarget::logit(0)).target_value == doctest::Approx(2.5));
}

TEST_CASE("grad_cam: unknown layers, layers run twice and mismatched targets are one-line errors") {
  auto net = std::make_shared<TinyNet>(2);
  net->eval();
  std::string e = error_of([&] { models::grad_cam(*net, tiny_input(), "conv2", models::CamTarget::logit()); });
  CHECK_MESSAGE((has(e, "grad_cam: unknown layer") && has(e, "no submodule \"conv2\"") &&
                 has(e, "closest: \"conv\"")),
                e);
  e = error_of([&] { models::grad_cam(*net, tiny_input(), "relu", models::CamTarget::logit()); });
  CHECK_MESSAGE(has(e, "layer 'relu' ran 2 times"), e);
  e = error_of([&] { models::grad_cam(*net, tiny_input(), "fc", models::CamTarget::logit()); });
  CHECK_MESSAGE(has(e, "not a (1, K, h, w) feature map"), e);
  e = error_of([&] { models::grad_cam(*net, tiny_input(), "conv", models::CamTarget::logit(3)); });
  CHECK_MESSAGE(has(e, "class 3 is out of range (the model has 3 classes)"), e);
  e = error_of([&] { models::grad_cam(*net, tiny_input(), "conv", models::CamTarget::cosine(ones({3}))); });
  CHECK_MESSAGE(has(e, "a cosine target needs an embedding model"), e);
  e = error_of([&] { models::grad_cam(*net, zeros({2, 1, 4, 4}), "conv", models::CamTarget::logit()); });
  CHECK_MESSAGE(has(e, "expected one input (1, C, H, W)"), e);
  e = error_of([&] {
    autograd::NoGrad ng;
    models::grad_cam(*net, tiny_input(), "conv", models::CamTarget::logit());
  });
  CHECK_MESSAGE(has(e, "inside a NoGrad scope"), e);

  auto mobile = models::create("mobilefacenet");
  mobile->eval();
  e = error_of([&] { models::grad_cam(*mobile, zeros({1, 3, 112, 96}), "conv2", models::CamTarget::logit()); });
  CHECK_MESSAGE(has(e, "a class target needs a model with a classifier, this one outputs: embedding"), e);
  e = error_of(
      [&] { models::grad_cam(*mobile, zeros({1, 3, 112, 96}), "conv2", models::CamTarget::cosine(ones({5}))); });
  CHECK_MESSAGE(has(e, "the reference embedding has 5 values, the model's embedding 128"), e);
  e = error_of([] { models::default_layer("pnet"); });
  CHECK_MESSAGE(has(e, "has no feature map"), e);
}

TEST_CASE("grad_cam: default_layer names a module of every recognition architecture") {
  for (const auto& arch : models::architectures()) {
    if (arch.name == "pnet" || arch.name == "rnet" || arch.name == "onet") continue;
#ifdef FK_SANITIZED
    // building the 40-65M-parameter nets takes minutes under the sanitizers: the smaller ones only
    if (arch.name != "mobilefacenet" && arch.name != "iresnet18" && arch.name != "inception_resnet_v1" &&
        arch.name != "resnet50_torchvision")
      continue;
#endif
    std::string layer = models::default_layer(arch.name);
    auto model = models::create(arch.name);
    CHECK_MESSAGE(model->find(layer) != nullptr, arch.name << ": " << layer);
  }
  CHECK(models::default_layer("resnet50_vggface2") == "layer4.2.conv3");
  CHECK(models::default_layer("senet50_vggface2") == "layer4.2.conv3");
  CHECK(models::default_layer("mobilefacenet") == "conv2");
}

TEST_CASE("grad_cam: mobilefacenet at conv2, cosine with a reference embedding, matches PyTorch") {
  nlohmann::json want = fixture_targets()["mobilefacenet"];
  auto model = det_model("mobilefacenet");
  Tensor x = det_input(want["input"], {1, 3, 112, 96}, want["scale"]);
  Tensor ref_input = det_input(want["reference"], {1, 3, 112, 96}, want["scale"]);
  Tensor ref;
  {
    autograd::NoGrad ng;
    ref = model->forward(ref_input);
  }
  models::GradCamResult r = models::grad_cam(*model, x, "conv2", models::CamTarget::cosine(ref));
  CHECK(r.activation.shape() == Shape{512, 7, 6});
  CHECK(r.map.shape() == Shape{112, 96});
  check_case("mobilefacenet", r, want);
}

TEST_CASE("grad_cam: resnet50_torchvision with guided ReLU, Grad-CAM++ and layer4 matches PyTorch") {
  nlohmann::json targets = fixture_targets();
  models::ArchOptions opts;
  opts.num_classes = 10;
  auto model = det_model("resnet50_torchvision", opts);
  Tensor x = det_input(targets["tv_guided"]["input"], {1, 3, 96, 96}, targets["tv_guided"]["scale"]);

  models::GradCamOptions guided;
  guided.guided_relu = true;
  check_case("tv_guided", models::grad_cam(*model, x, "layer4.2.conv3", models::CamTarget::logit(), guided),
             targets["tv_guided"]);
  models::GradCamOptions pp;
  pp.method = models::CamMethod::GradCamPlusPlus;
  check_case("tv_plusplus", models::grad_cam(*model, x, "layer4.2.conv3", models::CamTarget::logit(), pp),
             targets["tv_plusplus"]);
  check_case("tv_layer4", models::grad_cam(*model, x, models::default_layer("resnet50_torchvision"),
                                           models::CamTarget::logit()),
             targets["tv_layer4"]);
}

TEST_CASE("grad_cam: resnet50_vggface2 at layer4.2.conv3, class 7, matches PyTorch") {
#ifdef FK_SANITIZED
  FK_SKIP("under the sanitizers: a full 224x224 ResNet-50 with 8631 classes is too slow there");
#else
  nlohmann::json want = fixture_targets()["vggface2"];
  auto model = det_model("resnet50_vggface2");
  Tensor x = det_input(want["input"], {1, 3, 224, 224}, want["scale"]);
  models::GradCamResult r = models::grad_cam(*model, x, "layer4.2.conv3", models::CamTarget::logit(7));
  CHECK(r.activation.shape() == Shape{2048, 7, 7});
  CHECK(r.map.shape() == Shape{224, 224});
  check_case("vggface2", r, want);
#endif
}

// ---- the command

namespace {

const fs::path kShared = fs::path(FK_SHARED_DATA_DIR);

bool have_real_data() {
  return fs::exists(kShared / "weights/mobilefacenet_casia/068.ckpt") && fs::exists(kShared / "mtcnn/pnet.pt") &&
         fs::exists(kShared / "faces/lfw_dev/Barbra_Streisand/Barbra_Streisand_0001.jpg");
}

std::string mobilefacenet_flags() {
  return " --arch mobilefacenet --weights " + (kShared / "weights/mobilefacenet_casia/068.ckpt").string() +
         " --weights-key net_state_dict --mtcnn-weights " + (kShared / "mtcnn").string();
}

}  // namespace

TEST_CASE("gradcam command: --help describes the options") {
  test::CliRun r = test::run_cli("gradcam --help");
  CHECK_MESSAGE(r.code == 0, r.out);
  for (const char* opt : {"--arch", "--weights", "--weights-key", "--layer", "--class", "--reference", "--no-detect",
                          "--method", "--guided-relu", "--out", "--mtcnn-weights"})
    CHECK_MESSAGE(has(r.out, opt), opt);
}

TEST_CASE("gradcam command: MobileFaceNet cosine map of two photos of one person") {
  if (!have_real_data()) {
    FK_SKIP("../shared/data (MobileFaceNet 068.ckpt, MTCNN weights, LFW photos) is absent");
  }
  fs::path d = fk::test::scratch("gradcam_cosine");
  fs::path lfw = kShared / "faces/lfw_dev/Barbra_Streisand";
  test::CliRun r = test::run_cli("gradcam " + (lfw / "Barbra_Streisand_0001.jpg").string() + " --reference " +
                                 (lfw / "Barbra_Streisand_0003.jpg").string() + mobilefacenet_flags() + " --out " +
                                 (d / "heat.png").string());
  REQUIRE_MESSAGE(r.code == 0, r.out);
  nlohmann::json j = nlohmann::json::parse(r.out);
  CHECK(j["layer"] == "conv2");
  CHECK(j["face"]["score"].get<double>() > 0.9);
  double cosine = j["target"]["cosine"].get<double>();
  CHECK_MESSAGE(cosine > 0.3, "same person, cosine " << cosine);  // make_inception_mobilefacenet.py: ~0.6
  CHECK(cosine <= 1.0);
  CHECK(j["outputs"]["overlay"] == (d / "heat_overlay.png").string());

  data::Image heat = data::read_image((d / "heat.png").string());
  data::Image overlay = data::read_image((d / "heat_overlay.png").string());
  CHECK(heat.width == 96);
  CHECK(heat.height == 112);
  CHECK(overlay.width == 96);
  CHECK(overlay.height == 112);
  Tensor map = data::read_npy((d / "heat.npy").string());
  REQUIRE(map.shape() == Shape{112, 96});
  CHECK(map.dtype() == DType::Float32);
  auto v = map.to_vector<double>();
  double lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
  // the cam (7x6) is min-max normalised; the 16x bilinear upsampling never lands on a cell centre
  // exactly, so the map's extremes lie just inside [0, 1]
  CHECK(lo >= 0.0);
  CHECK(lo < 0.1);
  CHECK(hi <= 1.0);
  CHECK(hi > 0.9);

  // --no-detect on the aligned crop itself: the same face, so a map of the same size
  test::CliRun nd = test::run_cli("gradcam " + (d / "heat_overlay.png").string() + " --no-detect --reference " +
                                  (d / "heat_overlay.png").string() + mobilefacenet_flags() + " --out " +
                                  (d / "nd.png").string());
  REQUIRE_MESSAGE(nd.code == 0, nd.out);
  CHECK(nlohmann::json::parse(nd.out)["target"]["cosine"].get<double>() == doctest::Approx(1.0).epsilon(1e-5));
  CHECK(data::read_npy((d / "nd.npy").string()).shape() == Shape{112, 96});
  fs::remove_all(d);
}

TEST_CASE("gradcam command: no face, a class target on an embedding model, bad usage") {
  if (!have_real_data()) {
    FK_SKIP("../shared/data (MobileFaceNet 068.ckpt, MTCNN weights) is absent");
  }
  fs::path d = fk::test::scratch("gradcam_errors");
  data::Image blank(200, 150);
  std::fill(blank.pixels.begin(), blank.pixels.end(), uint8_t(128));
  data::write_png((d / "blank.png").string(), blank);
  test::CliRun r = test::run_cli("gradcam " + (d / "blank.png").string() + mobilefacenet_flags() + " --reference " +
                                 (d / "blank.png").string() + " --out " + (d / "h.png").string());
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, "facekit: " + (d / "blank.png").string() + ": no face found"), r.out);
  CHECK_MESSAGE(std::count(r.out.begin(), r.out.end(), '\n') == 1, r.out);

  fs::path face = kShared / "faces/lfw_dev/Barbra_Streisand/Barbra_Streisand_0001.jpg";
  r = test::run_cli("gradcam " + face.string() + mobilefacenet_flags() + " --class 3 --out " + (d / "h.png").string());
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, "a class target needs a model with a classifier"), r.out);
  CHECK(!fs::exists(d / "h.png"));

  r = test::run_cli("gradcam " + face.string() + mobilefacenet_flags() + " --class 3 --reference " + face.string() +
                    " --out " + (d / "h.png").string());
  CHECK(r.code == 2);  // --class excludes --reference
  fs::remove_all(d);
}
