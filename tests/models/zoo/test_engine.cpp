// The CPU inference engine (layers/fuse.h, tensor/cpu/conv_blocked.h) on the whole models it runs:
// for ir_50, ir_se_50, iresnet50, resnet50_vggface2, inception_resnet_v1, mobilefacenet and MTCNN's
// three nets in float32
// with the deterministic weights of model_case.h, the engine's eval output against the PyTorch
// recording (the model tests' tolerance, 1e-4 of the output scale) and against the module path
// (the engine switched off), ir_50 also with the Winograd kernels off; that the engine really ran (fuse::engine_forwards); that it is rebuilt
// after load_state_dict; and that training mode, gradients, float64 and forward hooks take the
// module path.
#include <doctest/doctest.h>

#include <functional>

#include "layers/fuse.h"
#include "models/zoo/inception_resnet_v1.h"
#include "models/zoo/iresnet.h"
#include "models/zoo/irse.h"
#include "models/zoo/mobilefacenet.h"
#include "models/mtcnn/nets.h"
#include "models/model_case.h"
#include "models/zoo/vggface2.h"

using namespace fk;

namespace {

// The engine on for the scope's end whatever happens inside (a failing CHECK must not leave it off).
struct EngineOn {
  ~EngineOn() { fuse::set_engine_enabled(true); }
};

void check_engine(const std::string& dir, models::Model& model) {
  EngineOn restore;
  fuse::set_engine_enabled(true);
  test::det_fill(model);
  model.eval();
  Tensor x = test::fixture(dir + "/input.npy").to(DType::Float32);
  autograd::NoGrad ng;
  const uint64_t before = fuse::engine_forwards();
  models::NamedOutputs fast = model.forward_outputs(x);
  CHECK_MESSAGE(fuse::engine_forwards() == before + 1, dir << ": the engine did not run");
  fuse::set_engine_enabled(false);
  models::NamedOutputs slow = model.forward_outputs(x);
  CHECK_MESSAGE(fuse::engine_forwards() == before + 1, dir << ": the engine ran while switched off");
  REQUIRE(fast.size() == slow.size());
  for (size_t i = 0; i < fast.size(); ++i) {
    const auto& [name, y] = fast[i];
    CHECK_SCALED(y, test::fixture(dir + "/out_" + name + ".npy").to(DType::Float32), 1e-4,
                 dir + " engine output '" + name + "' vs PyTorch");
    CHECK_SCALED(y, slow[i].second, 1e-4, dir + " engine output '" + name + "' vs the module path");
  }
}

}  // namespace

TEST_CASE("engine: ir_50 and ir_se_50 equal PyTorch and the module path (float32)") {
  for (const char* mode : {"ir", "ir_se"}) {
    SUBCASE(mode) {
      models::IRBackbone model(112, 50, mode);
      check_engine(std::string("irse/") + (std::string(mode) == "ir" ? "ir_50" : "ir_se_50"), model);
    }
  }
}

TEST_CASE("engine: ir_50 with the direct 3x3 kernel only (Winograd off) equals PyTorch and the module path") {
  struct WinogradOn {
    ~WinogradOn() { cpu::set_winograd_enabled(true); }
  } restore;
  cpu::set_winograd_enabled(false);
  models::IRBackbone model(112, 50, "ir");
  check_engine("irse/ir_50", model);
}

TEST_CASE("engine: a FusedConv prepared with winograd = false keeps the direct kernel, with the same output") {
  autograd::NoGrad ng;
  manual_seed(11);
  Conv2d conv(16, 32, 3, 1, 1);
  PReLU prelu(32);
  fuse::ConvParts parts{&conv, nullptr, nullptr, 1.0, fuse::Activation::PReLU, &prelu};
  fuse::FusedConv wino(parts);
  parts.winograd = false;
  fuse::FusedConv direct(parts);
  const BlockedTensor x = to_blocked(randn({2, 16, 9, 10}));
  const Tensor a = to_nchw(wino(x)), b = to_nchw(direct(x));
  CHECK(wino.uses_winograd());  // 16 channels, a 9x10 map: Winograd by default
  CHECK_FALSE(direct.uses_winograd());
  CHECK_SCALED(a, b, 1e-5, "Winograd vs direct FusedConv");
  CHECK_SCALED(b, prelu(conv(to_nchw(x))), 1e-5, "direct FusedConv vs the modules");
}

TEST_CASE("engine: iresnet50 equals PyTorch and the module path (float32)") {
  models::IResNet model({3, 4, 14, 3});
  check_engine("iresnet/iresnet50", model);
}

TEST_CASE("engine: resnet50_vggface2 equals PyTorch and the module path (float32)") {
  models::VGGFace2ResNet model(false, 10);
  check_engine("vggface2/resnet50", model);
}

TEST_CASE("engine: inception_resnet_v1 equals PyTorch and the module path (float32)") {
  models::InceptionResnetV1 model(10);
  check_engine("inception_resnet_v1/logits", model);
}

TEST_CASE("engine: mobilefacenet equals PyTorch and the module path (float32)") {
  models::MobileFaceNet model;
  check_engine("mobilefacenet/det", model);
}

TEST_CASE("engine: MTCNN's PNet (odd sizes, ceil-mode pools), RNet and ONet equal PyTorch and the module path") {
  SUBCASE("pnet") {
    models::PNet model;
    check_engine("mtcnn_nets/pnet_det", model);
  }
  SUBCASE("rnet") {
    models::RNet model;
    check_engine("mtcnn_nets/rnet_det", model);
  }
  SUBCASE("onet") {
    models::ONet model;
    check_engine("mtcnn_nets/onet_det", model);
  }
}

TEST_CASE("engine: rebuilt after load_state_dict, not used in training, with gradients, in float64 or with hooks") {
  EngineOn restore;
  manual_seed(5);
  auto model = std::make_shared<models::MobileFaceNet>();
  model->eval();
  Tensor x = randn({2, 3, 112, 96});
  auto engine_ran = [&](const std::function<Tensor()>& f) {
    const uint64_t before = fuse::engine_forwards();
    Tensor y = f();
    return fuse::engine_forwards() == before + 1;
  };
  Tensor first;
  {
    autograd::NoGrad ng;
    CHECK(engine_ran([&] { return first = model->forward(x); }));
  }
  // new weights through load_state_dict: the engine's folded copy must follow
  StateDict sd = model->state_dict();
  StateDict changed;
  for (const auto& [key, t] : sd) changed.set(key, t.dtype() == DType::Float32 ? t * 0.5 : t.clone());
  model->load_state_dict(changed);
  {
    autograd::NoGrad ng;
    Tensor fast, slow;
    CHECK(engine_ran([&] { return fast = model->forward(x); }));
    fuse::set_engine_enabled(false);
    slow = model->forward(x);
    fuse::set_engine_enabled(true);
    CHECK_SCALED(fast, slow, 1e-4, "after load_state_dict");
    CHECK_FALSE(test::compare_scaled(fast, first, 1e-4).empty());
  }
  // gradients wanted: the module path (its graph is needed)
  CHECK_FALSE(engine_ran([&] { return model->forward(x); }));
  {
    autograd::NoGrad ng;
    model->train();
    CHECK_FALSE(engine_ran([&] { return model->forward(x); }));
    model->eval();
    int calls = 0;
    int h = model->conv2->register_forward_hook([&](Module&, const Tensor&, const Tensor&) {
      ++calls;
      return Tensor();
    });
    CHECK_FALSE(engine_ran([&] { return model->forward(x); }));
    CHECK(calls == 1);  // the hook saw its layer run
    model->conv2->remove_forward_hook(h);
    CHECK(engine_ran([&] { return model->forward(x); }));
    CHECK_FALSE(fuse::engine_applies(*model, x.to(DType::Float64)));  // float64 input: the module path
    CHECK(fuse::engine_applies(*model, x));
  }
}
