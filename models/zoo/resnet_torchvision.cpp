// torchvision's ResNet-50 with the KIT heads (see resnet_torchvision.h) and its zoo entry.
// Tests: tests/models/zoo/test_resnet_torchvision.cpp.
#include "models/zoo/resnet_torchvision.h"

#include "tensor/error.h"

namespace fk::models {

TorchvisionBottleneck::TorchvisionBottleneck(int64_t inplanes, int64_t planes, int64_t stride,
                                             std::shared_ptr<Sequential> downsample_) {
  // Conv2d(in, out, kernel, stride, padding, dilation, groups, bias)
  conv1 = register_module("conv1", std::make_shared<Conv2d>(inplanes, planes, 1, 1, 0, 1, 1, false));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(planes));
  conv2 = register_module("conv2", std::make_shared<Conv2d>(planes, planes, 3, stride, 1, 1, 1, false));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(planes));
  conv3 = register_module("conv3", std::make_shared<Conv2d>(planes, planes * expansion, 1, 1, 0, 1, 1, false));
  bn3 = register_module("bn3", std::make_shared<BatchNorm2d>(planes * expansion));
  relu = register_module("relu", std::make_shared<ReLU>(true));
  if (downsample_) downsample = register_module("downsample", std::move(downsample_));
}

Tensor TorchvisionBottleneck::forward(const Tensor& x) {
  Tensor identity = downsample ? (*downsample)(x) : x;
  Tensor out = (*relu)((*bn1)((*conv1)(x)));
  out = (*relu)((*bn2)((*conv2)(out)));
  out = (*bn3)((*conv3)(out));
  return (*relu)(add(out, identity));
}

namespace {

// torchvision's ResNet._make_layer: `blocks` bottlenecks of width `planes`; the first one takes the
// stride and, when the shape changes, a 1x1-conv + BN shortcut. `inplanes` becomes the output width.
std::shared_ptr<Sequential> make_layer(int64_t& inplanes, int64_t planes, int64_t blocks, int64_t stride) {
  const int64_t out_channels = planes * TorchvisionBottleneck::expansion;
  std::shared_ptr<Sequential> downsample;
  if (stride != 1 || inplanes != out_channels)
    downsample = std::make_shared<Sequential>(
        std::make_shared<Conv2d>(inplanes, out_channels, 1, stride, 0, 1, 1, false),
        std::make_shared<BatchNorm2d>(out_channels));
  auto layer = std::make_shared<Sequential>();
  layer->push_back(std::make_shared<TorchvisionBottleneck>(inplanes, planes, stride, downsample));
  inplanes = out_channels;
  for (int64_t i = 1; i < blocks; ++i)
    layer->push_back(std::make_shared<TorchvisionBottleneck>(inplanes, planes, 1, nullptr));
  return layer;
}

// The module stored as `fc` for each head (names are the KIT notebooks' OrderedDict keys).
std::shared_ptr<Module> make_head(const std::string& head, int64_t in_features, int64_t num_classes) {
  if (head == "fc") return std::make_shared<Linear>(in_features, num_classes);
  if (head == "linear")
    return std::make_shared<Sequential>(NamedModules{{"fc", std::make_shared<Linear>(in_features, num_classes)},
                                                     {"output", std::make_shared<LogSoftmax>(1)}});
  if (head == "mlp")
    return std::make_shared<Sequential>(NamedModules{{"fc1", std::make_shared<Linear>(in_features, 1024)},
                                                     {"relu", std::make_shared<ReLU>()},
                                                     {"dropout", std::make_shared<Dropout>(0.2)},
                                                     {"fc2", std::make_shared<Linear>(1024, num_classes)},
                                                     {"output", std::make_shared<LogSoftmax>(1)}});
  throw Error("resnet50_torchvision: unknown head '" + head + "' (expected fc, linear or mlp)");
}

}  // namespace

TorchvisionResNet50::TorchvisionResNet50(const std::string& head_, int64_t num_classes_)
    : head(head_), num_classes(num_classes_) {
  FK_CHECK(num_classes > 0, "resnet50_torchvision: num_classes must be positive, got ", num_classes);
  conv1 = register_module("conv1", std::make_shared<Conv2d>(3, 64, 7, 2, 3, 1, 1, false));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(64));
  relu = register_module("relu", std::make_shared<ReLU>(true));
  maxpool = register_module("maxpool", std::make_shared<MaxPool2d>(3, 2, 1));
  int64_t inplanes = 64;
  layer1 = register_module("layer1", make_layer(inplanes, 64, 3, 1));
  layer2 = register_module("layer2", make_layer(inplanes, 128, 4, 2));
  layer3 = register_module("layer3", make_layer(inplanes, 256, 6, 2));
  layer4 = register_module("layer4", make_layer(inplanes, 512, 3, 2));
  avgpool = register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>(Int2(1, 1)));
  fc = register_module("fc", make_head(head, 512 * TorchvisionBottleneck::expansion, num_classes));
}

Tensor TorchvisionResNet50::forward(const Tensor& x) {
  FK_CHECK(x.dim() == 4 && x.shape()[1] == 3, "resnet50_torchvision: expected input (N, 3, H, W), got ",
           shape_str(x.shape()));
  Tensor y = (*maxpool)((*relu)((*bn1)((*conv1)(x))));
  y = (*layer4)((*layer3)((*layer2)((*layer1)(y))));
  return (*fc)(flatten((*avgpool)(y), 1));
}

NamedOutputs TorchvisionResNet50::forward_outputs(const Tensor& x) { return {{"logits", forward(x)}}; }

void TorchvisionResNet50::freeze_backbone() {
  for (auto& [name, p] : named_parameters())
    if (name.rfind("fc.", 0) != 0) p.requires_grad_(false);
}

std::shared_ptr<TorchvisionResNet50> resnet50_torchvision(const ArchOptions& opts) {
  return std::make_shared<TorchvisionResNet50>(opts.head.empty() ? "fc" : opts.head,
                                               opts.num_classes > 0 ? opts.num_classes : 1000);
}

namespace {

// The head a checkpoint holds (from its "fc." keys) and its classifier size (the rows of its last
// Linear), for the options the user left at their defaults.
void infer_head(const StateDict& weights, ArchOptions& opts) {
  if (opts.head.empty()) {
    if (weights.contains("fc.fc1.weight")) opts.head = "mlp";
    else if (weights.contains("fc.fc.weight")) opts.head = "linear";
    else opts.head = "fc";
  }
  if (opts.num_classes == 0) {
    const std::string last = opts.head == "mlp" ? "fc.fc2.weight" : opts.head == "linear" ? "fc.fc.weight" : "fc.weight";
    if (weights.contains(last) && weights.at(last).dim() == 2) opts.num_classes = weights.at(last).shape()[0];
  }
}

}  // namespace

void add_resnet_torchvision_archs(std::vector<ArchInfo>& out) {
  ArchInfo a;
  a.name = "resnet50_torchvision";
  a.description = "torchvision ResNet-50 (ImageNet layout) with head fc, or the KIT face classifiers' linear/mlp heads";
  a.height = a.width = 224;
  a.preprocessing = "RGB, resize 224x224, x/255, minus mean (0.485, 0.456, 0.406), divided by std (0.229, 0.224, 0.225)";
  a.make = [](const ArchOptions& o) -> std::shared_ptr<Model> { return resnet50_torchvision(o); };
  a.infer_options = infer_head;
  out.push_back(a);
}

}  // namespace fk::models
