// Eval-mode preparation of layers for the CPU inference engine: a Conv2d with the BatchNorm2d after
// it folded into its weights and bias (w' = w * g / sqrt(var + eps) per output channel,
// b' = (b - mean) * g / sqrt(var + eps) + beta), a BatchNorm2d before it kept as an exact pre-op on
// the conv's input (folding it into the weights is not exact at the zero padding), an output scale
// (Inception-ResNet's residual scaling), ReLU or PReLU, and the residual add of the block, all done
// by one conv2d_blocked call on the blocked layout (tensor/blocked.h). The folded and packed weights
// are a copy: the module's own parameters and state dict are untouched.
//
// A model uses the engine from its forward() when engine_applies() says so: eval mode, no gradient
// wanted, a float32 CPU input, no forward hooks anywhere below it, FK_ENGINE not "reference". It
// keeps its prepared parts in an InferencePlan, rebuilt whenever Module::weights_generation() moved
// (train(), load_state_dict(), to()). Tests: tests/models/zoo/test_engine.cpp and every model test.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "layers/activation.h"
#include "layers/batchnorm.h"
#include "layers/conv.h"
#include "layers/se.h"
#include "tensor/blocked.h"
#include "tensor/cpu/conv_blocked.h"

namespace fk::fuse {

using cpu::Activation;

struct ConvParts {
  const Conv2d* conv = nullptr;
  const BatchNorm2d* bn_before = nullptr;  // applied to the conv's input (pre-op)
  const BatchNorm2d* bn_after = nullptr;   // folded into the weights and bias
  double scale = 1.0;                      // output multiplied by this (after bn_after)
  Activation act = Activation::None;
  const PReLU* prelu = nullptr;            // with act == PReLU: one slope or one per output channel
  bool winograd = true;                    // false: never Winograd, always the direct kernel
};

class FusedConv {
 public:
  FusedConv() = default;
  explicit FusedConv(const ConvParts& parts);
  // Whether the engine runs this conv: float32 weights, dilation 1, groups 1 or depthwise, a BatchNorm
  // with running statistics, PReLU slopes matching the channels.
  static bool supported(const ConvParts& parts);

  // y = act(conv(x) + residual), or act(conv(x)) + residual with residual_after_act. The first call
  // chooses the kernel for its map size (Winograd F(2x2, 3x3) or direct: cpu::winograd_preferred) and packs the
  // weights for it, so a FusedConv is not to be called from two threads at once.
  BlockedTensor operator()(const BlockedTensor& x, const BlockedTensor* residual = nullptr,
                           bool residual_after_act = false) const;
  int64_t out_channels() const { return g_.OC; }
  // Whether the first call chose Winograd (false before the first call).
  bool uses_winograd() const { return g_.winograd; }

 private:
  mutable cpu::BlockedConvGeometry g_;  // N, H, W, OH, OW filled per call; winograd by the first call
  // until the first call: the conv's weights (the module's own storage) and the factor folded into
  // each output channel (the BatchNorm after it, the output scale); then the folded weights packed
  // for the chosen kernel
  void fold_and_pack() const;
  mutable Tensor weight_;
  mutable std::vector<double> fold_;
  mutable std::vector<float> packed_;
  std::vector<float> bias_, slope_, pre_scale_, pre_shift_;
  Activation act_ = Activation::None;
  bool winograd_allowed_ = true;
};

// SEModule on the blocked layout: y * sigmoid(fc2(relu(fc1(mean_hw(y))))) (+ residual), the gate
// computed by the module's own layers on the (N, C, 1, 1) means, the scaling and the add in one pass.
BlockedTensor squeeze_excite(const BlockedTensor& y, SEModule& se, const BlockedTensor* residual = nullptr);

// The parts of a Sequential(Conv2d, BatchNorm2d) (a ResNet downsample, an IR shortcut): conv with the
// BatchNorm folded in; conv is null when `m` is not exactly that.
ConvParts conv_bn_parts(const Module& m);
// A residual block's optional shortcut (`downsample`: null, or a Sequential(Conv2d, BatchNorm2d)) for
// the engine: false when there is one that cannot be fused (the block then stays on the module path);
// else true, with `has` saying whether there is one and `out` its fused conv.
bool fuse_shortcut(const Module* downsample, FusedConv& out, bool& has);

// Per-channel y = a * x + c of an eval-mode BatchNorm (a = g / sqrt(var + eps), c = beta - mean * a),
// computed in double, returned padded with zeros to a multiple of 16.
void batchnorm_affine(const BatchNormBase& bn, std::vector<float>& a, std::vector<float>& c);
// Whether a BatchNorm can be folded (eval mode uses running statistics: track_running_stats).
bool batchnorm_foldable(const BatchNormBase& bn);

// Whether `model` should run its forward through the engine for input x (see the top of this file).
bool engine_applies(const Module& model, const Tensor& x);
// The engine on or off for the whole process (default: on unless FK_ENGINE=reference): off, every
// model runs its module path, the specification the engine is tested against.
void set_engine_enabled(bool on);
bool engine_enabled();
// How many forwards ran through the engine so far (a model counts one per forward): what tests and
// benchmarks check to know which path ran.
uint64_t engine_forwards();
void count_engine_forward();

// A model's prepared parts: the generation they were built at, and whatever the model keeps.
template <class Parts>
class InferencePlan {
 public:
  // The parts, (re)built by `build()` when the weights may have changed since; null when build()
  // returned null (a layer the engine does not run: the model then uses its module path).
  template <class Build>
  const Parts* get(Build&& build) {
    const uint64_t gen = Module::weights_generation();
    if (gen != generation_) {
      parts_ = build();
      generation_ = gen;
    }
    if (parts_) count_engine_forward();
    return parts_.get();
  }

 private:
  uint64_t generation_ = 0;
  std::unique_ptr<Parts> parts_;
};

}  // namespace fk::fuse
