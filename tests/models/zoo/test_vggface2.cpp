// The VGGFace2 ResNet-50 and SE-ResNet-50 (models/zoo/vggface2.h) against PyTorch: full architectures with
// deterministic weights (10 classes) in eval and train mode with parameter gradients, the include_top=False
// feature, PyTorch's state-dict keys, shapes and counts at 8631 classes, a strict load of a torch.save'd
// 8631-class state dict, a Python-2 .pkl of a subset of keys loaded the way cydonia's loader does, and
// the zoo entries. Fixtures: tests/fixtures/make_vggface2.py -> tests/fixtures/vggface2/ (one 195x195
// input shared by every case; 195 is the smallest side the fixed 7x7 pool accepts). PyTorch recorded
// the cases in float64: the harness runs our model in float64 too (train-mode gradients of a 50-layer
// ReLU net are not reproducible to 1e-3 in float32: PyTorch's own float32 and float64 norms differ by
// up to 1.6%), and the float32 model's eval outputs are checked against the same recordings.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "data/formats/weights.h"
#include "models/model_case.h"
#include "models/zoo/vggface2.h"

using namespace fk;

namespace {

// A "<key> <dtype> <d0,d1,...>" list after a "# num_parameters P state_values V" line
// (make_vggface2.py write_keys): PyTorch's state_dict() of the model.
struct KeyList {
  int64_t num_parameters = 0, state_values = 0;
  std::vector<std::tuple<std::string, std::string, Shape>> entries;  // key, dtype, shape
};

KeyList read_key_list(const std::string& rel) {
  std::ifstream f(test::fixture_path(rel));
  REQUIRE_MESSAGE(f.good(), "missing fixture " << rel);
  KeyList list;
  std::string line, word;
  std::getline(f, line);
  std::istringstream header(line);
  header >> word >> word >> list.num_parameters >> word >> list.state_values;
  while (std::getline(f, line)) {
    std::istringstream row(line);
    std::string key, dtype, dims;
    row >> key >> dtype >> dims;
    Shape shape;
    std::istringstream d(dims);
    for (std::string n; std::getline(d, n, ',');) shape.push_back(std::stoll(n));
    list.entries.emplace_back(key, dtype, shape);
  }
  return list;
}

// Our state_dict() has exactly PyTorch's keys, in its order, with its dtypes and shapes; the parameter
// count and the number of floating-point values agree too.
void check_same_state_dict(const Module& model, const KeyList& want) {
  StateDict sd = model.state_dict();
  REQUIRE_MESSAGE(sd.size() == want.entries.size(), sd.size() << " keys, PyTorch has " << want.entries.size());
  int64_t values = 0;
  for (size_t i = 0; i < sd.size(); ++i) {
    const auto& [key, t] = sd.items()[i];
    const auto& [want_key, want_dtype, want_shape] = want.entries[i];
    CHECK_MESSAGE(key == want_key, "key " << i << " is '" << key << "', PyTorch's is '" << want_key << "'");
    CHECK_MESSAGE(dtype_name(t.dtype()) == want_dtype, key << ": dtype " << dtype_name(t.dtype()));
    CHECK_MESSAGE(t.shape() == want_shape, key << ": shape " << shape_str(t.shape()) << ", PyTorch "
                                               << shape_str(want_shape));
    if (t.dtype() == DType::Float32) values += t.numel();
  }
  CHECK(model.num_parameters() == want.num_parameters);
  CHECK(values == want.state_values);
}

// The net in float64, fed float64: the committed inputs are float32 (exact copies of PyTorch's float64
// inputs), converted on the way in.
struct VGGFace2ResNetF64 : models::VGGFace2ResNet {
  using VGGFace2ResNet::VGGFace2ResNet;
  models::NamedOutputs forward_outputs(const Tensor& x) override {
    return VGGFace2ResNet::forward_outputs(x.to(DType::Float64));
  }
};

// check_model_case in float64, then the float32 net's eval output against the same recording
void check_vggface2_case(const std::string& dir, bool squeeze_excite, const std::vector<std::string>& grad_keys) {
  auto f64 = std::make_shared<VGGFace2ResNetF64>(squeeze_excite, 10);
  f64->to(DType::Float64);
  test::check_model_case(dir, *f64, grad_keys);

  auto f32 = std::make_shared<models::VGGFace2ResNet>(squeeze_excite, 10);
  test::det_fill(*f32);
  f32->eval();
  autograd::NoGrad ng;
  CHECK_SCALED(f32->forward(test::fixture(dir + "/input.npy")), test::fixture(dir + "/out_logits.npy"), 1e-4,
               dir + " float32 eval logits");
}

}  // namespace

TEST_CASE("resnet50_vggface2: eval, train and gradients match PyTorch (full net, 10 classes)") {
  check_vggface2_case("vggface2/resnet50", false, {"fc.bias", "bn1.weight", "layer4.2.bn3.bias"});
}

TEST_CASE("senet50_vggface2: eval, train and gradients match PyTorch (full net, 10 classes)") {
  check_vggface2_case("vggface2/senet50", true, {"fc.bias", "bn1.weight", "layer4.2.conv5.bias"});
}

TEST_CASE("vggface2: include_top=False gives the flattened 2048-d pooled feature (float32, eval)") {
  for (const char* name : {"resnet50", "senet50"}) {
    CAPTURE(name);
    models::ArchOptions opts{.num_classes = 10, .features = true};
    auto model = std::string(name) == "resnet50" ? models::resnet50_vggface2(opts) : models::senet50_vggface2(opts);
    test::check_model_case(std::string("vggface2/") + name + "_features", *model);
    // fc is kept so that the published weights still load strictly
    CHECK(model->state_dict().contains("fc.weight"));
  }
}

TEST_CASE("vggface2: state-dict keys, shapes and counts are PyTorch's at 8631 classes") {
  SUBCASE("resnet50") {
    auto model = models::resnet50_vggface2();
    KeyList want = read_key_list("vggface2/resnet50_keys.txt");
    CHECK(want.entries.size() == 320);          // models.md section 1
    CHECK(want.state_values == 41'246'071);
    check_same_state_dict(*model, want);
  }
  SUBCASE("senet50") {
    auto model = models::senet50_vggface2();
    KeyList want = read_key_list("vggface2/senet50_keys.txt");
    CHECK(want.entries.size() == 384);
    CHECK(want.state_values == 43'777'063);
    check_same_state_dict(*model, want);
  }
}

TEST_CASE("vggface2: a torch.save'd 8631-class state dict loads strictly, classes inferred") {
  for (const char* name : {"resnet50", "senet50"}) {
    CAPTURE(name);
    // every tensor in the file is a stride-0 view of one element (0.5; num_batches_tracked 0)
    std::string format;
    StateDict sd = data::read_weights(test::fixture_path(std::string("vggface2/") + name + "_8631.pt"), &format);
    CHECK(format == "torch-zip");
    const auto& arch = models::find_architecture(std::string(name) + "_vggface2");
    models::ArchOptions opts;
    arch.infer_options(sd, opts);
    CHECK(opts.num_classes == 8631);
    auto model = arch.make(opts);
    model->load_state_dict(sd, /*strict=*/true);
    Tensor fc = model->state_dict().at("fc.weight");
    CHECK(fc.shape() == Shape{8631, 2048});
    CHECK(ops::max(fc).item() == 0.5);
    CHECK(ops::min(fc).item() == 0.5);
  }
}

TEST_CASE("resnet50_vggface2: a Python-2 .pkl of some keys loads like cydonia's loader") {
  // cydonia's utils.load_state_dict copies every pickle entry into the same-named parameter and
  // rejects unknown names; keys absent from the file keep their values.
  std::string format;
  StateDict pkl = data::read_weights(test::fixture_path("vggface2/resnet50_subset.pkl"), &format);
  CHECK(format == "pickle");
  REQUIRE(pkl.size() == 13);

  auto model = models::resnet50_vggface2({.num_classes = 10});
  test::det_fill(*model);
  StateDict sd = model->state_dict();
  for (const auto& [key, t] : pkl) {
    Tensor dst = sd.at(key);
    ops::fill_(dst, 0.0);  // so the test sees the file's values arrive
  }
  auto result = model->load_state_dict(pkl, /*strict=*/false);
  CHECK(result.unexpected_keys.empty());
  // missing: every other key but BatchNorm's num_batches_tracked, which a load fills with 0 as PyTorch's does
  std::vector<std::string> want_missing;
  for (const auto& [key, t] : sd)
    if (!pkl.contains(key) && !key.ends_with("num_batches_tracked")) want_missing.push_back(key);
  CHECK(result.missing_keys == want_missing);
  for (const auto& [key, t] : pkl) {
    Tensor want = fk::tensor(test::det_value(key, t.shape()), t.shape(), DType::Float64).to(DType::Float32);
    CHECK_CLOSE(sd.at(key), want, 0.0, 0.0, key);
  }
  // the net is whole again: its output is the recorded one
  model->eval();
  autograd::NoGrad ng;
  Tensor x = test::fixture("vggface2/resnet50/input.npy");
  CHECK_SCALED(model->forward(x), test::fixture("vggface2/resnet50/out_logits.npy"), 1e-4, "after the .pkl load");
}

TEST_CASE("vggface2: zoo entries, defaults, and a clear error for a wrong input size") {
  auto resnet = models::create("resnet50_vggface2");
  auto* net = dynamic_cast<models::VGGFace2ResNet*>(resnet.get());
  REQUIRE(net != nullptr);
  CHECK(net->num_classes == 8631);
  CHECK(net->include_top);
  CHECK(!net->squeeze_excite);

  const auto& senet = models::find_architecture("senet50_vggface2");
  CHECK(senet.height == 224);
  CHECK(senet.width == 224);
  CHECK(senet.preprocessing.find("BGR") != std::string::npos);

  // infer_options fills the classifier size only when the user left it at 0
  StateDict weights;
  weights.set("fc.weight", zeros({500, 2048}));
  models::ArchOptions opts;
  senet.infer_options(weights, opts);
  CHECK(opts.num_classes == 500);
  opts.num_classes = 10;
  senet.infer_options(weights, opts);
  CHECK(opts.num_classes == 10);

  // the printed tree shows the Caffe details
  std::string printed = resnet->repr();
  CHECK(printed.find("(maxpool): MaxPool2d(kernel_size=3, stride=2, padding=0, dilation=1, ceil_mode=True)") !=
        std::string::npos);
  CHECK(printed.find("(conv1): Conv2d(64, 64, kernel_size=(1, 1), stride=(1, 1), bias=False)") != std::string::npos);

  try {
    autograd::NoGrad ng;
    resnet->eval();
    resnet->forward(zeros({1, 3, 64, 64}));
    FAIL("no throw");
  } catch (const Error& e) {
    std::string msg = e.what();
    CHECK(msg.find("fixed 7x7 average pool") != std::string::npos);
    CHECK(msg.find("224x224") != std::string::npos);
  }
}
