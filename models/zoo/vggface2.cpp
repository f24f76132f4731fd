// The VGGFace2 ResNet-50 and SE-ResNet-50 (see vggface2.h) and their zoo entries.
// Tests: tests/models/zoo/test_vggface2.cpp.
#include "models/zoo/vggface2.h"

#include "tensor/error.h"

namespace fk::models {

CaffeBottleneck::CaffeBottleneck(int64_t inplanes, int64_t planes, int64_t stride,
                                 std::shared_ptr<Sequential> downsample_, bool squeeze_excite) {
  // Conv2d(in, out, kernel, stride, padding, dilation, groups, bias)
  conv1 = register_module("conv1", std::make_shared<Conv2d>(inplanes, planes, 1, stride, 0, 1, 1, false));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(planes));
  conv2 = register_module("conv2", std::make_shared<Conv2d>(planes, planes, 3, 1, 1, 1, 1, false));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(planes));
  conv3 = register_module("conv3", std::make_shared<Conv2d>(planes, planes * expansion, 1, 1, 0, 1, 1, false));
  bn3 = register_module("bn3", std::make_shared<BatchNorm2d>(planes * expansion));
  relu = register_module("relu", std::make_shared<ReLU>(true));
  if (downsample_) downsample = register_module("downsample", std::move(downsample_));
  if (squeeze_excite) {
    // registered after downsample, as in senet.py, which fixes the state-dict order
    const int64_t channels = planes * expansion, reduced = channels / 16;  // compress_rate 16
    conv4 = register_module("conv4", std::make_shared<Conv2d>(channels, reduced, 1, 1, 0, 1, 1, true));
    conv5 = register_module("conv5", std::make_shared<Conv2d>(reduced, channels, 1, 1, 0, 1, 1, true));
    sigmoid = register_module("sigmoid", std::make_shared<Sigmoid>());
  }
}

Tensor CaffeBottleneck::forward(const Tensor& x) {
  Tensor residual = downsample ? (*downsample)(x) : x;
  Tensor out = (*relu)((*bn1)((*conv1)(x)));
  out = (*relu)((*bn2)((*conv2)(out)));
  out = (*bn3)((*conv3)(out));
  if (conv4) {
    // senet.py: F.avg_pool2d(out, kernel_size=out.size(2)), a global average for square maps
    Pool2dOptions global;
    global.kernel = {out.shape()[2], out.shape()[2]};
    Tensor gate = avg_pool2d(out, global);
    gate = (*sigmoid)((*conv5)((*relu)((*conv4)(gate))));
    out = mul(gate, out);
  }
  return (*relu)(add(out, residual));
}

namespace {

// resnet.py `_make_layer`: `blocks` bottlenecks of width `planes`; the first one takes the stride and,
// when the shape changes, a 1x1-conv + BN shortcut. `inplanes` is updated to the stage's output width.
std::shared_ptr<Sequential> make_layer(int64_t& inplanes, int64_t planes, int64_t blocks, int64_t stride,
                                       bool squeeze_excite) {
  const int64_t out_channels = planes * CaffeBottleneck::expansion;
  std::shared_ptr<Sequential> downsample;
  if (stride != 1 || inplanes != out_channels)
    downsample = std::make_shared<Sequential>(
        std::make_shared<Conv2d>(inplanes, out_channels, 1, stride, 0, 1, 1, false),
        std::make_shared<BatchNorm2d>(out_channels));
  auto layer = std::make_shared<Sequential>();
  layer->push_back(std::make_shared<CaffeBottleneck>(inplanes, planes, stride, downsample, squeeze_excite));
  inplanes = out_channels;
  for (int64_t i = 1; i < blocks; ++i)
    layer->push_back(std::make_shared<CaffeBottleneck>(inplanes, planes, 1, nullptr, squeeze_excite));
  return layer;
}

}  // namespace

VGGFace2ResNet::VGGFace2ResNet(bool squeeze_excite_, int64_t num_classes_, bool include_top_)
    : squeeze_excite(squeeze_excite_), num_classes(num_classes_), include_top(include_top_) {
  FK_CHECK(num_classes > 0, "VGGFace2 ResNet: num_classes must be positive, got ", num_classes);
  conv1 = register_module("conv1", std::make_shared<Conv2d>(3, 64, 7, 2, 3, 1, 1, false));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(64));
  relu = register_module("relu", std::make_shared<ReLU>(true));
  // MaxPool2d(kernel, stride, padding, dilation, ceil_mode): Caffe's pooling rounds up
  maxpool = register_module("maxpool", std::make_shared<MaxPool2d>(3, 2, 0, 1, true));
  int64_t inplanes = 64;
  layer1 = register_module("layer1", make_layer(inplanes, 64, 3, 1, squeeze_excite));
  layer2 = register_module("layer2", make_layer(inplanes, 128, 4, 2, squeeze_excite));
  layer3 = register_module("layer3", make_layer(inplanes, 256, 6, 2, squeeze_excite));
  layer4 = register_module("layer4", make_layer(inplanes, 512, 3, 2, squeeze_excite));
  avgpool = register_module("avgpool", std::make_shared<AvgPool2d>(7, 1));
  fc = register_module("fc", std::make_shared<Linear>(512 * CaffeBottleneck::expansion, num_classes));
}

// ---- the inference engine's form of the ResNet: per bottleneck, conv1 and conv2 with their BatchNorm
// folded in and ReLU in the epilogue, conv3 with bn3 folded in and relu(acc + shortcut) in its
// epilogue, the downsample conv with its BatchNorm folded in.
struct VGGFace2ResNet::Engine {
  struct Block {
    fuse::FusedConv conv1, conv2, conv3, downsample;
    bool has_downsample = false;
  };
  fuse::FusedConv stem;
  std::vector<Block> blocks;
};

VGGFace2ResNet::~VGGFace2ResNet() = default;

std::unique_ptr<VGGFace2ResNet::Engine> VGGFace2ResNet::build_engine() const {
  using fuse::Activation;
  if (squeeze_excite) return nullptr;
  auto e = std::make_unique<Engine>();
  fuse::ConvParts stem{conv1.get(), nullptr, bn1.get(), 1.0, Activation::ReLU};
  if (!fuse::FusedConv::supported(stem)) return nullptr;
  e->stem = fuse::FusedConv(stem);
  for (const auto& layer : {layer1, layer2, layer3, layer4}) {
    for (const auto& [name, m] : layer->named_children()) {
      const auto* b = dynamic_cast<const CaffeBottleneck*>(m.get());
      if (!b || b->conv4) return nullptr;
      fuse::ConvParts c1{b->conv1.get(), nullptr, b->bn1.get(), 1.0, Activation::ReLU};
      fuse::ConvParts c2{b->conv2.get(), nullptr, b->bn2.get(), 1.0, Activation::ReLU};
      fuse::ConvParts c3{b->conv3.get(), nullptr, b->bn3.get(), 1.0, Activation::ReLU};
      if (!fuse::FusedConv::supported(c1) || !fuse::FusedConv::supported(c2) || !fuse::FusedConv::supported(c3))
        return nullptr;
      Engine::Block eb;
      eb.conv1 = fuse::FusedConv(c1);
      eb.conv2 = fuse::FusedConv(c2);
      eb.conv3 = fuse::FusedConv(c3);
      if (!fuse::fuse_shortcut(b->downsample.get(), eb.downsample, eb.has_downsample)) return nullptr;
      e->blocks.push_back(std::move(eb));
    }
  }
  return e;
}

Tensor VGGFace2ResNet::features(const Tensor& x) {
  FK_CHECK(x.dim() == 4 && x.shape()[1] == 3, type_name(), ": expected input (N, 3, 224, 224), got ",
           shape_str(x.shape()));
  if (fuse::engine_applies(*this, x) && maxpool->kernel_size.all_equal(3) && maxpool->stride.all_equal(2) &&
      maxpool->padding.all_equal(0) && maxpool->dilation.all_equal(1)) {
    if (const Engine* e = plan_.get([&] { return build_engine(); })) {
      BlockedTensor y = max_pool2d(e->stem(to_blocked(x)), 3, 2, 0, maxpool->ceil_mode);
      for (const auto& b : e->blocks) {
        BlockedTensor shortcut = b.has_downsample ? b.downsample(y) : y;
        y = b.conv3(b.conv2(b.conv1(y)), &shortcut);
      }
      FK_CHECK(y.H() == 7 && y.W() == 7, type_name(), ": input ", shape_str(x.shape()), " gives a ", y.H(), "x", y.W(),
               " map before the fixed 7x7 average pool; use 224x224 input");
      return flatten((*avgpool)(to_nchw(y)), 1);
    }
  }
  Tensor y = (*maxpool)((*relu)((*bn1)((*conv1)(x))));
  y = (*layer4)((*layer3)((*layer2)((*layer1)(y))));
  // the fixed 7x7 pool then the flatten only give 2048 values for a 7x7 map
  FK_CHECK(y.shape()[2] == 7 && y.shape()[3] == 7, type_name(), ": input ", shape_str(x.shape()), " gives a ",
           y.shape()[2], "x", y.shape()[3], " map before the fixed 7x7 average pool; use 224x224 input");
  return flatten((*avgpool)(y), 1);
}

Tensor VGGFace2ResNet::forward(const Tensor& x) {
  Tensor f = features(x);
  return include_top ? (*fc)(f) : f;
}

NamedOutputs VGGFace2ResNet::forward_outputs(const Tensor& x) {
  return {{include_top ? "logits" : "features", forward(x)}};
}

namespace {

std::shared_ptr<VGGFace2ResNet> make_vggface2(bool squeeze_excite, const ArchOptions& opts) {
  return std::make_shared<VGGFace2ResNet>(squeeze_excite, opts.num_classes > 0 ? opts.num_classes : 8631,
                                          !opts.features);
}

// The classifier size of a checkpoint: the rows of fc.weight.
void infer_num_classes(const StateDict& weights, ArchOptions& opts) {
  if (opts.num_classes == 0 && weights.contains("fc.weight") && weights.at("fc.weight").dim() == 2)
    opts.num_classes = weights.at("fc.weight").shape()[0];
}

}  // namespace

std::shared_ptr<VGGFace2ResNet> resnet50_vggface2(const ArchOptions& opts) { return make_vggface2(false, opts); }
std::shared_ptr<VGGFace2ResNet> senet50_vggface2(const ArchOptions& opts) { return make_vggface2(true, opts); }

void add_vggface2_archs(std::vector<ArchInfo>& out) {
  const std::string preprocessing =
      "BGR, resize shorter side 256, centre crop 224, minus mean (B 91.4953, G 103.8827, R 131.0912), no scaling";
  ArchInfo resnet;
  resnet.name = "resnet50_vggface2";
  resnet.description = "VGGFace2 ResNet-50 (Caffe-style, 8631 identities; with features: the 2048-d pooled feature)";
  resnet.height = resnet.width = 224;
  resnet.preprocessing = preprocessing;
  resnet.make = [](const ArchOptions& o) -> std::shared_ptr<Model> { return resnet50_vggface2(o); };
  resnet.infer_options = infer_num_classes;
  out.push_back(resnet);

  ArchInfo senet = resnet;
  senet.name = "senet50_vggface2";
  senet.description = "VGGFace2 SE-ResNet-50 (Caffe-style, 8631 identities; with features: the 2048-d pooled feature)";
  senet.make = [](const ArchOptions& o) -> std::shared_ptr<Model> { return senet50_vggface2(o); };
  out.push_back(senet);
}

}  // namespace fk::models
