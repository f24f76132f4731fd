// IR / IR-SE backbones (see irse.h) and their zoo entries ir_50, ir_se_50, ir_101.
// Tests: tests/models/zoo/test_irse.cpp.
#include "models/zoo/irse.h"

#include <array>

namespace fk::models {

BottleneckIR::BottleneckIR(int64_t in_channel, int64_t depth, int64_t stride, bool se_) : se(se_) {
  // registration order is the release's: shortcut_layer, then res_layer
  if (in_channel == depth) {
    // a 1x1 max pool with stride s is pure subsampling: keeps every s-th row and column
    shortcut_layer = register_module("shortcut_layer", std::make_shared<MaxPool2d>(1, stride));
  } else {
    shortcut_layer = register_module(
        "shortcut_layer",
        std::make_shared<Sequential>(std::make_shared<Conv2d>(in_channel, depth, Int2(1, 1), stride, 0, 1, 1, false),
                                     std::make_shared<BatchNorm2d>(depth)));
  }
  res_layer = register_module(
      "res_layer",
      std::make_shared<Sequential>(std::make_shared<BatchNorm2d>(in_channel),
                                   std::make_shared<Conv2d>(in_channel, depth, Int2(3, 3), Int2(1, 1), 1, 1, 1, false),
                                   std::make_shared<PReLU>(depth),
                                   std::make_shared<Conv2d>(depth, depth, Int2(3, 3), stride, 1, 1, 1, false),
                                   std::make_shared<BatchNorm2d>(depth)));
  if (se) res_layer->push_back(std::make_shared<SEModule>(depth, 16));
}

Tensor BottleneckIR::forward(const Tensor& x) {
  Tensor shortcut = (*shortcut_layer)(x);
  return res_layer->forward_add(x, shortcut);  // res_layer(x) + shortcut, the add fused in training
}

IRConfig IRConfig::release(int64_t input_size, int64_t num_layers, const std::string& mode) {
  IRConfig c;
  c.input_size = input_size;
  c.mode = mode;
  if (num_layers == 50) c.units = {3, 4, 14, 3};
  else if (num_layers == 100) c.units = {3, 13, 30, 3};
  else if (num_layers == 152) c.units = {3, 8, 36, 3};
  else FK_CHECK(false, "IR backbone: num_layers should be 50, 100 or 152, got ", num_layers);
  return c;
}

IRBackbone::IRBackbone(int64_t input_size, int64_t num_layers, const std::string& mode)
    : IRBackbone(IRConfig::release(input_size, num_layers, mode)) {}

IRBackbone::IRBackbone(const IRConfig& c) {
  FK_CHECK(c.input_size == 112 || c.input_size == 224, "IR backbone: input_size should be 112 or 224, got ", c.input_size);
  FK_CHECK(c.mode == "ir" || c.mode == "ir_se", "IR backbone: mode should be \"ir\" or \"ir_se\", got \"", c.mode, "\"");
  const int64_t stem = c.depths[0], last = c.depths[3];
  input_layer = register_module(
      "input_layer", std::make_shared<Sequential>(std::make_shared<Conv2d>(3, stem, Int2(3, 3), 1, 1, 1, 1, false),
                                                  std::make_shared<BatchNorm2d>(stem), std::make_shared<PReLU>(stem)));
  const int64_t side = c.input_size / 16;  // four stride-2 stages: 112 -> 7, 224 -> 14
  output_layer = register_module(
      "output_layer",
      std::make_shared<Sequential>(std::make_shared<BatchNorm2d>(last), std::make_shared<Dropout>(0.5),
                                   std::make_shared<Flatten>(), std::make_shared<Linear>(last * side * side, c.embedding),
                                   std::make_shared<BatchNorm1d>(c.embedding)));

  // get_blocks: per stage, one unit (in -> depth, stride 2) then units - 1 of (depth -> depth, stride 1)
  body = register_module("body", std::make_shared<Sequential>());
  int64_t in_channel = stem;
  for (size_t stage = 0; stage < 4; ++stage) {
    for (int64_t u = 0; u < c.units[stage]; ++u) {
      body->push_back(std::make_shared<BottleneckIR>(u == 0 ? in_channel : c.depths[stage], c.depths[stage],
                                                     u == 0 ? 2 : 1, c.mode == "ir_se"));
    }
    in_channel = c.depths[stage];
  }
}

// ---- the inference engine's form of the net: per unit, the first conv with res_layer's BatchNorm as its
// pre-op and PReLU in its epilogue; the second with its BatchNorm folded in and the shortcut added in
// its epilogue (with SE: the SE gate and the shortcut in one pass after it); the shortcut a strided
// subsampling or a 1x1 conv with its BatchNorm folded in.
struct IRBackbone::Engine {
  struct Unit {
    fuse::FusedConv conv1, conv2, shortcut_conv;
    bool shortcut_is_conv = false;
    int64_t subsample = 1;
    SEModule* se = nullptr;
  };
  fuse::FusedConv stem;
  std::vector<Unit> units;
};

IRBackbone::~IRBackbone() = default;

std::unique_ptr<IRBackbone::Engine> IRBackbone::build_engine() {
  using fuse::Activation;
  auto child = [](const Module& m, size_t i) { return m.named_children().at(i).second.get(); };  // NOLINT
  auto e = std::make_unique<Engine>();
  if (input_layer->named_children().size() != 3) return nullptr;
  fuse::ConvParts stem{dynamic_cast<const Conv2d*>(child(*input_layer, 0)), nullptr,
                       dynamic_cast<const BatchNorm2d*>(child(*input_layer, 1)), 1.0, Activation::PReLU,
                       dynamic_cast<const PReLU*>(child(*input_layer, 2))};
  if (!fuse::FusedConv::supported(stem)) return nullptr;
  e->stem = fuse::FusedConv(stem);
  for (const auto& [name, m] : body->named_children()) {
    const auto* u = dynamic_cast<const BottleneckIR*>(m.get());
    if (!u || u->res_layer->named_children().size() != (u->se ? 6u : 5u)) return nullptr;
    const Sequential& r = *u->res_layer;
    fuse::ConvParts c1{dynamic_cast<const Conv2d*>(child(r, 1)), dynamic_cast<const BatchNorm2d*>(child(r, 0)), nullptr,
                       1.0, Activation::PReLU, dynamic_cast<const PReLU*>(child(r, 2))};
    fuse::ConvParts c2{dynamic_cast<const Conv2d*>(child(r, 3)), nullptr, dynamic_cast<const BatchNorm2d*>(child(r, 4))};
    if (!fuse::FusedConv::supported(c1) || !fuse::FusedConv::supported(c2)) return nullptr;
    Engine::Unit eu;
    eu.conv1 = fuse::FusedConv(c1);
    eu.conv2 = fuse::FusedConv(c2);
    if (u->se) {
      eu.se = dynamic_cast<SEModule*>(child(r, 5));
      if (!eu.se) return nullptr;
    }
    if (const auto* pool = dynamic_cast<const MaxPool2d*>(u->shortcut_layer.get())) {
      if (pool->kernel_size[0] != 1 || pool->kernel_size[1] != 1 || pool->stride[0] != pool->stride[1] ||
          pool->padding[0] != 0 || pool->padding[1] != 0)
        return nullptr;
      eu.subsample = pool->stride[0];
    } else if (!fuse::fuse_shortcut(u->shortcut_layer.get(), eu.shortcut_conv, eu.shortcut_is_conv)) {
      return nullptr;
    }
    e->units.push_back(std::move(eu));
  }
  return e;
}

Tensor IRBackbone::forward(const Tensor& x) {
  if (fuse::engine_applies(*this, x)) {
    if (const Engine* e = plan_.get([&] { return build_engine(); })) {
      BlockedTensor y = e->stem(to_blocked(x));
      for (const auto& u : e->units) {
        BlockedTensor shortcut = u.shortcut_is_conv ? u.shortcut_conv(y)
                                 : u.subsample > 1  ? max_pool2d(y, 1, u.subsample, 0, false)
                                                    : y;
        BlockedTensor t = u.conv1(y);
        y = u.se ? fuse::squeeze_excite(u.conv2(t), *u.se, &shortcut) : u.conv2(t, &shortcut);
      }
      return (*output_layer)(to_nchw(y));
    }
  }
  return (*output_layer)((*body)((*input_layer)(x)));
}

NamedOutputs IRBackbone::forward_outputs(const Tensor& x) { return {{"embedding", forward(x)}}; }

void add_irse_archs(std::vector<ArchInfo>& out) {
  // egcode's apps feed 112x112 RGB crops as (x - 127.5) / 128 (its training used (x/255 - 0.5)/0.5,
  // nearly the same); models.md section 6
  const std::string prep = "RGB, (x - 127.5) / 128";
  auto entry = [&](const std::string& name, const std::string& description, int64_t num_layers, const std::string& mode) {
    ArchInfo a;
    a.name = name;
    a.description = description;
    a.channels = 3;
    a.height = a.width = 112;
    a.preprocessing = prep;
    a.make = [num_layers, mode](const ArchOptions&) -> std::shared_ptr<Model> {
      return std::make_shared<IRBackbone>(112, num_layers, mode);
    };
    out.push_back(std::move(a));
  };
  entry("ir_50", "IR-50 ArcFace backbone (face.evoLVe/egcode irse.py IR_50), 112x112 -> 512-d embedding", 50, "ir");
  entry("ir_se_50", "IR-SE-50: IR-50 with squeeze-and-excitation in every unit, 112x112 -> 512-d embedding", 50,
        "ir_se");
  ArchInfo small;
  small.name = "ir_small";
  small.description = "facekit's small IR-SE net for quick CPU training (units [1,1,1,1], 16/32/64/128 channels), "
                      "112x112 -> 128-d embedding";
  small.channels = 3;
  small.height = small.width = 112;
  small.preprocessing = prep;
  small.make = [](const ArchOptions&) -> std::shared_ptr<Model> {
    IRConfig c;
    c.units = {1, 1, 1, 1};
    c.depths = {16, 32, 64, 128};
    c.embedding = 128;
    c.mode = "ir_se";
    return std::make_shared<IRBackbone>(c);
  };
  out.push_back(small);
  entry("ir_101", "IR-101 ArcFace backbone (irse.py IR_101, units [3,13,30,3]), 112x112 -> 512-d embedding", 100,
        "ir");
}

}  // namespace fk::models
