// The zoo's registry, weights selection, and the deterministic weights the model fixtures use.
#include <doctest/doctest.h>

#include "models/model_case.h"
#include "models/zoo/zoo.h"

using namespace fk;

TEST_CASE("det_value matches fixture_io.det_value for every kind of key") {
  for (const char* key : {"conv1.weight", "layer1.0.bn1.running_var", "layer1.0.bn1.running_mean",
                          "layer1.0.bn1.weight", "fc.bias", "fc.weight", "a"}) {
    Tensor want = test::fixture(std::string("det_weights/") + key + ".npy");
    Tensor got = fk::tensor(test::det_value(key, want.shape()), want.shape(), DType::Float64);
    CHECK_CLOSE(got, want, 0.0, 0.0, key);
  }
}

TEST_CASE("zoo: unknown architecture names the known ones") {
  try {
    models::find_architecture("resnet9000");
    FAIL("no throw");
  } catch (const std::exception& e) {
    std::string msg = e.what();
    CHECK(msg.find("unknown architecture 'resnet9000'") != std::string::npos);
    CHECK(msg.find("expected one of") != std::string::npos);
  }
}

TEST_CASE("zoo: names are unique and every entry can describe itself") {
  std::vector<std::string> seen;
  for (const auto& a : models::architectures()) {
    CHECK_MESSAGE(std::find(seen.begin(), seen.end(), a.name) == seen.end(), "duplicate " << a.name);
    seen.push_back(a.name);
    CHECK(!a.description.empty());
    CHECK(a.make != nullptr);
  }
}

TEST_CASE("select_weights: nested key and DataParallel prefix") {
  StateDict file;
  file.set("net_state_dict.module.conv.weight", zeros({2}));
  file.set("net_state_dict.module.conv.bias", zeros({1}));
  file.set("epoch", zeros({}));
  StateDict sd = models::select_weights(file, "net_state_dict");
  REQUIRE(sd.size() == 2);
  CHECK(sd.items()[0].first == "conv.weight");
  CHECK(sd.items()[1].first == "conv.bias");

  StateDict plain;
  plain.set("module.fc.weight", zeros({2}));
  CHECK(models::select_weights(plain).items()[0].first == "fc.weight");

  try {
    models::select_weights(file, "model");
    FAIL("no throw");
  } catch (const std::exception& e) {
    std::string msg = e.what();
    CHECK(msg.find("no weights under key 'model'") != std::string::npos);
    CHECK(msg.find("net_state_dict") != std::string::npos);
    CHECK(msg.find("epoch") != std::string::npos);
  }
}
