// IR / IR-SE backbones (models/zoo/irse.h) against PyTorch fixtures from tests/fixtures/make_ir.py:
// state-dict keys, shapes and parameter counts of ir_50, ir_se_50, ir_101; printed units; eval and
// train outputs and gradients of the full ir_50 and ir_se_50 at batch 2 (deterministic weights,
// model_case.h; computed in float64, see InFloat64), float32 eval output of ir_101; strict loading of
// a torch.save'd IR_50 state dict.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/formats/weights.h"
#include "models/zoo/irse.h"
#include "models/model_case.h"

using namespace fk;

namespace {

}  // namespace

// Each full model is built once per test case (tens of millions of weights to initialise), so a
// case checks everything that needs only the freshly built model.
TEST_CASE("irse: ir_50 and ir_se_50 have PyTorch's state-dict keys, shapes, parameter count and units") {
  for (const char* arch : {"ir_50", "ir_se_50"}) {
    SUBCASE(arch) {
      const auto& info = models::find_architecture(arch);
      CHECK(info.channels == 3);
      CHECK(info.height == 112);
      CHECK(info.width == 112);
      CHECK(info.preprocessing == "RGB, (x - 127.5) / 128");
      auto model = std::dynamic_pointer_cast<models::IRBackbone>(info.make({}));
      REQUIRE(model != nullptr);
      test::check_keys_like_pytorch(std::string("irse/") + arch + "_keys.txt", *model);
      std::string printed = (*model->body)[0]->repr() + "\n" + (*model->body)[3]->repr() + "\n";
      CHECK(printed == test::read_text(std::string("irse/") + arch + "_repr.txt"));
      if (std::string(arch) == "ir_50") {
        // models.md: 349 keys, 43,601,344 values (parameters and running statistics)
        StateDict sd = model->state_dict();
        int64_t values = 0;
        for (const auto& [key, t] : sd)
          if (t.dtype() == DType::Float32) values += t.numel();
        CHECK(sd.size() == 349);
        CHECK(values == 43601344);
      }
    }
  }
}

TEST_CASE("irse: ir_101 has PyTorch's state-dict layout and matches it in eval mode (float32)") {
#ifdef FK_SANITIZED
  FK_SKIP("under the sanitizers: ir_50's tests run the same layers (ir_101 costs ~12 s there)");
#endif
  auto model = models::create("ir_101");
  test::check_keys_like_pytorch("irse/ir_101_keys.txt", *model);
  test::check_model_case("irse/ir_101", *model);
}

TEST_CASE("irse: ir_50 matches PyTorch in eval and train mode, with gradients (float64)") {
  auto model = std::make_shared<test::InFloat64<models::IRBackbone>>(112, 50, "ir");
  model->to(DType::Float64);
  test::check_model_case("irse/ir_50", *model,
                         {"input_layer.2.weight", "output_layer.4.bias", "body.3.shortcut_layer.1.weight"});
}

TEST_CASE("irse: ir_se_50 matches PyTorch in eval and train mode, with gradients (float64)") {
  auto model = std::make_shared<test::InFloat64<models::IRBackbone>>(112, 50, "ir_se");
  model->to(DType::Float64);
  test::check_model_case("irse/ir_se_50", *model,
                         {"input_layer.2.weight", "output_layer.4.bias", "body.3.shortcut_layer.1.weight",
                          "body.0.res_layer.5.fc1.weight"});
}

TEST_CASE("irse: a torch.save'd IR_50 state dict loads strictly, each value under its key") {
  // every floating entry of the file is a stride-0 view holding (i + 1) / 1024 for the i-th key, every
  // num_batches_tracked holds i: the whole state dict in a few tens of KB
  const std::string path = test::fixture_path("irse/ir_50_state_dict.pt");
  CHECK(std::filesystem::file_size(path) < 100 * 1024);
  auto model = models::create("ir_50");
  model->load_state_dict(models::select_weights(data::read_weights(path)), /*strict=*/true);
  StateDict loaded = model->state_dict();
  const auto& items = loaded.items();
  REQUIRE(items.size() == 349);
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& [key, t] = items[i];
    auto v = t.to_vector<double>();
    double want = t.dtype() == DType::Int64 ? double(i) : double(i + 1) / 1024;
    bool all = std::all_of(v.begin(), v.end(), [&](double x) { return x == want; });
    CHECK_MESSAGE(all, key << " did not receive the file's value " << want);
  }
}

TEST_CASE("irse: the constructor names a bad input size, depth or mode") {
  CHECK_THROWS_WITH_AS(models::IRBackbone(128, 50, "ir"), doctest::Contains("input_size should be 112 or 224"),
                       fk::Error);
  CHECK_THROWS_WITH_AS(models::IRBackbone(112, 34, "ir"), doctest::Contains("num_layers should be 50, 100 or 152"),
                       fk::Error);
  CHECK_THROWS_WITH_AS(models::IRBackbone(112, 50, "se"), doctest::Contains("mode should be"), fk::Error);
}
