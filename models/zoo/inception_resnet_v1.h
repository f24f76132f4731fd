// Inception-ResNet-V1 as in timesler/facenet-pytorch (models/inception_resnet_v1.py), the PyTorch
// port of David Sandberg's TensorFlow facenet models 20180402-114759 (VGGFace2, 8631 classes) and
// 20180408-102900 (CASIA-WebFace, 10575 classes). Layer table and keys: reference models.md §2.
//
//   stem (conv2d_1a .. conv2d_4b) -> repeat_1 (5 x Block35) -> mixed_6a -> repeat_2 (10 x Block17)
//   -> mixed_7a -> repeat_3 (5 x Block8) -> block8 (no ReLU) -> avgpool_1a -> dropout 0.6
//   -> last_linear (1792 -> 512, no bias) -> last_bn (BatchNorm1d, eps 0.001) -> [logits]
//
// Outputs. The published files contain `logits.*` (facenet-pytorch's pretrained models always build
// the layer, and return the embedding unless classify=True). Here the `logits` Linear(512, N) exists
// when ArchOptions::num_classes = N > 0 (set from `logits.weight` by the zoo entry's infer_options);
// then forward_outputs gives {"embedding", "logits"}, otherwise {"embedding"}:
//   embedding = F.normalize(last_bn(x), dim=1)   (512-d, unit L2 norm; facenet's classify=False)
//   logits    = logits(last_bn(x))               (from the un-normalised last_bn output, classify=True)
// forward() returns the embedding. Input: 160x160 RGB, (x - 127.5) / 128; any size >= 75x75 runs.
// Tests: tests/models/zoo/test_inception_resnet_v1.cpp.
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

// The building blocks, named as in facenet-pytorch.
namespace inception_resnet_v1 {

// Conv (no bias) -> BatchNorm2d(eps 0.001, momentum 0.1, the TensorFlow value) -> ReLU.
// Keys conv.weight, bn.*.
class BasicConv2d : public Module {
 public:
  BasicConv2d(int64_t in_planes, int64_t out_planes, Int2 kernel_size, Int2 stride, Int2 padding = 0);
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<Conv2d> conv;
  std::shared_ptr<BatchNorm2d> bn;
  std::shared_ptr<ReLU> relu;
};

// 35x35-grid residual block (17x17 for a 160 input), 256 channels:
//   out = relu(conv2d(cat(branch0, branch1, branch2)) * scale + x)
class Block35 : public Module {
 public:
  explicit Block35(double scale = 1.0);
  Tensor forward(const Tensor& x) override;

  double scale;
  std::shared_ptr<BasicConv2d> branch0;  // 1x1 -> 32
  std::shared_ptr<Sequential> branch1;   // 1x1 -> 32, 3x3 -> 32
  std::shared_ptr<Sequential> branch2;   // 1x1 -> 32, 3x3 -> 32, 3x3 -> 32
  std::shared_ptr<Conv2d> conv2d;        // 1x1, 96 -> 256, with bias, no BN
  std::shared_ptr<ReLU> relu;
};

// 17x17-grid residual block (8x8 for a 160 input), 896 channels, factorised 1x7 / 7x1 convs.
class Block17 : public Module {
 public:
  explicit Block17(double scale = 1.0);
  Tensor forward(const Tensor& x) override;

  double scale;
  std::shared_ptr<BasicConv2d> branch0;  // 1x1 -> 128
  std::shared_ptr<Sequential> branch1;   // 1x1 -> 128, (1,7) -> 128, (7,1) -> 128
  std::shared_ptr<Conv2d> conv2d;        // 1x1, 256 -> 896, with bias
  std::shared_ptr<ReLU> relu;
};

// 8x8-grid residual block (3x3 for a 160 input), 1792 channels; the last one has no ReLU.
class Block8 : public Module {
 public:
  explicit Block8(double scale = 1.0, bool noReLU = false);
  Tensor forward(const Tensor& x) override;

  double scale;
  bool noReLU;
  std::shared_ptr<BasicConv2d> branch0;  // 1x1 -> 192
  std::shared_ptr<Sequential> branch1;   // 1x1 -> 192, (1,3) -> 192, (3,1) -> 192
  std::shared_ptr<Conv2d> conv2d;        // 1x1, 384 -> 1792, with bias
  std::shared_ptr<ReLU> relu;            // null when noReLU (as in facenet-pytorch)
};

// Reduction 256 -> 896 channels, stride 2: cat(3x3 s2 conv, 1x1-3x3-3x3 s2 convs, 3x3 s2 max pool).
class Mixed_6a : public Module {
 public:
  Mixed_6a();
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<BasicConv2d> branch0;  // 3x3 s2 -> 384
  std::shared_ptr<Sequential> branch1;   // 1x1 -> 192, 3x3 -> 192, 3x3 s2 -> 256
  std::shared_ptr<MaxPool2d> branch2;    // 3x3 s2 (256 channels)
};

// Reduction 896 -> 1792 channels, stride 2: three conv branches and a 3x3 s2 max pool.
class Mixed_7a : public Module {
 public:
  Mixed_7a();
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<Sequential> branch0;  // 1x1 -> 256, 3x3 s2 -> 384
  std::shared_ptr<Sequential> branch1;  // 1x1 -> 256, 3x3 s2 -> 256
  std::shared_ptr<Sequential> branch2;  // 1x1 -> 256, 3x3 -> 256, 3x3 s2 -> 256
  std::shared_ptr<MaxPool2d> branch3;   // 3x3 s2 (896 channels)
};

}  // namespace inception_resnet_v1

class InceptionResnetV1 : public Model {
 public:
  // num_classes > 0 adds the `logits` layer; dropout_prob is facenet-pytorch's default.
  explicit InceptionResnetV1(int64_t num_classes = 0, double dropout_prob = 0.6);
  ~InceptionResnetV1() override;

  Tensor forward(const Tensor& x) override;                 // the embedding
  NamedOutputs forward_outputs(const Tensor& x) override;  // {"embedding"[, "logits"]}
  // Everything up to and including last_bn: the un-normalised 512-d feature.
  Tensor features(const Tensor& x);

  int64_t num_classes;
  std::shared_ptr<inception_resnet_v1::BasicConv2d> conv2d_1a, conv2d_2a, conv2d_2b;
  std::shared_ptr<MaxPool2d> maxpool_3a;
  std::shared_ptr<inception_resnet_v1::BasicConv2d> conv2d_3b, conv2d_4a, conv2d_4b;
  std::shared_ptr<Sequential> repeat_1;
  std::shared_ptr<inception_resnet_v1::Mixed_6a> mixed_6a;
  std::shared_ptr<Sequential> repeat_2;
  std::shared_ptr<inception_resnet_v1::Mixed_7a> mixed_7a;
  std::shared_ptr<Sequential> repeat_3;
  std::shared_ptr<inception_resnet_v1::Block8> block8;
  std::shared_ptr<AdaptiveAvgPool2d> avgpool_1a;
  std::shared_ptr<Dropout> dropout;
  std::shared_ptr<Linear> last_linear;
  std::shared_ptr<BatchNorm1d> last_bn;
  std::shared_ptr<Linear> logits;  // null when num_classes == 0

 private:
  struct Engine;  // the prepared convolutions (inception_resnet_v1.cpp)
  std::unique_ptr<Engine> build_engine() const;
  fuse::InferencePlan<Engine> plan_;
};

}  // namespace fk::models
