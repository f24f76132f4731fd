// insightface's IResNet (arcface_torch backbones/iresnet.py; the ms1mv3_arcface_r50_fp16
// backbone.pth release), reference docs/reference/models.md section 4:
//   conv1 3x3 3->64, bn1, prelu
//   layer1..4  IBasicBlock stages of 64/128/256/512 planes, every stage's first block stride 2 with a
//              downsample (Conv 1x1 stride 2 + BN), layer1 included: 112 -> 56 -> 28 -> 14 -> 7
//   bn2, flatten, dropout (p = 0), fc Linear(512*7*7 -> 512), features BatchNorm1d(512)
// IBasicBlock: bn1, conv1 3x3, bn2, prelu, conv2 3x3 stride s, bn3, + identity (no activation after).
// `features.weight` is fixed at 1.0 and excluded from training: a parameter with requires_grad off,
// so it is listed by named_parameters (and the state dict) but never receives a gradient, as in
// PyTorch. The 512-d embedding is not normalised. Zoo names: iresnet18, iresnet34, iresnet50,
// iresnet100. Tests: tests/models/zoo/test_iresnet.cpp.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "layers/fuse.h"
#include "layers/layers.h"
#include "models/zoo/zoo.h"

namespace fk::models {

class IBasicBlock : public Module {
 public:
  // downsample: Sequential(0 Conv2d 1x1 stride s, 1 BatchNorm2d) or null for the identity shortcut
  IBasicBlock(int64_t inplanes, int64_t planes, int64_t stride, std::shared_ptr<Sequential> downsample);
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<BatchNorm2d> bn1;
  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn2;
  std::shared_ptr<PReLU> prelu;
  std::shared_ptr<Conv2d> conv2;
  std::shared_ptr<BatchNorm2d> bn3;
  std::shared_ptr<Sequential> downsample;  // null: none
};

class IResNet : public Model {
 public:
  // layers: IBasicBlocks per stage ([2,2,2,2] r18, [3,4,6,3] r34, [3,4,14,3] r50, [3,13,30,3] r100);
  // dropout before fc; num_features is the embedding size.
  explicit IResNet(const std::array<int64_t, 4>& layers, double dropout = 0.0, int64_t num_features = 512);
  ~IResNet() override;
  // the embedding (N, num_features); in eval mode without gradients through the CPU inference engine
  // (layers/fuse.h: BatchNorms folded, PReLU and the residual adds fused into the convolutions)
  Tensor forward(const Tensor& x) override;
  NamedOutputs forward_outputs(const Tensor& x) override;  // {"embedding"}

  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn1;
  std::shared_ptr<PReLU> prelu;
  std::shared_ptr<Sequential> layer1, layer2, layer3, layer4;
  std::shared_ptr<BatchNorm2d> bn2;
  std::shared_ptr<Dropout> dropout;
  std::shared_ptr<Linear> fc;
  std::shared_ptr<BatchNorm1d> features;

 private:
  // _make_layer: a stride-2 block with a downsample, then blocks - 1 identity-shortcut blocks
  std::shared_ptr<Sequential> make_layer(int64_t planes, int64_t blocks, int64_t stride);
  int64_t inplanes_ = 64;
  struct Engine;  // the prepared convolutions (iresnet.cpp)
  std::unique_ptr<Engine> build_engine() const;
  fuse::InferencePlan<Engine> plan_;
};

}  // namespace fk::models
