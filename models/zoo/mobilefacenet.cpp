// MobileFaceNet (see mobilefacenet.h) and its zoo entry `mobilefacenet`.
#include "models/zoo/mobilefacenet.h"

#include <cmath>

#include "tensor/creation.h"
#include "tensor/elementwise.h"

namespace fk::models {

namespace mobilefacenet {

ConvBlock::ConvBlock(int64_t inp, int64_t oup, Int2 k, Int2 s, Int2 p, bool dw, bool linear) : linear(linear) {
  conv = register_module("conv", std::make_shared<Conv2d>(inp, oup, k, s, p, /*dilation=*/1,
                                                          /*groups=*/dw ? inp : 1, /*bias=*/false));
  bn = register_module("bn", std::make_shared<BatchNorm2d>(oup));
  if (!linear) prelu = register_module("prelu", std::make_shared<PReLU>(oup));
}

Tensor ConvBlock::forward(const Tensor& x) {
  Tensor y = (*conv)(x);
  return linear ? (*bn)(y) : batch_norm_activation(*bn, *prelu, y);
}

Bottleneck::Bottleneck(int64_t inp, int64_t oup, int64_t stride, int64_t expansion)
    : connect(stride == 1 && inp == oup) {
  const int64_t e = inp * expansion;
  conv = register_module("conv", std::make_shared<Sequential>(
      std::make_shared<Conv2d>(inp, e, 1, 1, 0, 1, 1, /*bias=*/false),  // pointwise expansion
      std::make_shared<BatchNorm2d>(e),
      std::make_shared<PReLU>(e),
      std::make_shared<Conv2d>(e, e, 3, stride, 1, 1, /*groups=*/e, /*bias=*/false),  // depthwise
      std::make_shared<BatchNorm2d>(e),
      std::make_shared<PReLU>(e),
      std::make_shared<Conv2d>(e, oup, 1, 1, 0, 1, 1, /*bias=*/false),  // pointwise projection, linear
      std::make_shared<BatchNorm2d>(oup)));
}

Tensor Bottleneck::forward(const Tensor& x) { return connect ? add(x, (*conv)(x)) : (*conv)(x); }

namespace {

// The source's initialisation of every Conv2d below `m`: weight ~ N(0, sqrt(2 / (KH * KW * out))).
// (BatchNorm's weight 1, bias 0 is already the layer default.)
void init_convs(Module& m) {
  for (const auto& [name, child] : m.named_children()) {
    if (auto* c = dynamic_cast<Conv2d*>(child.get())) {
      const double n = double(c->kernel_size[0] * c->kernel_size[1] * c->out_channels);
      Tensor w = randn(c->weight.shape());
      ops::mul_(w, std::sqrt(2.0 / n));
      ops::copy_(c->weight, w);
    }
    init_convs(*child);
  }
}

// (expansion t, output channels c, repeats n, first stride s) of each stage, from the source
struct Stage {
  int64_t t, c, n, s;
};
constexpr Stage kBottleneckSetting[] = {{2, 64, 5, 2}, {4, 128, 1, 2}, {2, 128, 6, 1}, {4, 128, 1, 2}, {2, 128, 2, 1}};

}  // namespace

}  // namespace mobilefacenet

using namespace mobilefacenet;

MobileFaceNet::MobileFaceNet() {
  conv1 = register_module("conv1", std::make_shared<ConvBlock>(3, 64, 3, 2, 1));                 // 64x56x48
  dw_conv1 = register_module("dw_conv1", std::make_shared<ConvBlock>(64, 64, 3, 1, 1, /*dw=*/true));
  blocks = register_module("blocks", std::make_shared<Sequential>());  // -> 128x7x6
  int64_t inplanes = 64;
  for (const Stage& st : kBottleneckSetting)
    for (int64_t i = 0; i < st.n; ++i) {
      blocks->push_back(std::make_shared<Bottleneck>(inplanes, st.c, i == 0 ? st.s : 1, st.t));
      inplanes = st.c;
    }
  conv2 = register_module("conv2", std::make_shared<ConvBlock>(128, 512, 1, 1, 0));  // 512x7x6
  // global depthwise conv: one 7x6 filter per channel -> 512x1x1
  linear7 = register_module("linear7", std::make_shared<ConvBlock>(512, 512, Int2(7, 6), 1, 0, /*dw=*/true,
                                                                   /*linear=*/true));
  linear1 = register_module("linear1", std::make_shared<ConvBlock>(512, 128, 1, 1, 0, /*dw=*/false,
                                                                   /*linear=*/true));
  init_convs(*this);
}

// ---- the inference engine's form of the net: every Conv2d with the BatchNorm after it folded in and
// its PReLU in the epilogue; a bottleneck's projection adds the shortcut in its epilogue.
struct MobileFaceNet::Engine {
  struct Block {
    fuse::FusedConv expand, depthwise, project;
    bool connect = false;
  };
  fuse::FusedConv conv1, dw_conv1, conv2, linear7, linear1;
  std::vector<Block> blocks;
};

MobileFaceNet::~MobileFaceNet() = default;

std::unique_ptr<MobileFaceNet::Engine> MobileFaceNet::build_engine() const {
  using fuse::Activation;
  auto e = std::make_unique<Engine>();
  auto block = [](const ConvBlock& b, fuse::FusedConv& out) {
    fuse::ConvParts p{b.conv.get(), nullptr, b.bn.get(), 1.0, b.linear ? Activation::None : Activation::PReLU,
                      b.prelu.get()};
    if (!fuse::FusedConv::supported(p)) return false;
    out = fuse::FusedConv(p);
    return true;
  };
  if (!block(*conv1, e->conv1) || !block(*dw_conv1, e->dw_conv1) || !block(*conv2, e->conv2) ||
      !block(*linear7, e->linear7) || !block(*linear1, e->linear1))
    return nullptr;
  for (const auto& [name, m] : blocks->named_children()) {
    const auto* b = dynamic_cast<const Bottleneck*>(m.get());
    if (!b) return nullptr;
    const auto parts = b->conv->named_children();
    if (parts.size() != 8) return nullptr;
    auto at = [&](size_t i) { return parts[i].second.get(); };
    fuse::ConvParts ex{dynamic_cast<const Conv2d*>(at(0)), nullptr, dynamic_cast<const BatchNorm2d*>(at(1)), 1.0,
                       Activation::PReLU, dynamic_cast<const PReLU*>(at(2))};
    fuse::ConvParts dw{dynamic_cast<const Conv2d*>(at(3)), nullptr, dynamic_cast<const BatchNorm2d*>(at(4)), 1.0,
                       Activation::PReLU, dynamic_cast<const PReLU*>(at(5))};
    fuse::ConvParts pr{dynamic_cast<const Conv2d*>(at(6)), nullptr, dynamic_cast<const BatchNorm2d*>(at(7))};
    if (!fuse::FusedConv::supported(ex) || !fuse::FusedConv::supported(dw) || !fuse::FusedConv::supported(pr))
      return nullptr;
    Engine::Block eb;
    eb.expand = fuse::FusedConv(ex);
    eb.depthwise = fuse::FusedConv(dw);
    eb.project = fuse::FusedConv(pr);
    eb.connect = b->connect;
    e->blocks.push_back(std::move(eb));
  }
  return e;
}

Tensor MobileFaceNet::forward(const Tensor& x) {
  if (fuse::engine_applies(*this, x)) {
    if (const Engine* e = plan_.get([&] { return build_engine(); })) {
      BlockedTensor y = e->dw_conv1(e->conv1(to_blocked(x)));
      for (const auto& b : e->blocks) {
        BlockedTensor t = b.depthwise(b.expand(y));
        y = b.connect ? b.project(t, &y) : b.project(t);
      }
      return flatten(to_nchw(e->linear1(e->linear7(e->conv2(y)))), 1);
    }
  }
  Tensor y = (*conv1)(x);
  y = (*dw_conv1)(y);
  y = (*blocks)(y);
  y = (*conv2)(y);
  y = (*linear7)(y);
  y = (*linear1)(y);
  return flatten(y, 1);
}

NamedOutputs MobileFaceNet::forward_outputs(const Tensor& x) { return {{"embedding", forward(x)}}; }

void add_mobilefacenet_archs(std::vector<ArchInfo>& out) {
  ArchInfo a;
  a.name = "mobilefacenet";
  a.description = "MobileFaceNet (Xiaoccer/MobileFaceNet_Pytorch, CASIA-WebFace 068.ckpt): raw 128-d embedding";
  a.channels = 3, a.height = 112, a.width = 96;
  a.preprocessing = "RGB, 5-point SphereFace alignment to 96x112 (w x h), (x - 127.5) / 128";
  a.make = [](const ArchOptions&) -> std::shared_ptr<Model> { return std::make_shared<MobileFaceNet>(); };
  out.push_back(std::move(a));
}

}  // namespace fk::models
