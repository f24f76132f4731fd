// IR / IR-SE backbones (see irse.h) and their zoo entries ir_50, ir_se_50, ir_101.
// Tests: tests/models/test_irse.cpp.
#include "models/irse.h"

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
  Tensor res = (*res_layer)(x);
  return add(res, shortcut);
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

Tensor IRBackbone::forward(const Tensor& x) { return (*output_layer)((*body)((*input_layer)(x))); }

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
