// MTCNN's PNet, RNet, ONet (models/mtcnn/nets.h) against PyTorch (tests/fixtures/make_mtcnn_nets.py,
// fixtures in tests/fixtures/mtcnn_nets/): state-dict keys, shapes and parameter counts; outputs and
// gradients with deterministic weights (model_case.h); the published facenet-pytorch weights (legacy
// and zip copies in ../shared/data/mtcnn) loaded strictly and run on crops of a real face photo.
#include <doctest/doctest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "data/formats/weights.h"
#include "models/model_case.h"
#include "models/mtcnn/nets.h"

using namespace fk;

namespace {

std::shared_ptr<models::Model> make_net(const std::string& name) { return models::create(name); }

// <net>_state_dict.txt: "num_parameters N", then one "key d0 d1 ..." line per state-dict entry
struct TorchListing {
  int64_t num_parameters = 0;
  std::vector<std::pair<std::string, Shape>> entries;
};

TorchListing read_listing(const std::string& net) {
  std::ifstream f(test::fixture_path("mtcnn_nets/" + net + "_state_dict.txt"));
  REQUIRE_MESSAGE(f.good(), "missing fixture mtcnn_nets/" << net << "_state_dict.txt");
  TorchListing out;
  std::string line, word;
  std::getline(f, line);
  std::istringstream(line) >> word >> out.num_parameters;
  while (std::getline(f, line)) {
    std::istringstream is(line);
    std::string key;
    is >> key;
    Shape shape;
    for (int64_t d; is >> d;) shape.push_back(d);
    out.entries.emplace_back(key, shape);
  }
  return out;
}

// The value of `name` in a model's named outputs
Tensor output(const models::NamedOutputs& outs, const std::string& name) {
  for (const auto& [n, t] : outs)
    if (n == name) return t;
  FAIL("no output named " << name);
  return Tensor();
}

bool throws_with(const std::function<void()>& f, const std::string& part) {
  try {
    f();
  } catch (const std::exception& e) {
    if (std::string(e.what()).find(part) != std::string::npos) return true;
    MESSAGE("message was: " << std::string(e.what()));
    return false;
  }
  return false;
}

}  // namespace

TEST_CASE("mtcnn nets: state-dict keys, shapes and parameter count are PyTorch's") {
  for (const std::string net : {"pnet", "rnet", "onet"}) {
    SUBCASE(net.c_str()) {
      TorchListing want = read_listing(net);
      auto model = make_net(net);
      CHECK(model->num_parameters() == want.num_parameters);
      auto sd = model->state_dict().items();
      REQUIRE_MESSAGE(sd.size() == want.entries.size(), net << ": " << sd.size() << " keys, PyTorch has " << want.entries.size());
      for (size_t i = 0; i < sd.size(); ++i) {
        CHECK_MESSAGE(sd[i].first == want.entries[i].first, net << " key " << i << ": " << sd[i].first << " vs " << want.entries[i].first);
        CHECK_MESSAGE(sd[i].second.shape() == want.entries[i].second,
                      net << " " << sd[i].first << ": " << shape_str(sd[i].second.shape()) << " vs " << shape_str(want.entries[i].second));
      }
    }
  }
}

TEST_CASE("mtcnn nets: the zoo entries") {
  const auto& p = models::find_architecture("pnet");
  CHECK(p.channels == 3);
  CHECK(p.height == 0);  // any size >= 12x12
  CHECK(p.width == 0);
  CHECK(p.preprocessing == "RGB, (x - 127.5) * 0.0078125");
  const auto& r = models::find_architecture("rnet");
  CHECK(r.height == 24);
  CHECK(r.width == 24);
  const auto& o = models::find_architecture("onet");
  CHECK(o.height == 48);
  CHECK(o.width == 48);
  CHECK(dynamic_cast<models::PNet*>(p.make({}).get()) != nullptr);
  CHECK(dynamic_cast<models::RNet*>(r.make({}).get()) != nullptr);
  CHECK(dynamic_cast<models::ONet*>(o.make({}).get()) != nullptr);
}

TEST_CASE("mtcnn nets: output names and shapes, forward returns prob") {
  autograd::NoGrad ng;
  SUBCASE("pnet: one cell per 12x12 window, stride 2, ceil-mode pooling") {
    models::PNet net;
    net.eval();
    // map size ceil((H - 2) / 2) - 4: 12 -> 1, 13 -> 2 (partial pool window kept), 37 -> 14, 50 -> 20
    for (auto [h, w, oh, ow] : std::vector<std::array<int64_t, 4>>{{12, 12, 1, 1}, {13, 12, 2, 1}, {37, 50, 14, 20}}) {
      auto outs = net.forward_outputs(randn({2, 3, h, w}));
      REQUIRE(outs.size() == 2);
      CHECK(outs[0].first == "prob");
      CHECK(outs[1].first == "reg");
      CHECK(outs[0].second.shape() == Shape{2, 2, oh, ow});
      CHECK(outs[1].second.shape() == Shape{2, 4, oh, ow});
    }
    Tensor x = randn({1, 3, 20, 30});
    CHECK_CLOSE(net.forward(x), net.heads(x).prob, 0.0, 0.0, "PNet forward vs heads().prob");
    Tensor s = sum(net.forward(x), {1});  // softmax over channels: the two sum to 1
    CHECK_CLOSE(s, ones(s.shape()), 1e-6, 0.0, "PNet prob sums over channels");
  }
  SUBCASE("rnet") {
    models::RNet net;
    auto outs = net.forward_outputs(randn({5, 3, 24, 24}));
    REQUIRE(outs.size() == 2);
    CHECK(outs[0].first == "prob");
    CHECK(outs[0].second.shape() == Shape{5, 2});
    CHECK(outs[1].first == "reg");
    CHECK(outs[1].second.shape() == Shape{5, 4});
  }
  SUBCASE("onet") {
    models::ONet net;
    Tensor x = randn({4, 3, 48, 48});
    auto outs = net.forward_outputs(x);
    REQUIRE(outs.size() == 3);
    CHECK(outs[0].first == "prob");
    CHECK(outs[0].second.shape() == Shape{4, 2});
    CHECK(outs[1].first == "reg");
    CHECK(outs[1].second.shape() == Shape{4, 4});
    CHECK(outs[2].first == "landmarks");
    CHECK(outs[2].second.shape() == Shape{4, 10});
    CHECK_CLOSE(net.forward(x), outs[0].second, 0.0, 0.0, "ONet forward vs prob");
  }
}

// What the detector's stage 1 relies on (models/mtcnn/detector.cpp): PNet's output rows [y0, y1) are PNet on
// input rows [2*y0, 2*y1 + 10) alone, exactly, for the engine's kernels; at the bottom the band
// stops at the input's last row (odd heights: the ceil-mode pool's partial window).
TEST_CASE("mtcnn nets: PNet on a band of input rows gives the band of output rows, exactly") {
  autograd::NoGrad ng;
  models::PNet net;
  net.eval();
  for (int64_t H : {61, 62}) {
    Tensor x = randn({1, 3, H, 45});
    const models::PNet::Heads whole = net.heads(x);
    const int64_t h = whole.prob.size(2);
    REQUIRE(h == (H - 1) / 2 - 4);
    for (auto [y0, y1] : std::vector<std::array<int64_t, 2>>{{0, 7}, {7, 16}, {16, h}, {h - 2, h}}) {
      const int64_t r1 = std::min(H, 2 * y1 + 10);
      const models::PNet::Heads band = net.heads(ops::slice(x, 2, 2 * y0, r1).contiguous());
      CAPTURE(H);
      CAPTURE(y0);
      REQUIRE(band.prob.size(2) == y1 - y0);
      CHECK_CLOSE(band.prob, ops::slice(whole.prob, 2, y0, y1), 0.0, 0.0, "PNet band prob");
      CHECK_CLOSE(band.reg, ops::slice(whole.reg, 2, y0, y1), 0.0, 0.0, "PNet band reg");
    }
  }
}

TEST_CASE("mtcnn nets: wrong input sizes name the net and the expected size") {
  models::PNet pnet;
  models::RNet rnet;
  models::ONet onet;
  CHECK(throws_with([&] { pnet.forward(zeros({1, 3, 11, 40})); }, "PNet: input must be at least 12x12"));
  CHECK(throws_with([&] { pnet.forward(zeros({3, 12, 12})); }, "PNet: expected an RGB batch (N, 3, H, W)"));
  CHECK(throws_with([&] { rnet.forward(zeros({1, 3, 30, 30})); }, "RNet takes 24x24 crops, got [1, 3, 30, 30]"));
  CHECK(throws_with([&] { onet.forward(zeros({1, 1, 48, 48})); }, "ONet: expected an RGB batch"));
  CHECK(throws_with([&] { onet.forward(zeros({1, 3, 24, 24})); }, "ONet takes 48x48 crops, got [1, 3, 24, 24]"));
}

TEST_CASE("mtcnn nets: match PyTorch with deterministic weights (eval, train, gradients)") {
  SUBCASE("pnet, batch 2 of 37x50 (odd sizes: ceil-mode pooling)") {
    test::check_model_case("mtcnn_nets/pnet_det", *make_net("pnet"), {"prelu1.weight", "conv4_1.bias"});
  }
  SUBCASE("rnet, batch 3") {
    test::check_model_case("mtcnn_nets/rnet_det", *make_net("rnet"), {"prelu1.weight", "dense5_1.bias"});
  }
  SUBCASE("onet, batch 3") {
    test::check_model_case("mtcnn_nets/onet_det", *make_net("onet"), {"prelu1.weight", "dense6_3.bias"});
  }
}

// The published weights on crops of test_images/kate_siegel/1.jpg: PNet on the head-and-shoulders
// square area-resized to 64x64; RNet (24x24) and ONet (48x48) on a batch of [the face, the face
// shifted by half its width, background].
TEST_CASE("mtcnn nets: published weights (legacy and zip files) load strictly and match PyTorch on a real face") {
  const std::string dir = std::string(FK_SHARED_DATA_DIR) + "/mtcnn";
  if (!std::filesystem::exists(dir + "/pnet.pt")) {
    FK_SKIP(dir << " not present (published MTCNN weights)");
  }
  for (const std::string net : {"pnet", "rnet", "onet"}) {
    for (const std::string& file : {dir + "/" + net + ".pt", dir + "/zip_format/" + net + ".pt"}) {
      CAPTURE(file);
      std::string format;
      StateDict sd = data::read_weights(file, &format);
      CHECK(format == (file.find("zip_format") == std::string::npos ? "torch-legacy" : "torch-zip"));
      auto model = make_net(net);
      model->load_state_dict(sd, /*strict=*/true);
      model->eval();
      autograd::NoGrad ng;
      const std::string fx = "mtcnn_nets/" + net + "_real/";
      auto outs = model->forward_outputs(test::fixture(fx + "input.npy"));
      for (const auto& [name, y] : outs) CHECK_SCALED(y, test::fixture(fx + "out_" + name + ".npy"), 1e-4, net + " real '" + name + "'");

      Tensor prob = output(outs, "prob");
      if (net == "pnet") {
        // the face lights up the probability map somewhere
        CHECK(max(select(prob, 1, 1)).item() > 0.9);
      } else {
        // PyTorch gives the face 0.999 (RNet) / 0.9997 (ONet), the shifted face and the background < 0.01
        auto p = select(prob, 1, 1).to_vector<double>();
        CHECK(p[0] > 0.9);
        CHECK(p[1] < 0.1);
        CHECK(p[2] < 0.1);
      }
    }
  }
}
