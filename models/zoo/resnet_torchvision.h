// torchvision's ResNet-50 (torchvision.models.resnet50) with a replaceable head, as the KIT
// "NN-Practical Face Recognition" classifiers use it (Qing-WANG-KIT/nn_facerecognition): reference
// models.md section 5. The torchvision bottleneck puts its stride on the 3x3 conv (the Caffe-style net
// of vggface2.h puts it on the first 1x1), the stem max-pool is 3/2 with padding 1, and the pool before
// the head is adaptive, so any input size works (224x224 is the usual one).
// Heads (ArchOptions::head), all under the state-dict prefix "fc.":
//   "fc"     Linear(2048, N)                                       N default 1000 (ImageNet)
//   "linear" Sequential(fc Linear(2048, N), output LogSoftmax(1))  KIT models 2-5
//   "mlp"    Sequential(fc1 Linear(2048, 1024), relu, dropout Dropout(0.2), fc2 Linear(1024, N),
//            output LogSoftmax(1))                                 KIT model 1
// The output is called "logits" for every head, although the KIT heads give log-probabilities.
// Zoo name: resnet50_torchvision. Input: RGB, x/255, ImageNet mean/std. Tests:
// tests/models/zoo/test_resnet_torchvision.cpp.
#pragma once

#include <memory>
#include <string>

#include "layers/activation.h"
#include "layers/batchnorm.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/pooling.h"
#include "layers/sequential.h"
#include "models/zoo/zoo.h"

namespace fk::models {

// torch.nn.LogSoftmax: y = x - log(sum(exp(x))) along `dim`. Prints as `LogSoftmax(dim=1)`.
class LogSoftmax : public Module {
 public:
  explicit LogSoftmax(int64_t dim) : dim(dim) {}
  Tensor forward(const Tensor& x) override { return log_softmax(x, dim); }
  std::string extra_repr() const override { return "dim=" + std::to_string(dim); }
  int64_t dim;
};

// torchvision.models.resnet.Bottleneck (expansion 4, ResNet "V1.5"):
//   conv1 1x1 -> bn1 -> relu -> conv2 3x3 (stride s) -> bn2 -> relu -> conv3 1x1 -> bn3
//   -> + shortcut -> relu,  shortcut = downsample(x) (1x1 conv with stride s, then BN) or x.
class TorchvisionBottleneck : public Module {
 public:
  static constexpr int64_t expansion = 4;
  TorchvisionBottleneck(int64_t inplanes, int64_t planes, int64_t stride, std::shared_ptr<Sequential> downsample);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Bottleneck"; }

  std::shared_ptr<Conv2d> conv1, conv2, conv3;
  std::shared_ptr<BatchNorm2d> bn1, bn2, bn3;
  std::shared_ptr<ReLU> relu;
  std::shared_ptr<Sequential> downsample;  // null: identity shortcut
};

// torchvision.models.resnet.ResNet with layers [3, 4, 6, 3]:
//   conv1 7x7/2 -> bn1 -> relu -> maxpool 3/2 p1 -> layer1..4 -> avgpool (adaptive, 1x1) -> flatten -> fc.
// forward_outputs: {"logits"} (N, num_classes); for the KIT heads these are log-probabilities.
class TorchvisionResNet50 : public Model {
 public:
  explicit TorchvisionResNet50(const std::string& head = "fc", int64_t num_classes = 1000);
  Tensor forward(const Tensor& x) override;
  NamedOutputs forward_outputs(const Tensor& x) override;
  std::string type_name() const override { return "ResNet"; }

  // Transfer learning as the KIT notebooks do it: every parameter outside `fc` stops requiring
  // gradients, so a backward pass only reaches the head. (BatchNorm still follows train()/eval().)
  void freeze_backbone();

  std::string head;
  int64_t num_classes;
  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn1;
  std::shared_ptr<ReLU> relu;
  std::shared_ptr<MaxPool2d> maxpool;
  std::shared_ptr<Sequential> layer1, layer2, layer3, layer4;
  std::shared_ptr<AdaptiveAvgPool2d> avgpool;
  std::shared_ptr<Module> fc;  // Linear for "fc", Sequential for the KIT heads
};

// The zoo's constructor: `opts.head` and `opts.num_classes` (0: 1000).
std::shared_ptr<TorchvisionResNet50> resnet50_torchvision(const ArchOptions& opts = {});

}  // namespace fk::models
