// insightface IResNet (see iresnet.h) and its zoo entries iresnet18/34/50/100.
// Tests: tests/models/zoo/test_iresnet.cpp.
#include "models/zoo/iresnet.h"

#include "tensor/creation.h"
#include "tensor/elementwise.h"

namespace fk::models {

namespace {

// Every convolution of the release is bias-free and initialised ~ N(0, 0.1) (BatchNorm keeps its
// default weight 1, bias 0).
std::shared_ptr<Conv2d> conv(int64_t in_planes, int64_t out_planes, int64_t kernel, int64_t stride) {
  auto c = std::make_shared<Conv2d>(in_planes, out_planes, kernel, stride, kernel / 2, 1, 1, false);
  autograd::NoGrad no_grad;
  ops::copy_(c->weight, randn(c->weight.shape()) * 0.1);
  return c;
}

std::shared_ptr<Conv2d> conv3x3(int64_t in_planes, int64_t out_planes, int64_t stride = 1) {
  return conv(in_planes, out_planes, 3, stride);
}

std::shared_ptr<Conv2d> conv1x1(int64_t in_planes, int64_t out_planes, int64_t stride) {
  return conv(in_planes, out_planes, 1, stride);
}

}  // namespace

IBasicBlock::IBasicBlock(int64_t inplanes, int64_t planes, int64_t stride, std::shared_ptr<Sequential> downsample_) {
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(inplanes, 1e-5));
  conv1 = register_module("conv1", conv3x3(inplanes, planes));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(planes, 1e-5));
  prelu = register_module("prelu", std::make_shared<PReLU>(planes));
  conv2 = register_module("conv2", conv3x3(planes, planes, stride));
  bn3 = register_module("bn3", std::make_shared<BatchNorm2d>(planes, 1e-5));
  if (downsample_) downsample = register_module("downsample", std::move(downsample_));
}

Tensor IBasicBlock::forward(const Tensor& x) {
  Tensor out = (*conv2)(batch_norm_activation(*bn2, *prelu, (*conv1)((*bn1)(x))));
  Tensor identity = downsample ? (*downsample)(x) : x;
  return batch_norm_residual(*bn3, out, identity);  // bn3(out) + identity, the add fused in training
}

IResNet::IResNet(const std::array<int64_t, 4>& layers, double dropout_p, int64_t num_features) {
  conv1 = register_module("conv1", conv3x3(3, inplanes_));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(inplanes_, 1e-5));
  prelu = register_module("prelu", std::make_shared<PReLU>(inplanes_));
  layer1 = register_module("layer1", make_layer(64, layers[0], 2));
  layer2 = register_module("layer2", make_layer(128, layers[1], 2));
  layer3 = register_module("layer3", make_layer(256, layers[2], 2));
  layer4 = register_module("layer4", make_layer(512, layers[3], 2));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(512, 1e-5));
  dropout = register_module("dropout", std::make_shared<Dropout>(dropout_p, true));
  fc = register_module("fc", std::make_shared<Linear>(512 * 7 * 7, num_features));  // fc_scale = 7 * 7
  features = register_module("features", std::make_shared<BatchNorm1d>(num_features, 1e-5));
  // the release fixes features.weight at 1.0 and excludes it from training (requires_grad = False):
  // it stays a parameter, so it is listed and loaded, but no gradient ever reaches it
  ops::fill_(features->weight, 1.0);
  features->weight.requires_grad_(false);
}

std::shared_ptr<Sequential> IResNet::make_layer(int64_t planes, int64_t blocks, int64_t stride) {
  // every stage of the release has stride 2, so each first block gets a downsample
  auto downsample = std::make_shared<Sequential>(conv1x1(inplanes_, planes, stride),
                                                 std::make_shared<BatchNorm2d>(planes, 1e-5));
  auto layer = std::make_shared<Sequential>();
  layer->push_back(std::make_shared<IBasicBlock>(inplanes_, planes, stride, downsample));
  inplanes_ = planes;
  for (int64_t b = 1; b < blocks; ++b) layer->push_back(std::make_shared<IBasicBlock>(planes, planes, 1, nullptr));
  return layer;
}

// ---- the inference engine's form of the net: per block, conv1 with bn1 as its pre-op and bn2 + PReLU
// folded in; conv2 with bn3 folded in and the shortcut added in its epilogue; the downsample's conv
// with its BatchNorm folded in.
struct IResNet::Engine {
  struct Block {
    fuse::FusedConv conv1, conv2, downsample;
    bool has_downsample = false;
  };
  fuse::FusedConv stem;
  std::vector<Block> blocks;
};

IResNet::~IResNet() = default;

std::unique_ptr<IResNet::Engine> IResNet::build_engine() const {
  using fuse::Activation;
  auto e = std::make_unique<Engine>();
  fuse::ConvParts stem{conv1.get(), nullptr, bn1.get(), 1.0, Activation::PReLU, prelu.get()};
  if (!fuse::FusedConv::supported(stem)) return nullptr;
  e->stem = fuse::FusedConv(stem);
  for (const auto& layer : {layer1, layer2, layer3, layer4}) {
    for (const auto& [name, m] : layer->named_children()) {
      const auto* b = dynamic_cast<const IBasicBlock*>(m.get());
      if (!b) return nullptr;
      fuse::ConvParts c1{b->conv1.get(), b->bn1.get(), b->bn2.get(), 1.0, Activation::PReLU, b->prelu.get()};
      fuse::ConvParts c2{b->conv2.get(), nullptr, b->bn3.get()};
      if (!fuse::FusedConv::supported(c1) || !fuse::FusedConv::supported(c2)) return nullptr;
      Engine::Block eb;
      eb.conv1 = fuse::FusedConv(c1);
      eb.conv2 = fuse::FusedConv(c2);
      if (!fuse::fuse_shortcut(b->downsample.get(), eb.downsample, eb.has_downsample)) return nullptr;
      e->blocks.push_back(std::move(eb));
    }
  }
  return e;
}

Tensor IResNet::forward(const Tensor& x) {
  if (fuse::engine_applies(*this, x)) {
    if (const Engine* e = plan_.get([&] { return build_engine(); })) {
      BlockedTensor y = e->stem(to_blocked(x));
      for (const auto& b : e->blocks) {
        BlockedTensor t = b.conv1(y);
        BlockedTensor identity = b.has_downsample ? b.downsample(y) : y;
        y = b.conv2(t, &identity);
      }
      Tensor f = flatten((*bn2)(to_nchw(y)), 1);
      return (*features)((*fc)((*dropout)(f)));
    }
  }
  Tensor y = batch_norm_activation(*bn1, *prelu, (*conv1)(x));
  y = (*layer4)((*layer3)((*layer2)((*layer1)(y))));
  y = flatten((*bn2)(y), 1);
  return (*features)((*fc)((*dropout)(y)));
}

NamedOutputs IResNet::forward_outputs(const Tensor& x) { return {{"embedding", forward(x)}}; }

void add_iresnet_archs(std::vector<ArchInfo>& out) {
  auto entry = [&](const std::string& name, const std::array<int64_t, 4>& layers) {
    ArchInfo a;
    a.name = name;
    a.description = "insightface arcface_torch " + name + " (IBasicBlocks [" + std::to_string(layers[0]) + "," +
                    std::to_string(layers[1]) + "," + std::to_string(layers[2]) + "," + std::to_string(layers[3]) +
                    "]), 112x112 -> 512-d embedding";
    a.channels = 3;
    a.height = a.width = 112;
    a.preprocessing = "RGB, (x / 255 - 0.5) / 0.5";  // arcface_torch inference.py, models.md section 6
    a.make = [layers](const ArchOptions&) -> std::shared_ptr<Model> { return std::make_shared<IResNet>(layers); };
    out.push_back(std::move(a));
  };
  entry("iresnet18", {2, 2, 2, 2});
  entry("iresnet34", {3, 4, 6, 3});
  entry("iresnet50", {3, 4, 14, 3});
  entry("iresnet100", {3, 13, 30, 3});
}

}  // namespace fk::models
