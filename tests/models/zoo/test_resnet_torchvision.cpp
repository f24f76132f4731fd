// torchvision's ResNet-50 with the KIT heads (models/zoo/resnet_torchvision.h) against PyTorch: the full
// net with deterministic weights for the "fc" and "mlp" heads (10 classes) in eval and train mode with
// parameter gradients (the mlp head's dropout is switched off by the harness in train mode), the
// state-dict keys, shapes and counts of all three heads, a whole pickled KIT model (torch.save(model))
// loaded strictly with its head inferred, freezing the backbone, and the zoo entry.
// Fixtures: tests/fixtures/make_vggface2.py -> tests/fixtures/resnet_torchvision/ (a 2x3x48x48 input
// shared by both cases: the adaptive pool takes any size). PyTorch recorded the cases in float64: the
// harness runs our model in float64 too (train-mode gradients of a 50-layer ReLU net are not
// reproducible to 1e-3 in float32), and the float32 model's eval output is checked against the same
// recordings.
#include <unistd.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/formats/weights.h"
#include "models/recognition/face_embedder.h"
#include "models/model_case.h"
#include "models/zoo/resnet_torchvision.h"

using namespace fk;

namespace {

struct KeyEntry {
  std::string key, dtype;
  Shape shape;
};

// "<key> <dtype> <d0,d1,...>" rows (make_vggface2.py write_keys); a "# ..." line starts a new section,
// whose words after the first are kept in `header` ("# linear num_parameters P state_values V").
struct KeySection {
  std::vector<std::string> header;
  std::vector<KeyEntry> entries;
};

std::vector<KeySection> read_key_sections(const std::string& rel) {
  std::ifstream f(test::fixture_path(rel));
  REQUIRE_MESSAGE(f.good(), "missing fixture " << rel);
  std::vector<KeySection> sections;
  for (std::string line; std::getline(f, line);) {
    std::istringstream row(line);
    if (line.rfind("#", 0) == 0) {
      sections.emplace_back();
      std::string word;
      row >> word;
      while (row >> word) sections.back().header.push_back(word);
      continue;
    }
    KeyEntry e;
    std::string dims;
    row >> e.key >> e.dtype >> dims;
    std::istringstream d(dims);
    for (std::string n; std::getline(d, n, ',');) e.shape.push_back(std::stoll(n));
    sections.back().entries.push_back(e);
  }
  return sections;
}

// the value after `name` in a section header
int64_t header_value(const KeySection& s, const std::string& name) {
  for (size_t i = 0; i + 1 < s.header.size(); ++i)
    if (s.header[i] == name) return std::stoll(s.header[i + 1]);
  FAIL("no '" << name << "' in the key-list header");
  return -1;
}

// Our state_dict() is exactly `want` (keys in order, dtypes, shapes); counts as PyTorch's.
void check_same_state_dict(const Module& model, const std::vector<KeyEntry>& want, int64_t num_parameters,
                           int64_t state_values) {
  StateDict sd = model.state_dict();
  REQUIRE_MESSAGE(sd.size() == want.size(), sd.size() << " keys, PyTorch has " << want.size());
  int64_t values = 0;
  for (size_t i = 0; i < sd.size(); ++i) {
    const auto& [key, t] = sd.items()[i];
    CHECK_MESSAGE(key == want[i].key, "key " << i << " is '" << key << "', PyTorch's is '" << want[i].key << "'");
    CHECK_MESSAGE(dtype_name(t.dtype()) == want[i].dtype, key << ": dtype " << dtype_name(t.dtype()));
    CHECK_MESSAGE(t.shape() == want[i].shape,
                  key << ": shape " << shape_str(t.shape()) << ", PyTorch " << shape_str(want[i].shape));
    if (t.dtype() == DType::Float32) values += t.numel();
  }
  CHECK(model.num_parameters() == num_parameters);
  CHECK(values == state_values);
}

// The net in float64, fed float64: the committed input is float32 (an exact copy of PyTorch's float64
// input), converted on the way in.
struct TorchvisionResNet50F64 : models::TorchvisionResNet50 {
  using TorchvisionResNet50::TorchvisionResNet50;
  models::NamedOutputs forward_outputs(const Tensor& x) override {
    return TorchvisionResNet50::forward_outputs(x.to(DType::Float64));
  }
};

// check_model_case in float64, then the float32 net's eval output against the same recording
void check_torchvision_case(const std::string& head, const std::vector<std::string>& grad_keys) {
  const std::string dir = "resnet_torchvision/" + head;
  auto f64 = std::make_shared<TorchvisionResNet50F64>(head, 10);
  f64->to(DType::Float64);
  test::check_model_case(dir, *f64, grad_keys);

  auto f32 = models::resnet50_torchvision({.num_classes = 10, .head = head});
  test::det_fill(*f32);
  f32->eval();
  autograd::NoGrad ng;
  CHECK_SCALED(f32->forward(test::fixture(dir + "/input.npy")), test::fixture(dir + "/out_logits.npy"), 1e-4,
               dir + " float32 eval logits");
}

}  // namespace

TEST_CASE("resnet50_torchvision: head fc matches PyTorch in eval, train and gradients (10 classes)") {
  check_torchvision_case("fc", {"fc.bias", "bn1.weight"});
}

TEST_CASE("resnet50_torchvision: KIT mlp head matches PyTorch, dropout off in eval (10 classes)") {
  auto model = models::resnet50_torchvision({.num_classes = 10, .head = "mlp"});
  auto* dropout = dynamic_cast<Dropout*>(model->find("fc.dropout").get());
  REQUIRE(dropout != nullptr);
  CHECK(dropout->p == 0.2);
  // eval outputs are compared with dropout at p = 0.2 (identity in eval); train mode with p = 0
  check_torchvision_case("mlp", {"fc.fc2.bias", "bn1.weight"});
}

TEST_CASE("resnet50_torchvision: state-dict keys, shapes and counts of every head are PyTorch's") {
  std::vector<KeySection> fc = read_key_sections("resnet_torchvision/keys_fc.txt");
  REQUIRE(fc.size() == 1);
  CHECK(fc[0].entries.size() == 320);
  CHECK(header_value(fc[0], "num_parameters") == 25'557'032);  // torchvision's resnet50()
  check_same_state_dict(models::TorchvisionResNet50("fc", 1000), fc[0].entries,
                        header_value(fc[0], "num_parameters"), header_value(fc[0], "state_values"));

  // the KIT heads: the same backbone, then their own "fc." keys (7 classes)
  std::vector<KeyEntry> backbone;
  for (const auto& e : fc[0].entries)
    if (e.key.rfind("fc.", 0) != 0) backbone.push_back(e);
  for (const auto& section : read_key_sections("resnet_torchvision/keys_heads.txt")) {
    const std::string head = section.header.at(0);
    CAPTURE(head);
    std::vector<KeyEntry> want = backbone;
    want.insert(want.end(), section.entries.begin(), section.entries.end());
    check_same_state_dict(models::TorchvisionResNet50(head, 7), want, header_value(section, "num_parameters"),
                          header_value(section, "state_values"));
  }
}

TEST_CASE("resnet50_torchvision: a whole pickled KIT model loads strictly with its head inferred") {
  // torch.save(model) of torchvision's ResNet with fc = Sequential(fc, output LogSoftmax), 7 classes,
  // backbone frozen; every tensor is a stride-0 view of one element (0.5; num_batches_tracked 0)
  std::string format;
  StateDict sd = data::read_weights(test::fixture_path("resnet_torchvision/kit_linear_whole.pt"), &format);
  CHECK(format == "torch-zip");
  const auto& arch = models::find_architecture("resnet50_torchvision");
  models::ArchOptions opts;
  arch.infer_options(sd, opts);
  CHECK(opts.head == "linear");
  CHECK(opts.num_classes == 7);
  auto model = arch.make(opts);
  model->load_state_dict(sd, /*strict=*/true);
  Tensor w = model->state_dict().at("fc.fc.weight");
  CHECK(w.shape() == Shape{7, 2048});
  CHECK(ops::min(w).item() == 0.5);
  CHECK(ops::max(w).item() == 0.5);
}

TEST_CASE("resnet50_torchvision: infer_options reads the head and class count from the keys") {
  const auto& arch = models::find_architecture("resnet50_torchvision");
  auto infer = [&](std::initializer_list<std::pair<const char*, Shape>> keys, models::ArchOptions opts = {}) {
    StateDict sd;
    for (const auto& [k, shape] : keys) sd.set(k, zeros(shape));
    arch.infer_options(sd, opts);
    return opts;
  };
  auto mlp = infer({{"fc.fc1.weight", {1024, 2048}}, {"fc.fc2.weight", {5, 1024}}});
  CHECK(mlp.head == "mlp");
  CHECK(mlp.num_classes == 5);
  auto plain = infer({{"fc.weight", {1000, 2048}}});
  CHECK(plain.head == "fc");
  CHECK(plain.num_classes == 1000);
  auto given = infer({{"fc.fc.weight", {9, 2048}}}, {.num_classes = 4});
  CHECK(given.head == "linear");
  CHECK(given.num_classes == 4);  // the user's choice stays
}

TEST_CASE("resnet50_torchvision: freeze_backbone leaves gradients to the head only") {
  fk::manual_seed(5);
  auto model = models::resnet50_torchvision({.num_classes = 3, .head = "linear"});
  model->freeze_backbone();
  model->train();
  Tensor logp = model->forward(randn({2, 3, 32, 32}));
  CHECK(logp.shape() == Shape{2, 3});
  fk::sum(logp).backward();
  int head_params = 0;
  for (const auto& [name, p] : model->named_parameters()) {
    bool in_head = name.rfind("fc.", 0) == 0;
    CHECK_MESSAGE(p.requires_grad() == in_head, name);
    CHECK_MESSAGE(p.grad().defined() == in_head, name << (in_head ? " has no gradient" : " has a gradient"));
    head_params += in_head;
  }
  CHECK(head_params == 2);  // fc.fc.weight, fc.fc.bias
}

TEST_CASE("resnet50_torchvision: zoo entry, defaults, printing and an unknown head") {
  auto model = models::create("resnet50_torchvision");
  auto* net = dynamic_cast<models::TorchvisionResNet50*>(model.get());
  REQUIRE(net != nullptr);
  CHECK(net->head == "fc");
  CHECK(net->num_classes == 1000);
  std::string printed = model->repr();
  CHECK(printed.find("(maxpool): MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)") !=
        std::string::npos);
  CHECK(printed.find("(avgpool): AdaptiveAvgPool2d(output_size=(1, 1))") != std::string::npos);
  CHECK(models::TorchvisionResNet50("mlp", 7).repr().find("(output): LogSoftmax(dim=1)") != std::string::npos);
  try {
    models::create("resnet50_torchvision", {.head = "svm"});
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("unknown head 'svm'") != std::string::npos);
  }
}

TEST_CASE("resnet50_torchvision: load_model takes the file's head unless one is named, and refuses a named one that does not fit") {
  fk::manual_seed(3);
  auto kit = models::resnet50_torchvision({.num_classes = 6, .head = "linear"});
  std::string path = (std::filesystem::temp_directory_path() / ("facekit_test_kit_linear_" + std::to_string(::getpid()) + ".pth")).string();
  data::write_torch(path, kit->state_dict());
  auto implied = models::load_model("resnet50_torchvision", path);
  auto* net = dynamic_cast<models::TorchvisionResNet50*>(implied.get());
  REQUIRE(net != nullptr);
  CHECK(net->head == "linear");
  CHECK(net->num_classes == 6);
  auto named = models::load_model("resnet50_torchvision", path, "", {.head = "linear"});
  CHECK(dynamic_cast<models::TorchvisionResNet50*>(named.get())->head == "linear");
  try {
    models::load_model("resnet50_torchvision", path, "", {.head = "fc"});
    FAIL("an explicit fc head loaded a KIT linear checkpoint");
  } catch (const Error& e) {
    CHECK_MESSAGE(std::string(e.what()).find("weights do not fit resnet50_torchvision") != std::string::npos, e.what());
  }
  std::filesystem::remove(path);
}
