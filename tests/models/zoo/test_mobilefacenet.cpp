// MobileFaceNet (models/zoo/mobilefacenet.h) against Xiaoccer/MobileFaceNet_Pytorch's definition, with
// the fixtures of tests/fixtures/make_inception_mobilefacenet.py (tests/fixtures/mobilefacenet/):
// the state-dict key list with shapes and the parameter count, a model_case with deterministic
// weights, and the real CASIA-WebFace checkpoint 068.ckpt (read from ../shared/data, skipped when
// absent) on three LFW faces: PyTorch's embeddings, and the same-person pair closer than the others.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/formats/weights.h"
#include "models/zoo/mobilefacenet.h"
#include "models/model_case.h"

using namespace fk;

namespace {

const char* kDir = "mobilefacenet";

double cosine(const Tensor& e, int64_t i, int64_t j) {
  auto a = select(e, 0, i).to_vector<double>(), b = select(e, 0, j).to_vector<double>();
  double ab = 0, aa = 0, bb = 0;
  for (size_t k = 0; k < a.size(); ++k) ab += a[k] * b[k], aa += a[k] * a[k], bb += b[k] * b[k];
  return ab / std::sqrt(aa * bb);
}

}  // namespace

TEST_CASE("mobilefacenet: state-dict keys, shapes and parameter count equal the source's") {
  auto [num_parameters, want] = test::read_state_dict_list(std::string(kDir) + "/state_dict.txt");
  models::MobileFaceNet model;
  auto items = model.state_dict().items();
  REQUIRE(want.size() == 333);  // the checkpoint's net_state_dict
  REQUIRE_MESSAGE(items.size() == want.size(), items.size() << " state-dict entries, PyTorch has " << want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    std::string got = test::entry_line(items[i].first, items[i].second.shape());
    CHECK_MESSAGE(got == want[i], "entry " << i << ": '" << got << "', PyTorch's '" << want[i] << "'");
  }
  CHECK(num_parameters == 999552);  // the checkpoint README
  CHECK(model.num_parameters() == 999552);
}

TEST_CASE("mobilefacenet: matches PyTorch with deterministic weights (eval, train, gradients)") {
  auto model = std::make_shared<models::MobileFaceNet>();
  test::check_model_case(std::string(kDir) + "/det", *model,
                         {"linear1.bn.bias", "conv1.prelu.weight", "blocks.0.conv.5.weight"});
}

TEST_CASE("mobilefacenet: the zoo entry expects 112x96 RGB and outputs a raw 128-d embedding") {
  const models::ArchInfo& arch = models::find_architecture("mobilefacenet");
  CHECK(arch.channels == 3);
  CHECK(arch.height == 112);
  CHECK(arch.width == 96);
  auto model = models::create("mobilefacenet");
  model->eval();
  autograd::NoGrad ng;
  models::NamedOutputs outs = model->forward_outputs(zeros({1, 3, 112, 96}));
  REQUIRE(outs.size() == 1);
  CHECK(outs[0].first == "embedding");
  CHECK(outs[0].second.shape() == Shape{1, 128});
}

TEST_CASE("mobilefacenet: the real 068.ckpt loads strictly and matches PyTorch on LFW faces") {
  const std::string ckpt = std::string(FK_SHARED_DATA_DIR) + "/weights/mobilefacenet_casia/068.ckpt";
  if (!std::filesystem::exists(ckpt)) {
    FK_SKIP(ckpt << " not found (the shared data folder is absent)");
  }
  std::string format;
  StateDict file = data::read_weights(ckpt, &format);
  CHECK(format == "torch-legacy");
  StateDict sd = models::select_weights(file, "net_state_dict");
  CHECK(sd.size() == 333);
  auto model = models::create("mobilefacenet");
  model->load_state_dict(sd, /*strict=*/true);
  model->eval();

  // faces 0, 1: Barbra Streisand; 2: Adel Al-Jubeir (LFW crops, see the fixture script), also the
  // input of the deterministic-weights case
  Tensor x = test::fixture(std::string(kDir) + "/det/input.npy");
  REQUIRE(x.shape() == Shape{3, 3, 112, 96});
  autograd::NoGrad ng;
  Tensor e = model->forward(x);
  CHECK_SCALED(e, test::fixture(std::string(kDir) + "/embeddings_068.npy"), 1e-4, "068.ckpt embeddings");

  // PyTorch: same person 0.547, different people 0.022 and 0.024
  double same = cosine(e, 0, 1);
  for (int64_t i : {0, 1}) {
    double different = cosine(e, i, 2);
    CHECK_MESSAGE(different < same, "cos(" << i << ", 2) = " << different << " vs same-person " << same);
  }
}
