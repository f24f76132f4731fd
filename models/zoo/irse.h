// IR and IR-SE backbones (face.evoLVe's model_irse.py as used by egcode/facerec, the release of
// `IR_50_MODEL_arcface_ms1celeb_epoch90_lfw9962.pth`): an improved-residual ResNet for 112x112 faces
// (reference docs/reference/models.md section 3). Written as the release draws it:
//   input_layer  Conv 3x3 3->64, BN, PReLU
//   body         bottleneck_IR units: BN, Conv 3x3, PReLU, Conv 3x3 (stride s), BN [, SEModule]
//                plus a shortcut (MaxPool2d(1, s) subsampling, or Conv 1x1 stride s + BN); no
//                activation after the add. Stages of 64/128/256/512 channels, first unit stride 2:
//                112 -> 56 -> 28 -> 14 -> 7
//   output_layer BN2d(512), Dropout(0.5), Flatten, Linear(512*7*7 -> 512), BN1d(512)
// The 512-d embedding is not normalised. Zoo names: ir_50, ir_se_50, ir_101, and ir_small (not a
// release: a small configuration for quick training).
// Tests: tests/models/zoo/test_irse.cpp.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "layers/fuse.h"
#include "layers/layers.h"
#include "models/zoo/zoo.h"

namespace fk::models {

// bottleneck_IR (se = false) and bottleneck_IR_SE (se = true): y = res_layer(x) + shortcut_layer(x).
class BottleneckIR : public Module {
 public:
  BottleneckIR(int64_t in_channel, int64_t depth, int64_t stride, bool se);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return se ? "bottleneck_IR_SE" : "bottleneck_IR"; }

  bool se;
  // MaxPool2d(1, stride) when in_channel == depth, else Sequential(0 Conv2d 1x1, 1 BatchNorm2d)
  std::shared_ptr<Module> shortcut_layer;
  // 0 BN(in), 1 Conv 3x3, 2 PReLU(depth), 3 Conv 3x3 stride s, 4 BN(depth) [, 5 SEModule(depth, 16)]
  std::shared_ptr<Sequential> res_layer;
};

// The shape of an IR backbone: units per stage, channels per stage (the stem has the first stage's),
// embedding size. The releases use depths 64/128/256/512 and a 512-d embedding.
struct IRConfig {
  int64_t input_size = 112;
  std::array<int64_t, 4> units = {3, 4, 14, 3};
  std::array<int64_t, 4> depths = {64, 128, 256, 512};
  int64_t embedding = 512;
  std::string mode = "ir";
  // The release's IR-50/100/152.
  static IRConfig release(int64_t input_size, int64_t num_layers, const std::string& mode);
};

// The release's `Backbone(input_size, num_layers, mode)`, or any IRConfig (zoo entry "ir_small":
// a small IR-SE net facekit trains from scratch in minutes on a CPU, for tests and tutorials).
class IRBackbone : public Model {
 public:
  explicit IRBackbone(const IRConfig& config);
  // input_size 112 or 224 (the Linear then takes 512*7*7 or 512*14*14 inputs); num_layers 50, 100
  // or 152 (units per stage [3,4,14,3], [3,13,30,3], [3,8,36,3]); mode "ir" or "ir_se".
  IRBackbone(int64_t input_size, int64_t num_layers, const std::string& mode);
  ~IRBackbone() override;
  // the embedding (N, 512); in eval mode without gradients through the CPU inference engine
  // (layers/fuse.h: BatchNorms folded, PReLU, SE scaling and the residual adds fused)
  Tensor forward(const Tensor& x) override;
  NamedOutputs forward_outputs(const Tensor& x) override;  // {"embedding"}
  std::string type_name() const override { return "Backbone"; }

  std::shared_ptr<Sequential> input_layer;
  // registered before body, as in the release, so its keys come second in the state dict
  std::shared_ptr<Sequential> output_layer;
  std::shared_ptr<Sequential> body;

 private:
  struct Engine;  // the prepared convolutions (irse.cpp)
  std::unique_ptr<Engine> build_engine();
  fuse::InferencePlan<Engine> plan_;
};

}  // namespace fk::models
