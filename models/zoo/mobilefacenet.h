// MobileFaceNet (S. Chen et al. 2018, arXiv:1804.07573) as in Xiaoccer/MobileFaceNet_Pytorch
// (core/model.py), the architecture of the CASIA-WebFace checkpoint 068.ckpt. Layer table and keys:
// ../shared/data/weights/mobilefacenet_casia/README.md.
//
//   input 3x112x96 -> conv1 (3x3 s2) -> dw_conv1 (depthwise 3x3) -> blocks.0-14 (inverted-residual
//   bottlenecks, 64x56x48 -> 128x7x6) -> conv2 (1x1 -> 512) -> linear7 (depthwise 7x6 "global
//   depthwise conv" -> 512x1x1) -> linear1 (1x1 -> 128) -> flatten
//
// Output: forward() and forward_outputs()'s "embedding" are the raw 128-d vector (not normalised;
// the source compares concat(f(img), f(flip(img))) by cosine similarity). BatchNorm2d everywhere with
// PyTorch's defaults (eps 1e-5, momentum 0.1); PReLU with one slope per channel. The fixed 7x6 kernel
// of linear7 makes 112x96 the only input size that yields a 128-d output.
// Tests: tests/models/zoo/test_mobilefacenet.cpp.
#pragma once

#include <memory>

#include "layers/activation.h"
#include "layers/batchnorm.h"
#include "layers/conv.h"
#include "layers/fuse.h"
#include "layers/sequential.h"
#include "models/zoo/zoo.h"

namespace fk::models {

// The building blocks, named as in the source.
namespace mobilefacenet {

// Conv (no bias; depthwise when dw: groups = in channels) -> BatchNorm2d -> PReLU (absent when
// linear). Keys conv.weight, bn.*, prelu.weight.
class ConvBlock : public Module {
 public:
  ConvBlock(int64_t inp, int64_t oup, Int2 k, Int2 s, Int2 p, bool dw = false, bool linear = false);
  Tensor forward(const Tensor& x) override;

  bool linear;
  std::shared_ptr<Conv2d> conv;
  std::shared_ptr<BatchNorm2d> bn;
  std::shared_ptr<PReLU> prelu;  // null when linear
};

// MobileNetV2 inverted residual, E = inp * expansion channels inside. `conv` is a Sequential:
//   0 Conv 1x1 inp->E, 1 BN, 2 PReLU, 3 depthwise Conv 3x3 stride s pad 1, 4 BN, 5 PReLU,
//   6 Conv 1x1 E->oup, 7 BN (linear bottleneck).
// y = x + conv(x) when stride is 1 and inp == oup (`connect`), else conv(x).
class Bottleneck : public Module {
 public:
  Bottleneck(int64_t inp, int64_t oup, int64_t stride, int64_t expansion);
  Tensor forward(const Tensor& x) override;

  bool connect;
  std::shared_ptr<Sequential> conv;
};

}  // namespace mobilefacenet

class MobileFaceNet : public Model {
 public:
  // Weights start as in the source: conv weights ~ N(0, 2 / (KH * KW * out_channels)), BN weight 1,
  // bias 0, PReLU slopes 0.25.
  MobileFaceNet();

  ~MobileFaceNet() override;
  // the raw 128-d embedding; in eval mode without gradients through the CPU inference engine
  // (layers/fuse.h: BatchNorms folded, PReLU and the residual adds fused into the convolutions)
  Tensor forward(const Tensor& x) override;
  NamedOutputs forward_outputs(const Tensor& x) override;  // {"embedding"}

  std::shared_ptr<mobilefacenet::ConvBlock> conv1, dw_conv1;
  std::shared_ptr<Sequential> blocks;  // 15 Bottlenecks
  std::shared_ptr<mobilefacenet::ConvBlock> conv2, linear7, linear1;

 private:
  struct Engine;  // the prepared convolutions (mobilefacenet.cpp)
  std::unique_ptr<Engine> build_engine() const;
  fuse::InferencePlan<Engine> plan_;
};

}  // namespace fk::models
