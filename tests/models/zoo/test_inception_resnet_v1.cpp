// Inception-ResNet-V1 (models/zoo/inception_resnet_v1.h) against facenet-pytorch's definition, with the
// fixtures of tests/fixtures/make_inception_mobilefacenet.py (tests/fixtures/inception_resnet_v1/):
// the full state-dict key list with shapes and the parameter count, a strict load of a PyTorch-saved
// 8631-class state dict (stride-0 tensors, so the file is small), and model_case outputs and
// gradients with deterministic weights, with and without the logits layer.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "data/formats/weights.h"
#include "models/zoo/inception_resnet_v1.h"
#include "models/model_case.h"

using namespace fk;

namespace {

const char* kDir = "inception_resnet_v1";

}  // namespace

TEST_CASE("inception_resnet_v1: state-dict keys, shapes and parameter count equal facenet-pytorch's") {
  auto [num_parameters, want] = test::read_state_dict_list(std::string(kDir) + "/state_dict.txt");
  REQUIRE(want.size() == 716);  // reference models.md §2

  SUBCASE("with the 8631-class logits of the VGGFace2 release") {
    models::InceptionResnetV1 model(8631);
    test::check_entries(model, want, want.size());
    CHECK(model.num_parameters() == num_parameters);
  }
  SUBCASE("without logits: the same list minus logits.weight and logits.bias") {
    REQUIRE(want[714] == "logits.weight [8631, 512]");
    REQUIRE(want[715] == "logits.bias [8631]");
    models::InceptionResnetV1 model;
    test::check_entries(model, want, 714);
    CHECK(model.num_parameters() == num_parameters - 8631 * 512 - 8631);
  }
}

TEST_CASE("inception_resnet_v1: the zoo entry infers the classifier from a PyTorch file and loads it strictly") {
  std::string format;
  StateDict sd = data::read_weights(test::fixture_path(std::string(kDir) + "/state_dict_8631_expanded.pt"), &format);
  CHECK(format == "torch-zip");
  REQUIRE(sd.size() == 716);

  const models::ArchInfo& arch = models::find_architecture("inception_resnet_v1");
  CHECK(arch.height == 160);
  CHECK(arch.width == 160);
  models::ArchOptions opts;
  REQUIRE(arch.infer_options);
  arch.infer_options(sd, opts);
  CHECK(opts.num_classes == 8631);
  auto model = arch.make(opts);
  model->load_state_dict(sd, /*strict=*/true);

  // entry i holds (i % 100) / 16 everywhere (num_batches_tracked: i % 100): every value landed at its key
  size_t i = 0;
  for (const auto& [key, t] : model->state_dict()) {
    const bool is_float = t.dtype() == DType::Float32;
    const float want = is_float ? float(i % 100) / 16.0f : float(i % 100);
    auto v = t.to_vector<float>();
    bool all = std::all_of(v.begin(), v.end(), [&](float x) { return x == want; });
    CHECK_MESSAGE(all, key << " does not hold " << want);
    ++i;
  }

  // a user-given class count wins over the file's; the mismatch is then reported by the strict load
  models::ArchOptions given;
  given.num_classes = 10;
  arch.infer_options(sd, given);
  CHECK(given.num_classes == 10);
  CHECK_THROWS_WITH(arch.make(given)->load_state_dict(sd, true), doctest::Contains("logits.weight"));
}

TEST_CASE("inception_resnet_v1: with logits matches facenet-pytorch (eval, train, gradients)") {
  const std::string dir = std::string(kDir) + "/logits";
  auto model = std::make_shared<models::InceptionResnetV1>(10);
  test::check_model_case(dir, *model, {"last_bn.weight", "logits.bias", "repeat_1.0.conv2d.bias"});

  // forward() gives the embedding even when the logits layer exists (facenet-pytorch's classify=False);
  // det_fill again: the training-mode pass above moved the BatchNorm running statistics
  test::det_fill(*model);
  model->eval();
  autograd::NoGrad ng;
  CHECK_SCALED(model->forward(test::fixture(dir + "/input.npy")), test::fixture(dir + "/out_embedding.npy"), 1e-4,
               "forward() of the model with logits");
}

TEST_CASE("inception_resnet_v1: without logits returns only the unit-norm embedding") {
  // The logits layer is a leaf head, so the embedding of the recorded 10-class case is also what the
  // model without logits must give, in eval and in train mode.
  const std::string dir = std::string(kDir) + "/logits";
  auto model = std::make_shared<models::InceptionResnetV1>();
  test::det_fill(*model);
  Tensor x = test::fixture(dir + "/input.npy");

  model->eval();
  {
    autograd::NoGrad ng;
    models::NamedOutputs outs = model->forward_outputs(x);
    REQUIRE(outs.size() == 1);
    CHECK(outs[0].first == "embedding");
    CHECK_SCALED(outs[0].second, test::fixture(dir + "/out_embedding.npy"), 1e-4, "eval embedding");
    CHECK_SCALED(model->forward(x), outs[0].second, 1e-6, "forward() is the embedding");
    Tensor norms = sqrt(sum(mul(outs[0].second, outs[0].second), {1}));
    CHECK_CLOSE(norms, ones({x.size(0)}), 1e-5, 0, "embedding L2 norms");
  }

  for (auto& [name, m] : model->named_modules())
    if (auto* d = dynamic_cast<Dropout*>(m.get())) d->p = 0.0;
  model->train();
  Tensor y = model->forward(x);
  CHECK_SCALED(y, test::fixture(dir + "/train_out_embedding.npy"), 1e-4, "train embedding");
  sum(mul(y, fk::tensor(test::det_uniform("loss.embedding", y.numel()), y.shape()))).backward();
  for (const auto& [name, p] : model->named_parameters())
    CHECK_MESSAGE(p.grad().defined(), "no gradient reached " << name);
}
