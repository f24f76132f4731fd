// MTCNN's three networks as facenet-pytorch defines them (models/mtcnn.py; reference
// docs/reference/mtcnn.md section 1), so its pnet.pt / rnet.pt / onet.pt load unchanged:
//   PNet  any input >= 12x12, fully convolutional: per 12x12 window (stride 2) a face probability
//         "prob" (N, 2, h, w) (softmax over channels; channel 1 = face) and a box regression "reg"
//         (N, 4, h, w), with h = ceil((H - 2) / 2) - 4.
//   RNet  24x24 crops: "prob" (N, 2), "reg" (N, 4).
//   ONet  48x48 crops: "prob" (N, 2), "reg" (N, 4), "landmarks" (N, 10) (x1..x5 then y1..y5).
// Convolutions have bias and no padding, activations are per-channel PReLU, max pools use ceil_mode.
// Before the first Linear the (N, C, H, W) map is flattened in (N, W, H, C) order, an artefact of the
// TensorFlow conversion that the published dense weights depend on.
// Input: RGB, NCHW, (x - 127.5) * 0.0078125. forward() returns prob; heads() gives every output.
// In eval mode without gradients the convolutions run on the CPU inference engine (layers/fuse.h:
// each conv with its PReLU fused, the pools on the blocked layout); the module path is its spec.
// PNet's conv1 + prelu1 + pool1 run as one pass from the planar input (tensor/cpu/conv_pool.h), its
// other convs on the direct kernel (Winograd on its thin 16-channel maps measured slower). Once a
// net has run one forward (which prepares its engine), heads() only reads the net and may be called
// from several threads at once, each with its own input, as the detector does with PNet.
// Tests: tests/models/mtcnn/test_mtcnn_nets.cpp.
#pragma once

#include <memory>

#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/fuse.h"
#include "layers/linear.h"
#include "layers/pooling.h"
#include "models/zoo/zoo.h"

namespace fk::models {

// RNet's and ONet's trunks as the engine runs them: their conv + PReLU (+ max pool) stages, prepared
// (nets.cpp).
struct MtcnnTrunk;

// Proposal net: conv1 3->10 k3, pool1 2/2, conv2 10->16 k3, conv3 16->32 k3, then two 1x1 heads.
class PNet : public Model {
 public:
  struct Heads {
    Tensor prob;  // (N, 2, h, w), softmax over dim 1
    Tensor reg;   // (N, 4, h, w): dx1, dy1, dx2, dy2
  };
  PNet();
  ~PNet() override;
  Heads heads(const Tensor& x);
  Tensor forward(const Tensor& x) override { return heads(x).prob; }
  NamedOutputs forward_outputs(const Tensor& x) override;

  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<PReLU> prelu1;
  std::shared_ptr<MaxPool2d> pool1;
  std::shared_ptr<Conv2d> conv2;
  std::shared_ptr<PReLU> prelu2;
  std::shared_ptr<Conv2d> conv3;
  std::shared_ptr<PReLU> prelu3;
  std::shared_ptr<Conv2d> conv4_1;  // face / not face, followed by softmax4_1 (softmax over dim 1)
  std::shared_ptr<Conv2d> conv4_2;  // box regression

 private:
  struct Engine;  // the prepared convolutions (nets.cpp)
  std::unique_ptr<Engine> build_engine() const;
  fuse::InferencePlan<Engine> plan_;
};

// Refine net: conv1 3->28 k3, pool1 3/2, conv2 28->48 k3, pool2 3/2, conv3 48->64 k2 (64x3x3),
// dense4 576->128, then the heads dense5_1 (softmax) and dense5_2.
class RNet : public Model {
 public:
  struct Heads {
    Tensor prob;  // (N, 2)
    Tensor reg;   // (N, 4)
  };
  RNet();
  ~RNet() override;
  Heads heads(const Tensor& x);
  Tensor forward(const Tensor& x) override { return heads(x).prob; }
  NamedOutputs forward_outputs(const Tensor& x) override;

  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<PReLU> prelu1;
  std::shared_ptr<MaxPool2d> pool1;
  std::shared_ptr<Conv2d> conv2;
  std::shared_ptr<PReLU> prelu2;
  std::shared_ptr<MaxPool2d> pool2;
  std::shared_ptr<Conv2d> conv3;
  std::shared_ptr<PReLU> prelu3;
  std::shared_ptr<Linear> dense4;
  std::shared_ptr<PReLU> prelu4;
  std::shared_ptr<Linear> dense5_1;  // face / not face, followed by softmax5_1
  std::shared_ptr<Linear> dense5_2;  // box regression

 private:
  std::unique_ptr<MtcnnTrunk> build_engine() const;
  fuse::InferencePlan<MtcnnTrunk> plan_;
};

// Output net: conv1 3->32 k3, pool1 3/2, conv2 32->64 k3, pool2 3/2, conv3 64->64 k3, pool3 2/2,
// conv4 64->128 k2 (128x3x3), dense5 1152->256, then the heads dense6_1 (softmax), dense6_2, dense6_3.
class ONet : public Model {
 public:
  struct Heads {
    Tensor prob;       // (N, 2)
    Tensor reg;        // (N, 4)
    Tensor landmarks;  // (N, 10): x1..x5, y1..y5 as fractions of the box width / height
  };
  ONet();
  ~ONet() override;
  Heads heads(const Tensor& x);
  Tensor forward(const Tensor& x) override { return heads(x).prob; }
  NamedOutputs forward_outputs(const Tensor& x) override;

  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<PReLU> prelu1;
  std::shared_ptr<MaxPool2d> pool1;
  std::shared_ptr<Conv2d> conv2;
  std::shared_ptr<PReLU> prelu2;
  std::shared_ptr<MaxPool2d> pool2;
  std::shared_ptr<Conv2d> conv3;
  std::shared_ptr<PReLU> prelu3;
  std::shared_ptr<MaxPool2d> pool3;
  std::shared_ptr<Conv2d> conv4;
  std::shared_ptr<PReLU> prelu4;
  std::shared_ptr<Linear> dense5;
  std::shared_ptr<PReLU> prelu5;
  std::shared_ptr<Linear> dense6_1;  // face / not face, followed by softmax6_1
  std::shared_ptr<Linear> dense6_2;  // box regression
  std::shared_ptr<Linear> dense6_3;  // landmarks

 private:
  std::unique_ptr<MtcnnTrunk> build_engine() const;
  fuse::InferencePlan<MtcnnTrunk> plan_;
};

}  // namespace fk::models
