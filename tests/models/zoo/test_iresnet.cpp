// insightface IResNet (models/zoo/iresnet.h) against PyTorch fixtures from tests/fixtures/make_ir.py:
// state-dict keys, shapes and parameter counts of iresnet18/34/50/100; printed blocks; eval and train
// outputs and gradients of the full iresnet50 at batch 2 (deterministic weights, model_case.h;
// computed in float64, see InFloat64), with the frozen features.weight getting no gradient; float32
// eval outputs of iresnet18/34/100; strict loading of a DataParallel-saved ("module." keys)
// checkpoint through models::select_weights.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/formats/weights.h"
#include "models/zoo/iresnet.h"
#include "models/model_case.h"

using namespace fk;

namespace {

// The checks every architecture shares: registry entry, PyTorch's state-dict layout, and the frozen
// features.weight (a parameter without requires_grad, fixed at 1).
void check_layout(const std::string& arch, const models::IResNet& model) {
  const auto& info = models::find_architecture(arch);
  CHECK(info.channels == 3);
  CHECK(info.height == 112);
  CHECK(info.width == 112);
  CHECK(info.preprocessing == "RGB, (x / 255 - 0.5) / 0.5");
  test::check_keys_like_pytorch("iresnet/" + arch + "_keys.txt", model);
  const Tensor& w = model.features->weight;
  CHECK_FALSE(w.requires_grad());
  auto v = w.to_vector<double>();
  CHECK(std::all_of(v.begin(), v.end(), [](double x) { return x == 1.0; }));
  CHECK(model.features->bias.requires_grad());
  CHECK(model.dropout->p == 0.0);
}

}  // namespace

// Each full model is built once per test case (tens of millions of weights to initialise), so a
// case checks everything that needs only the freshly built model.
TEST_CASE("iresnet: iresnet50 has PyTorch's state-dict layout, printed blocks and size") {
  auto model = std::dynamic_pointer_cast<models::IResNet>(models::create("iresnet50"));
  REQUIRE(model != nullptr);
  check_layout("iresnet50", *model);
  std::string printed = (*model->layer1)[0]->repr() + "\n" + (*model->layer1)[1]->repr() + "\n";
  CHECK(printed == test::read_text("iresnet/iresnet50_repr.txt"));
  // 43,628,992 values (parameters and running statistics) as models.md says; it also says 476 keys,
  // but the release's iresnet50 has 475 (PyTorch 1.13, make_ir.py): 79 BatchNorms * 5 + 80 others
  StateDict sd = model->state_dict();
  int64_t values = 0;
  for (const auto& [key, t] : sd)
    if (t.dtype() == DType::Float32) values += t.numel();
  CHECK(sd.size() == 475);
  CHECK(values == 43628992);
}

TEST_CASE("iresnet: iresnet18, 34 and 100 have PyTorch's state-dict layout and match it in eval mode (float32)") {
#ifdef FK_SANITIZED
  // under the sanitizers one depth runs the same code as the three (65M parameters cost ~20 s there)
  for (const char* arch : {"iresnet18"}) {
#else
  for (const char* arch : {"iresnet18", "iresnet34", "iresnet100"}) {
#endif
    SUBCASE(arch) {
      auto model = std::dynamic_pointer_cast<models::IResNet>(models::create(arch));
      REQUIRE(model != nullptr);
      check_layout(arch, *model);
      test::check_model_case(std::string("iresnet/") + arch, *model);
    }
  }
}

TEST_CASE("iresnet: iresnet50 matches PyTorch in eval and train mode, with gradients (float64)") {
  auto model = std::make_shared<test::InFloat64<models::IResNet>>(std::array<int64_t, 4>{3, 4, 14, 3});
  model->to(DType::Float64);
  test::check_model_case("iresnet/iresnet50", *model, {"features.bias", "prelu.weight", "layer1.0.prelu.weight"});
  // as in PyTorch, backward never reaches the frozen weight (check_model_case compares its norm, 0)
  CHECK_FALSE(model->parameter("features.weight").grad().defined());
}

TEST_CASE("iresnet: a DataParallel checkpoint loads strictly once select_weights strips 'module.'") {
  // nn.DataParallel(iresnet50).state_dict(), every floating entry a stride-0 view holding
  // (i + 1) / 1024 for the i-th key, every num_batches_tracked holding i
  const std::string path = test::fixture_path("iresnet/iresnet50_dataparallel.pt");
  CHECK(std::filesystem::file_size(path) < 100 * 1024);
  StateDict file = data::read_weights(path);
  REQUIRE(file.size() == 475);
  CHECK(file.items()[0].first == "module.conv1.weight");

  auto model = models::create("iresnet50");
  CHECK_THROWS_WITH_AS(model->load_state_dict(file, /*strict=*/true), doctest::Contains("module.conv1.weight"),
                       fk::Error);
  model->load_state_dict(models::select_weights(file), /*strict=*/true);
  StateDict loaded = model->state_dict();
  const auto& items = loaded.items();
  REQUIRE(items.size() == 475);
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& [key, t] = items[i];
    auto v = t.to_vector<double>();
    double want = t.dtype() == DType::Int64 ? double(i) : double(i + 1) / 1024;
    bool all = std::all_of(v.begin(), v.end(), [&](double x) { return x == want; });
    CHECK_MESSAGE(all, key << " did not receive the file's value " << want);
  }
}
