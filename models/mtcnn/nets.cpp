// MTCNN's PNet, RNet and ONet (see nets.h) and their zoo entries "pnet", "rnet", "onet".
// Each forward is facenet-pytorch's, layer by layer; the softmax modules softmax4_1 / 5_1 / 6_1 hold
// no weights, so they are the function fk::softmax here. Tests: tests/models/mtcnn/test_mtcnn_nets.cpp.
#include "models/mtcnn/nets.h"

#include <algorithm>

#include "tensor/cpu/conv_pool.h"

namespace fk::models {

namespace {

// MTCNN input normalisation (all three ports): x in 0..255 RGB
const char* const kPreprocessing = "RGB, (x - 127.5) * 0.0078125";

// Conv2d with bias, stride 1, no padding: the only kind MTCNN uses
std::shared_ptr<Conv2d> conv(int64_t in, int64_t out, int64_t k) { return std::make_shared<Conv2d>(in, out, k); }

// MaxPool2d(k, s, ceil_mode=True): a partial window at the bottom / right edge still gives an output
std::shared_ptr<MaxPool2d> ceil_pool(int64_t k, int64_t s) { return std::make_shared<MaxPool2d>(k, s, 0, 1, true); }

void check_image_batch(const char* net, const Tensor& x) {
  FK_CHECK(x.dim() == 4 && x.size(1) == 3, net, ": expected an RGB batch (N, 3, H, W), got ", shape_str(x.shape()));
}

// RNet and ONet end in a Linear layer sized for a 3x3 map, i.e. for crops of exactly `size` x `size`.
// (PyTorch would also run a few sizes just above, which ceil-mode pooling maps to 3x3 as well; the
// nets were trained on one size only, so anything else is refused.)
void check_crop_batch(const char* net, const Tensor& x, int64_t size) {
  check_image_batch(net, x);
  FK_CHECK(x.size(2) == size && x.size(3) == size, net, " takes ", size, "x", size, " crops, got ",
           shape_str(x.shape()));
}

// The flatten-order quirk of facenet-pytorch: x.permute(0, 3, 2, 1) then view(N, -1), so the Linear
// input index of map element (c, h, w) is (w * H + h) * C + c.
Tensor flatten_nwhc(const Tensor& map) { return flatten(permute(map, {0, 3, 2, 1}), 1); }

// ---- the inference engine's form of the three trunks: conv + PReLU as one FusedConv, then the
// ceil-mode max pool (if any) on the blocked layout
struct Stage {
  fuse::FusedConv conv;
  int64_t pool_k = 0, pool_s = 0;  // no pool when 0
  bool pool_ceil = false;
};

// One stage, or false when the engine cannot run it (then the net keeps its module path).
bool add_stage(std::vector<Stage>& stages, const Conv2d& conv, const PReLU& prelu, const MaxPool2d* pool,
               bool winograd = true) {
  fuse::ConvParts parts{&conv, nullptr, nullptr, 1.0, fuse::Activation::PReLU, &prelu, winograd};
  if (!fuse::FusedConv::supported(parts)) return false;
  Stage st;
  st.conv = fuse::FusedConv(parts);
  if (pool) {
    if (!pool->kernel_size.all_equal(pool->kernel_size[0]) || !pool->stride.all_equal(pool->stride[0]) ||
        !pool->padding.all_equal(0) || !pool->dilation.all_equal(1))
      return false;
    st.pool_k = pool->kernel_size[0];
    st.pool_s = pool->stride[0];
    st.pool_ceil = pool->ceil_mode;
  }
  stages.push_back(std::move(st));
  return true;
}

BlockedTensor run_stages(const std::vector<Stage>& stages, BlockedTensor y) {
  for (const Stage& st : stages) {
    y = st.conv(y);
    if (st.pool_k > 0) y = max_pool2d(y, st.pool_k, st.pool_s, 0, st.pool_ceil);
  }
  return y;
}

}  // namespace

struct MtcnnTrunk {
  std::vector<Stage> trunk;
};

// ---- PNet

PNet::PNet() {
  conv1 = register_module("conv1", conv(3, 10, 3));
  prelu1 = register_module("prelu1", std::make_shared<PReLU>(10));
  pool1 = register_module("pool1", ceil_pool(2, 2));
  conv2 = register_module("conv2", conv(10, 16, 3));
  prelu2 = register_module("prelu2", std::make_shared<PReLU>(16));
  conv3 = register_module("conv3", conv(16, 32, 3));
  prelu3 = register_module("prelu3", std::make_shared<PReLU>(32));
  conv4_1 = register_module("conv4_1", conv(32, 2, 1));
  conv4_2 = register_module("conv4_2", conv(32, 4, 1));
}

struct PNet::Engine {
  // conv1 + prelu1 + pool1 in one pass from the planar input (tensor/cpu/conv_pool.h)
  cpu::ConvPoolGeometry stem;
  std::vector<float> stem_w, stem_bias, stem_slope;
  std::vector<Stage> trunk;   // conv2, conv3
  fuse::FusedConv prob, reg;  // the two 1x1 heads
};

PNet::~PNet() = default;

std::unique_ptr<PNet::Engine> PNet::build_engine() const {
  auto e = std::make_unique<Engine>();
  auto cpu_f32 = [](const Tensor& t) { return t.defined() && t.dtype() == DType::Float32 && t.device().is_cpu(); };
  const Conv2d& c1 = *conv1;
  if (!cpu_f32(c1.weight) || !cpu_f32(c1.bias) || !cpu_f32(prelu1->weight) || c1.out_channels > 16 ||
      prelu1->weight.numel() != c1.out_channels || !c1.kernel_size.all_equal(c1.kernel_size[0]) ||
      !c1.stride.all_equal(1) || !c1.padding.all_equal(0) || !c1.dilation.all_equal(1) || c1.groups != 1 ||
      !pool1->kernel_size.all_equal(2) || !pool1->stride.all_equal(2) || !pool1->padding.all_equal(0) ||
      !pool1->ceil_mode)
    return nullptr;
  e->stem.C = c1.in_channels;
  e->stem.K = c1.kernel_size[0];
  e->stem.OC = c1.out_channels;
  e->stem_w.resize(size_t(e->stem.C * e->stem.K * e->stem.K * 16));
  cpu::pack_conv_pool_weights(e->stem, c1.weight.contiguous().data<float>(), e->stem_w.data());
  e->stem_bias.assign(16, 0.0f);
  e->stem_slope.assign(16, 0.0f);
  const Tensor b = c1.bias.contiguous(), a = prelu1->weight.contiguous();
  std::copy(b.data<float>(), b.data<float>() + e->stem.OC, e->stem_bias.begin());
  std::copy(a.data<float>(), a.data<float>() + e->stem.OC, e->stem_slope.begin());
  if (!add_stage(e->trunk, *conv2, *prelu2, nullptr, false) || !add_stage(e->trunk, *conv3, *prelu3, nullptr, false))
    return nullptr;
  const fuse::ConvParts prob{conv4_1.get()}, reg{conv4_2.get()};
  if (!fuse::FusedConv::supported(prob) || !fuse::FusedConv::supported(reg)) return nullptr;
  e->prob = fuse::FusedConv(prob);
  e->reg = fuse::FusedConv(reg);
  return e;
}

PNet::Heads PNet::heads(const Tensor& x) {
  check_image_batch("PNet", x);
  FK_CHECK(x.size(2) >= 12 && x.size(3) >= 12, "PNet: input must be at least 12x12 (its window), got ",
           shape_str(x.shape()));
  if (fuse::engine_applies(*this, x)) {
    if (const Engine* e = plan_.get([&] { return build_engine(); })) {
      const Tensor xc = x.contiguous();
      cpu::ConvPoolGeometry g = e->stem;
      g.N = xc.size(0);
      g.H = xc.size(2);
      g.W = xc.size(3);
      BlockedTensor pooled = empty_blocked(g.N, g.OC, g.pooled_h(), g.pooled_w());
      cpu::conv_prelu_maxpool2(g, xc.data<float>(), e->stem_w.data(), e->stem_bias.data(), e->stem_slope.data(),
                               pooled.mutable_ptr());
      const BlockedTensor h = run_stages(e->trunk, pooled);
      return {softmax(to_nchw(e->prob(h)), 1), to_nchw(e->reg(h))};
    }
  }
  Tensor h = (*pool1)((*prelu1)((*conv1)(x)));  // (N, 10, ceil((H-2)/2), ceil((W-2)/2))
  h = (*prelu2)((*conv2)(h));                   // (N, 16, ., .)
  h = (*prelu3)((*conv3)(h));                   // (N, 32, h, w): one cell per 12x12 window
  return {softmax((*conv4_1)(h), 1), (*conv4_2)(h)};
}

NamedOutputs PNet::forward_outputs(const Tensor& x) {
  Heads out = heads(x);
  return {{"prob", out.prob}, {"reg", out.reg}};
}

// ---- RNet

RNet::RNet() {
  conv1 = register_module("conv1", conv(3, 28, 3));
  prelu1 = register_module("prelu1", std::make_shared<PReLU>(28));
  pool1 = register_module("pool1", ceil_pool(3, 2));
  conv2 = register_module("conv2", conv(28, 48, 3));
  prelu2 = register_module("prelu2", std::make_shared<PReLU>(48));
  pool2 = register_module("pool2", ceil_pool(3, 2));
  conv3 = register_module("conv3", conv(48, 64, 2));
  prelu3 = register_module("prelu3", std::make_shared<PReLU>(64));
  dense4 = register_module("dense4", std::make_shared<Linear>(576, 128));
  prelu4 = register_module("prelu4", std::make_shared<PReLU>(128));
  dense5_1 = register_module("dense5_1", std::make_shared<Linear>(128, 2));
  dense5_2 = register_module("dense5_2", std::make_shared<Linear>(128, 4));
}

RNet::~RNet() = default;

std::unique_ptr<MtcnnTrunk> RNet::build_engine() const {
  auto e = std::make_unique<MtcnnTrunk>();
  if (!add_stage(e->trunk, *conv1, *prelu1, pool1.get()) || !add_stage(e->trunk, *conv2, *prelu2, pool2.get()) ||
      !add_stage(e->trunk, *conv3, *prelu3, nullptr))
    return nullptr;
  return e;
}

RNet::Heads RNet::heads(const Tensor& x) {
  check_crop_batch("RNet", x, 24);
  const MtcnnTrunk* e = fuse::engine_applies(*this, x) ? plan_.get([&] { return build_engine(); }) : nullptr;
  Tensor h;
  if (e) {
    h = to_nchw(run_stages(e->trunk, to_blocked(x)));
  } else {
    h = (*pool1)((*prelu1)((*conv1)(x)));  // (N, 28, 11, 11) for 24x24
    h = (*pool2)((*prelu2)((*conv2)(h)));  // (N, 48, 4, 4)
    h = (*prelu3)((*conv3)(h));            // (N, 64, 3, 3)
  }
  h = (*prelu4)((*dense4)(flatten_nwhc(h)));  // (N, 128)
  return {softmax((*dense5_1)(h), 1), (*dense5_2)(h)};
}

NamedOutputs RNet::forward_outputs(const Tensor& x) {
  Heads out = heads(x);
  return {{"prob", out.prob}, {"reg", out.reg}};
}

// ---- ONet

ONet::ONet() {
  conv1 = register_module("conv1", conv(3, 32, 3));
  prelu1 = register_module("prelu1", std::make_shared<PReLU>(32));
  pool1 = register_module("pool1", ceil_pool(3, 2));
  conv2 = register_module("conv2", conv(32, 64, 3));
  prelu2 = register_module("prelu2", std::make_shared<PReLU>(64));
  pool2 = register_module("pool2", ceil_pool(3, 2));
  conv3 = register_module("conv3", conv(64, 64, 3));
  prelu3 = register_module("prelu3", std::make_shared<PReLU>(64));
  pool3 = register_module("pool3", ceil_pool(2, 2));
  conv4 = register_module("conv4", conv(64, 128, 2));
  prelu4 = register_module("prelu4", std::make_shared<PReLU>(128));
  dense5 = register_module("dense5", std::make_shared<Linear>(1152, 256));
  prelu5 = register_module("prelu5", std::make_shared<PReLU>(256));
  dense6_1 = register_module("dense6_1", std::make_shared<Linear>(256, 2));
  dense6_2 = register_module("dense6_2", std::make_shared<Linear>(256, 4));
  dense6_3 = register_module("dense6_3", std::make_shared<Linear>(256, 10));
}

ONet::~ONet() = default;

std::unique_ptr<MtcnnTrunk> ONet::build_engine() const {
  auto e = std::make_unique<MtcnnTrunk>();
  if (!add_stage(e->trunk, *conv1, *prelu1, pool1.get()) || !add_stage(e->trunk, *conv2, *prelu2, pool2.get()) ||
      !add_stage(e->trunk, *conv3, *prelu3, pool3.get()) || !add_stage(e->trunk, *conv4, *prelu4, nullptr))
    return nullptr;
  return e;
}

ONet::Heads ONet::heads(const Tensor& x) {
  check_crop_batch("ONet", x, 48);
  const MtcnnTrunk* e = fuse::engine_applies(*this, x) ? plan_.get([&] { return build_engine(); }) : nullptr;
  Tensor h;
  if (e) {
    h = to_nchw(run_stages(e->trunk, to_blocked(x)));
  } else {
    h = (*pool1)((*prelu1)((*conv1)(x)));  // (N, 32, 23, 23) for 48x48
    h = (*pool2)((*prelu2)((*conv2)(h)));  // (N, 64, 10, 10)
    h = (*pool3)((*prelu3)((*conv3)(h)));  // (N, 64, 4, 4)
    h = (*prelu4)((*conv4)(h));            // (N, 128, 3, 3)
  }
  h = (*prelu5)((*dense5)(flatten_nwhc(h)));  // (N, 256)
  return {softmax((*dense6_1)(h), 1), (*dense6_2)(h), (*dense6_3)(h)};
}

NamedOutputs ONet::forward_outputs(const Tensor& x) {
  Heads out = heads(x);
  return {{"prob", out.prob}, {"reg", out.reg}, {"landmarks", out.landmarks}};
}

// ---- zoo entries

void add_mtcnn_archs(std::vector<ArchInfo>& out) {
  ArchInfo pnet;
  pnet.name = "pnet";
  pnet.description = "MTCNN proposal net (facenet-pytorch PNet): face probability and box per 12x12 window";
  pnet.preprocessing = kPreprocessing;  // any size >= 12x12: height = width = 0
  pnet.make = [](const ArchOptions&) -> std::shared_ptr<Model> { return std::make_shared<PNet>(); };
  out.push_back(pnet);

  ArchInfo rnet;
  rnet.name = "rnet";
  rnet.description = "MTCNN refine net (facenet-pytorch RNet): face probability and box of a 24x24 crop";
  rnet.height = rnet.width = 24;
  rnet.preprocessing = kPreprocessing;
  rnet.make = [](const ArchOptions&) -> std::shared_ptr<Model> { return std::make_shared<RNet>(); };
  out.push_back(rnet);

  ArchInfo onet;
  onet.name = "onet";
  onet.description = "MTCNN output net (facenet-pytorch ONet): face probability, box and 5 landmarks of a 48x48 crop";
  onet.height = onet.width = 48;
  onet.preprocessing = kPreprocessing;
  onet.make = [](const ArchOptions&) -> std::shared_ptr<Model> { return std::make_shared<ONet>(); };
  out.push_back(onet);
}

}  // namespace fk::models
