// The VGGFace2 ResNet-50 and SE-ResNet-50 (cydonia999/VGGFace2-pytorch models/resnet.py, senet.py; the
// Oxford VGG Caffe models converted to PyTorch): reference models.md section 1. A Caffe-style ResNet:
// the stride of each bottleneck sits on its first 1x1 conv, the stem max-pool has no padding and rounds
// up (ceil_mode), and the head is a fixed 7x7 average pool, so the input must be 224x224 (any square
// side from 195 to 225 gives the 7x7 map). SENet-50 adds to every bottleneck a squeeze-and-excitation
// gate made of two 1x1 convs WITH bias (`conv4`, `conv5`) over the global average of the block.
// Zoo names: resnet50_vggface2, senet50_vggface2. Input: BGR, minus the channel means
// (91.4953, 103.8827, 131.0912), no scaling. Tests: tests/models/zoo/test_vggface2.cpp.
#pragma once

#include <memory>

#include "layers/activation.h"
#include "layers/batchnorm.h"
#include "layers/conv.h"
#include "layers/fuse.h"
#include "layers/linear.h"
#include "layers/pooling.h"
#include "layers/sequential.h"
#include "models/zoo/zoo.h"

namespace fk::models {

// resnet.py / senet.py `Bottleneck` (expansion 4):
//   conv1 1x1 (stride s) -> bn1 -> relu -> conv2 3x3 -> bn2 -> relu -> conv3 1x1 -> bn3
//   [SE: out = sigmoid(conv5(relu(conv4(avg_pool(out))))) * out]  -> + shortcut -> relu
// shortcut = downsample(x) (1x1 conv with stride s, then BN) on a stage's first block, x otherwise.
class CaffeBottleneck : public Module {
 public:
  static constexpr int64_t expansion = 4;
  // downsample may be null (identity shortcut); squeeze_excite adds conv4/conv5 (reduction 16)
  CaffeBottleneck(int64_t inplanes, int64_t planes, int64_t stride, std::shared_ptr<Sequential> downsample,
                  bool squeeze_excite);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Bottleneck"; }

  std::shared_ptr<Conv2d> conv1, conv2, conv3;
  std::shared_ptr<BatchNorm2d> bn1, bn2, bn3;
  std::shared_ptr<ReLU> relu;  // one module for the three activations, as the release
  std::shared_ptr<Sequential> downsample;  // null: identity shortcut
  std::shared_ptr<Conv2d> conv4, conv5;    // SE gate, null without squeeze_excite
  std::shared_ptr<Sigmoid> sigmoid;
};

// resnet.py `ResNet` / senet.py `SENet` with layers [3, 4, 6, 3]:
//   conv1 7x7/2 -> bn1 -> relu -> maxpool 3/2 (ceil) -> layer1..4 -> avgpool 7 -> flatten -> fc.
// forward_outputs: {"logits"} (N, num_classes), or with include_top = false {"features"}: the flattened
// (N, 2048) pooled feature (no fc applied; fc still exists so the published weights load strictly).
// forward returns that same single output.
class VGGFace2ResNet : public Model {
 public:
  VGGFace2ResNet(bool squeeze_excite, int64_t num_classes = 8631, bool include_top = true);
  ~VGGFace2ResNet() override;
  // in eval mode without gradients (the ResNet; not yet the SENet) through the CPU inference engine
  // (layers/fuse.h: BatchNorms folded, ReLU and the residual adds fused into the convolutions)
  Tensor forward(const Tensor& x) override;
  NamedOutputs forward_outputs(const Tensor& x) override;
  std::string type_name() const override { return squeeze_excite ? "SENet" : "ResNet"; }

  bool squeeze_excite;
  int64_t num_classes;
  bool include_top;
  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn1;
  std::shared_ptr<ReLU> relu;
  std::shared_ptr<MaxPool2d> maxpool;
  std::shared_ptr<Sequential> layer1, layer2, layer3, layer4;
  std::shared_ptr<AvgPool2d> avgpool;
  std::shared_ptr<Linear> fc;

 private:
  // the (N, 2048) feature: everything up to the average pool, flattened
  Tensor features(const Tensor& x);
  struct Engine;  // the prepared convolutions (vggface2.cpp)
  std::unique_ptr<Engine> build_engine() const;
  fuse::InferencePlan<Engine> plan_;
};

// The zoo's constructors: `opts.num_classes` (0: 8631) and `opts.features` (include_top = false).
std::shared_ptr<VGGFace2ResNet> resnet50_vggface2(const ArchOptions& opts = {});
std::shared_ptr<VGGFace2ResNet> senet50_vggface2(const ArchOptions& opts = {});

}  // namespace fk::models
