// Inception-ResNet-V1 (see inception_resnet_v1.h) and its zoo entry `inception_resnet_v1`.
// Modules are registered in facenet-pytorch's __init__ order, which is the state-dict order.
#include "models/zoo/inception_resnet_v1.h"

namespace fk::models {

namespace inception_resnet_v1 {

BasicConv2d::BasicConv2d(int64_t in_planes, int64_t out_planes, Int2 kernel_size, Int2 stride, Int2 padding) {
  conv = register_module("conv", std::make_shared<Conv2d>(in_planes, out_planes, kernel_size, stride, padding,
                                                          /*dilation=*/1, /*groups=*/1, /*bias=*/false));
  bn = register_module("bn", std::make_shared<BatchNorm2d>(out_planes, /*eps=*/0.001));  // TensorFlow's eps
  relu = register_module("relu", std::make_shared<ReLU>());
}

Tensor BasicConv2d::forward(const Tensor& x) { return (*relu)((*bn)((*conv)(x))); }

namespace {
std::shared_ptr<BasicConv2d> basic(int64_t in, int64_t out, Int2 k, Int2 s, Int2 p = 0) {
  return std::make_shared<BasicConv2d>(in, out, k, s, p);
}
}  // namespace

Block35::Block35(double scale) : scale(scale) {
  branch0 = register_module("branch0", basic(256, 32, 1, 1));
  branch1 = register_module("branch1", std::make_shared<Sequential>(basic(256, 32, 1, 1), basic(32, 32, 3, 1, 1)));
  branch2 = register_module("branch2", std::make_shared<Sequential>(basic(256, 32, 1, 1), basic(32, 32, 3, 1, 1),
                                                                    basic(32, 32, 3, 1, 1)));
  conv2d = register_module("conv2d", std::make_shared<Conv2d>(96, 256, 1, 1));
  relu = register_module("relu", std::make_shared<ReLU>());
}

Tensor Block35::forward(const Tensor& x) {
  Tensor out = cat({(*branch0)(x), (*branch1)(x), (*branch2)(x)}, 1);
  out = add(mul((*conv2d)(out), scale), x);
  return (*relu)(out);
}

Block17::Block17(double scale) : scale(scale) {
  branch0 = register_module("branch0", basic(896, 128, 1, 1));
  branch1 = register_module("branch1", std::make_shared<Sequential>(basic(896, 128, 1, 1),
                                                                    basic(128, 128, {1, 7}, 1, {0, 3}),
                                                                    basic(128, 128, {7, 1}, 1, {3, 0})));
  conv2d = register_module("conv2d", std::make_shared<Conv2d>(256, 896, 1, 1));
  relu = register_module("relu", std::make_shared<ReLU>());
}

Tensor Block17::forward(const Tensor& x) {
  Tensor out = cat({(*branch0)(x), (*branch1)(x)}, 1);
  out = add(mul((*conv2d)(out), scale), x);
  return (*relu)(out);
}

Block8::Block8(double scale, bool noReLU) : scale(scale), noReLU(noReLU) {
  branch0 = register_module("branch0", basic(1792, 192, 1, 1));
  branch1 = register_module("branch1", std::make_shared<Sequential>(basic(1792, 192, 1, 1),
                                                                    basic(192, 192, {1, 3}, 1, {0, 1}),
                                                                    basic(192, 192, {3, 1}, 1, {1, 0})));
  conv2d = register_module("conv2d", std::make_shared<Conv2d>(384, 1792, 1, 1));
  if (!noReLU) relu = register_module("relu", std::make_shared<ReLU>());
}

Tensor Block8::forward(const Tensor& x) {
  Tensor out = cat({(*branch0)(x), (*branch1)(x)}, 1);
  out = add(mul((*conv2d)(out), scale), x);
  return noReLU ? out : (*relu)(out);
}

Mixed_6a::Mixed_6a() {
  branch0 = register_module("branch0", basic(256, 384, 3, 2));
  branch1 = register_module("branch1", std::make_shared<Sequential>(basic(256, 192, 1, 1), basic(192, 192, 3, 1, 1),
                                                                    basic(192, 256, 3, 2)));
  branch2 = register_module("branch2", std::make_shared<MaxPool2d>(3, 2));
}

Tensor Mixed_6a::forward(const Tensor& x) { return cat({(*branch0)(x), (*branch1)(x), (*branch2)(x)}, 1); }

Mixed_7a::Mixed_7a() {
  branch0 = register_module("branch0", std::make_shared<Sequential>(basic(896, 256, 1, 1), basic(256, 384, 3, 2)));
  branch1 = register_module("branch1", std::make_shared<Sequential>(basic(896, 256, 1, 1), basic(256, 256, 3, 2)));
  branch2 = register_module("branch2", std::make_shared<Sequential>(basic(896, 256, 1, 1), basic(256, 256, 3, 1, 1),
                                                                    basic(256, 256, 3, 2)));
  branch3 = register_module("branch3", std::make_shared<MaxPool2d>(3, 2));
}

Tensor Mixed_7a::forward(const Tensor& x) {
  return cat({(*branch0)(x), (*branch1)(x), (*branch2)(x), (*branch3)(x)}, 1);
}

}  // namespace inception_resnet_v1

using namespace inception_resnet_v1;

InceptionResnetV1::InceptionResnetV1(int64_t num_classes, double dropout_prob) : num_classes(num_classes) {
  FK_CHECK(num_classes >= 0, "InceptionResnetV1: num_classes must be >= 0 (0: no logits layer), got ", num_classes);
  // stem: 160 -> 79 -> 77 -> 77 -> 38 -> 38 -> 36 -> 17
  conv2d_1a = register_module("conv2d_1a", basic(3, 32, 3, 2));
  conv2d_2a = register_module("conv2d_2a", basic(32, 32, 3, 1));
  conv2d_2b = register_module("conv2d_2b", basic(32, 64, 3, 1, 1));
  maxpool_3a = register_module("maxpool_3a", std::make_shared<MaxPool2d>(3, 2));
  conv2d_3b = register_module("conv2d_3b", basic(64, 80, 1, 1));
  conv2d_4a = register_module("conv2d_4a", basic(80, 192, 3, 1));
  conv2d_4b = register_module("conv2d_4b", basic(192, 256, 3, 2));
  // residual stages with their reductions: 17x17x256 -> 8x8x896 -> 3x3x1792
  repeat_1 = register_module("repeat_1", std::make_shared<Sequential>());
  for (int i = 0; i < 5; ++i) repeat_1->push_back(std::make_shared<Block35>(0.17));
  mixed_6a = register_module("mixed_6a", std::make_shared<Mixed_6a>());
  repeat_2 = register_module("repeat_2", std::make_shared<Sequential>());
  for (int i = 0; i < 10; ++i) repeat_2->push_back(std::make_shared<Block17>(0.10));
  mixed_7a = register_module("mixed_7a", std::make_shared<Mixed_7a>());
  repeat_3 = register_module("repeat_3", std::make_shared<Sequential>());
  for (int i = 0; i < 5; ++i) repeat_3->push_back(std::make_shared<Block8>(0.20));
  block8 = register_module("block8", std::make_shared<Block8>(1.0, /*noReLU=*/true));
  // head
  avgpool_1a = register_module("avgpool_1a", std::make_shared<AdaptiveAvgPool2d>(1));
  dropout = register_module("dropout", std::make_shared<Dropout>(dropout_prob));
  last_linear = register_module("last_linear", std::make_shared<Linear>(1792, 512, /*bias=*/false));
  last_bn = register_module("last_bn", std::make_shared<BatchNorm1d>(512, /*eps=*/0.001));
  if (num_classes > 0) logits = register_module("logits", std::make_shared<Linear>(512, num_classes));
}

// ---- the inference engine's form of the net (features() in eval mode without gradients): every
// BasicConv2d a conv with its BatchNorm folded in and ReLU in the epilogue; a residual block's 1x1 up
// conv with the block's scale folded into its weights and bias, and relu(acc + x) in its epilogue;
// branches concatenated on the blocked layout.
struct InceptionResnetV1::Engine {
  using Chain = std::vector<fuse::FusedConv>;
  struct Residual {
    std::vector<Chain> branches;
    fuse::FusedConv up;
  };
  Chain stem_a, stem_b;  // conv2d_1a..2b, then (after maxpool_3a) conv2d_3b..4b
  std::vector<Residual> residuals[3];
  Residual block8;
  std::vector<Chain> mixed_6a, mixed_7a;  // each followed by a 3x3/2 max-pool branch

  static BlockedTensor run(const Chain& c, BlockedTensor y) {
    for (const auto& conv : c) y = conv(y);
    return y;
  }
  static BlockedTensor run(const Residual& r, const BlockedTensor& x) {
    std::vector<BlockedTensor> parts;
    for (const auto& b : r.branches) parts.push_back(run(b, x));
    return r.up(cat_channels(parts), &x);
  }
  static BlockedTensor run_reduction(const std::vector<Chain>& branches, const BlockedTensor& x) {
    std::vector<BlockedTensor> parts;
    for (const auto& b : branches) parts.push_back(run(b, x));
    parts.push_back(max_pool2d(x, 3, 2, 0, false));
    return cat_channels(parts);
  }
};

InceptionResnetV1::~InceptionResnetV1() = default;

std::unique_ptr<InceptionResnetV1::Engine> InceptionResnetV1::build_engine() const {
  using fuse::Activation;
  // a BasicConv2d, or a Sequential of them, as a chain; false when the engine cannot run one
  auto chain = [](const Module* m, Engine::Chain& out) {
    std::vector<const BasicConv2d*> convs;
    if (const auto* b = dynamic_cast<const BasicConv2d*>(m)) {
      convs.push_back(b);
    } else if (const auto* seq = dynamic_cast<const Sequential*>(m)) {
      for (const auto& [name, c] : seq->named_children()) {
        const auto* b = dynamic_cast<const BasicConv2d*>(c.get());
        if (!b) return false;
        convs.push_back(b);
      }
    } else {
      return false;
    }
    for (const BasicConv2d* b : convs) {
      fuse::ConvParts p{b->conv.get(), nullptr, b->bn.get(), 1.0, Activation::ReLU};
      if (!fuse::FusedConv::supported(p)) return false;
      out.emplace_back(p);
    }
    return true;
  };
  auto pool_3x3_s2 = [](const MaxPool2d& p) {
    return p.kernel_size.all_equal(3) && p.stride.all_equal(2) && p.padding.all_equal(0) && p.dilation.all_equal(1) &&
           !p.ceil_mode;
  };
  auto residual = [&](const Module* m, Engine::Residual& out) {
    std::vector<const Module*> branches;
    const Conv2d* up = nullptr;
    double scale = 1;
    bool relu = true;
    if (const auto* b = dynamic_cast<const Block35*>(m)) {
      branches = {b->branch0.get(), b->branch1.get(), b->branch2.get()};
      up = b->conv2d.get(), scale = b->scale;
    } else if (const auto* b = dynamic_cast<const Block17*>(m)) {
      branches = {b->branch0.get(), b->branch1.get()};
      up = b->conv2d.get(), scale = b->scale;
    } else if (const auto* b = dynamic_cast<const Block8*>(m)) {
      branches = {b->branch0.get(), b->branch1.get()};
      up = b->conv2d.get(), scale = b->scale, relu = !b->noReLU;
    } else {
      return false;
    }
    for (const Module* br : branches) {
      out.branches.emplace_back();
      if (!chain(br, out.branches.back())) return false;
    }
    fuse::ConvParts p{up, nullptr, nullptr, scale, relu ? Activation::ReLU : Activation::None};
    if (!fuse::FusedConv::supported(p)) return false;
    out.up = fuse::FusedConv(p);
    return true;
  };

  auto e = std::make_unique<Engine>();
  if (!pool_3x3_s2(*maxpool_3a) || !pool_3x3_s2(*mixed_6a->branch2) || !pool_3x3_s2(*mixed_7a->branch3)) return nullptr;
  for (const Module* m : {(const Module*)conv2d_1a.get(), (const Module*)conv2d_2a.get(), (const Module*)conv2d_2b.get()})
    if (!chain(m, e->stem_a)) return nullptr;
  for (const Module* m : {(const Module*)conv2d_3b.get(), (const Module*)conv2d_4a.get(), (const Module*)conv2d_4b.get()})
    if (!chain(m, e->stem_b)) return nullptr;
  const Sequential* repeats[3] = {repeat_1.get(), repeat_2.get(), repeat_3.get()};
  for (int r = 0; r < 3; ++r)
    for (const auto& [name, m] : repeats[r]->named_children()) {
      e->residuals[r].emplace_back();
      if (!residual(m.get(), e->residuals[r].back())) return nullptr;
    }
  if (!residual(block8.get(), e->block8)) return nullptr;
  for (const Module* m : {(const Module*)mixed_6a->branch0.get(), (const Module*)mixed_6a->branch1.get()}) {
    e->mixed_6a.emplace_back();
    if (!chain(m, e->mixed_6a.back())) return nullptr;
  }
  for (const Module* m : {mixed_7a->branch0.get(), mixed_7a->branch1.get(), mixed_7a->branch2.get()}) {
    e->mixed_7a.emplace_back();
    if (!chain(m, e->mixed_7a.back())) return nullptr;
  }
  return e;
}

Tensor InceptionResnetV1::features(const Tensor& x) {
  if (fuse::engine_applies(*this, x)) {
    if (const Engine* e = plan_.get([&] { return build_engine(); })) {
      BlockedTensor y = Engine::run(e->stem_b, max_pool2d(Engine::run(e->stem_a, to_blocked(x)), 3, 2, 0, false));
      for (const auto& r : e->residuals[0]) y = Engine::run(r, y);
      y = Engine::run_reduction(e->mixed_6a, y);
      for (const auto& r : e->residuals[1]) y = Engine::run(r, y);
      y = Engine::run_reduction(e->mixed_7a, y);
      for (const auto& r : e->residuals[2]) y = Engine::run(r, y);
      y = Engine::run(e->block8, y);
      Tensor f = (*avgpool_1a)(to_nchw(y));
      f = (*dropout)(f);
      return (*last_bn)((*last_linear)(flatten(f, 1)));
    }
  }
  Tensor y = (*conv2d_1a)(x);
  y = (*conv2d_2a)(y);
  y = (*conv2d_2b)(y);
  y = (*maxpool_3a)(y);
  y = (*conv2d_3b)(y);
  y = (*conv2d_4a)(y);
  y = (*conv2d_4b)(y);
  y = (*repeat_1)(y);
  y = (*mixed_6a)(y);
  y = (*repeat_2)(y);
  y = (*mixed_7a)(y);
  y = (*repeat_3)(y);
  y = (*block8)(y);
  y = (*avgpool_1a)(y);
  y = (*dropout)(y);
  y = (*last_linear)(flatten(y, 1));
  return (*last_bn)(y);
}

Tensor InceptionResnetV1::forward(const Tensor& x) { return normalize(features(x), 1); }

NamedOutputs InceptionResnetV1::forward_outputs(const Tensor& x) {
  Tensor f = features(x);
  NamedOutputs out{{"embedding", normalize(f, 1)}};
  if (logits) out.emplace_back("logits", (*logits)(f));
  return out;
}

void add_inception_resnet_v1_archs(std::vector<ArchInfo>& out) {
  ArchInfo a;
  a.name = "inception_resnet_v1";
  a.description = "Inception-ResNet-V1 (facenet-pytorch; VGGFace2 or CASIA-WebFace): L2-normalised 512-d embedding";
  a.channels = 3, a.height = 160, a.width = 160;
  a.preprocessing = "RGB, MTCNN crop 160x160, (x - 127.5) / 128";
  a.make = [](const ArchOptions& o) -> std::shared_ptr<Model> {
    return std::make_shared<InceptionResnetV1>(o.num_classes);
  };
  // The published files carry logits.weight [8631 or 10575, 512]: build the layer they hold.
  a.infer_options = [](const StateDict& weights, ArchOptions& o) {
    if (o.num_classes == 0 && weights.contains("logits.weight")) o.num_classes = weights.at("logits.weight").size(0);
  };
  out.push_back(std::move(a));
}

}  // namespace fk::models
