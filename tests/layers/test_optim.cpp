// Optimisers, learning-rate schedules and gradient clipping (layers/optim.h, layers/schedule.h)
// against torch.optim 1.13: parameters after each of five steps for SGD / Adam / AdamW variants
// (with a frozen parameter and one that never gets a gradient), LR sequences over 30 steps for every
// schedule, clip_grad_norm_ / clip_grad_value_; hand-worked updates; state_dict round trips mid-run
// (bit for bit) and refused mismatched loads; sgd_bn_groups on a small model.
// Fixtures: tests/fixtures/make_optim.py -> tests/fixtures/optim/optim.json.
#include <fstream>
#include <functional>
#include <limits>
#include <map>

#include <nlohmann/json.hpp>

#include "layers/layers.h"
#include "layers/optim.h"
#include "layers/schedule.h"
#include "test_util.h"

using namespace fk;
using namespace fk::optim;
using nlohmann::json;

namespace {

const json& fixture_json() {
  static const json j = [] {
    std::ifstream f(test::fixture_path("optim/optim.json"));
    REQUIRE_MESSAGE(f.good(), "missing fixture optim/optim.json (run tests/fixtures/make_optim.py)");
    return json::parse(f);
  }();
  return j;
}

Tensor from_json(const json& values, const Shape& shape, DType dtype) {
  return tensor(values.get<std::vector<double>>(), shape, dtype);
}

// The fixture's four parameters: w (3, 4) and b (4) are trained, `frozen` has requires_grad false,
// `idle` requires grad but never receives a gradient.
struct Params {
  Tensor w, b, frozen, idle;
  NamedTensors all() const { return {{"w", w}, {"b", b}, {"frozen", frozen}, {"idle", idle}}; }
  Tensor get(const std::string& name) const { return name == "w" ? w : name == "b" ? b : name == "frozen" ? frozen : idle; }
};

Params make_params(DType dtype) {
  const json& p = fixture_json()["params"];
  auto make = [&](const char* name) {
    return from_json(p[name]["values"], p[name]["shape"].get<std::vector<int64_t>>(), dtype);
  };
  Params ps{make("w"), make("b"), make("frozen"), make("idle")};
  ps.w.requires_grad_();
  ps.b.requires_grad_();
  ps.idle.requires_grad_();
  return ps;
}

// Gives w and b the fixture's gradient of step `i` (a fresh tensor, as torch's `p.grad = g.clone()`).
void set_grads(Params& ps, size_t i, DType dtype) {
  const json& g = fixture_json()["grads"][i];
  ps.w.set_grad(from_json(g["w"], ps.w.shape(), dtype));
  ps.b.set_grad(from_json(g["b"], ps.b.shape(), dtype));
}

using MakeOptimizer = std::function<std::unique_ptr<Optimizer>(const Params&)>;

// The configurations of make_optim.py's CONFIGS, built the facekit way.
std::map<std::string, MakeOptimizer> configs() {
  auto two_groups = [](const Params& p, double lr1, double wd1) {
    return std::vector<ParamGroup>{{{{"w", p.w}, {"frozen", p.frozen}}},
                                   {{{"b", p.b}, {"idle", p.idle}}, lr1, wd1}};
  };
  return {
      {"sgd_plain", [](const Params& p) { return std::make_unique<SGD>(p.all(), SGDOptions{.lr = 0.1}); }},
      {"sgd_momentum_dampening",
       [](const Params& p) {
         return std::make_unique<SGD>(p.all(), SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.1});
       }},
      {"sgd_nesterov_wd",
       [=](const Params& p) {
         return std::make_unique<SGD>(two_groups(p, 0.2, 0.0),
                                      SGDOptions{.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-2, .nesterov = true});
       }},
      {"adam",
       [=](const Params& p) {
         return std::make_unique<Adam>(two_groups(p, 2e-2, 0.0), AdamOptions{.lr = 1e-2, .beta1 = 0.5, .beta2 = 0.999,
                                                                              .eps = 1e-8, .weight_decay = 1e-3});
       }},
      {"adamw",
       [](const Params& p) { return std::make_unique<AdamW>(p.all(), AdamOptions{.lr = 1e-2, .weight_decay = 1e-2}); }},
      {"adam_amsgrad",
       [](const Params& p) {
         return std::make_unique<Adam>(p.all(), AdamOptions{.lr = 1e-2, .weight_decay = 1e-2, .amsgrad = true});
       }},
      {"adamw_amsgrad",
       [](const Params& p) {
         return std::make_unique<AdamW>(
             p.all(), AdamOptions{.lr = 1e-2, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.1, .amsgrad = true});
       }},
  };
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && a.to_vector<double>() == b.to_vector<double>();
}

// The message of the fk::Error that f throws ("" when it throws none).
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("optim: SGD with momentum, worked by hand") {
  Tensor p = tensor({1.0, -2.0}, {2}, DType::Float64).requires_grad_();
  SGD opt({{"p", p}}, SGDOptions{.lr = 0.1, .momentum = 0.9});
  // step 1: buf = g = (0.5, 1); p = (1 - 0.05, -2 - 0.1)
  p.set_grad(tensor({0.5, 1.0}, {2}, DType::Float64));
  opt.step();
  CHECK_CLOSE(p, tensor({0.95, -2.1}, {2}, DType::Float64), 1e-15, 0, "SGD step 1");
  // step 2: buf = 0.9*buf + g = (0.95, 1.9); p -= 0.1*buf
  opt.step();
  CHECK_CLOSE(p, tensor({0.855, -2.29}, {2}, DType::Float64), 1e-15, 0, "SGD step 2");
  CHECK_CLOSE(opt.state_dict().at("state.p.momentum_buffer"), tensor({0.95, 1.9}, {2}, DType::Float64), 1e-15, 0,
              "momentum buffer");
}

TEST_CASE("optim: Adam's first step moves each weight by lr against the gradient's sign") {
  // step 1: m/(1-b1) = g and sqrt(v/(1-b2)) = |g|, so p -= lr * g / (|g| + eps)
  Tensor p = tensor({1.0, -2.0, 3.0}, {3}, DType::Float64).requires_grad_();
  Adam opt({{"p", p}}, AdamOptions{.lr = 0.01, .eps = 0.0});
  p.set_grad(tensor({0.5, -4.0, 1e-3}, {3}, DType::Float64));
  opt.step();
  CHECK_CLOSE(p, tensor({0.99, -1.99, 2.99}, {3}, DType::Float64), 1e-14, 0, "Adam step 1");
  CHECK(opt.state_dict().at("state.p.step").item() == 1.0);
}

TEST_CASE("optim: updates match torch.optim step by step (float32)") {
  for (const auto& [name, make] : configs()) {
    SUBCASE(name.c_str()) {
      Params ps = make_params(DType::Float32);
      Params initial = make_params(DType::Float32);
      auto opt = make(ps);
      const json& expected = fixture_json()["optim"][name];
      REQUIRE(expected.size() == 5);
      for (size_t step = 0; step < 5; ++step) {
        opt->zero_grad();
        set_grads(ps, step, DType::Float32);
        opt->step();
        for (const char* pname : {"w", "b"}) {
          Tensor want = from_json(expected[step][pname], ps.get(pname).shape(), DType::Float32);
          CHECK_CLOSE(ps.get(pname), want, 1e-7, 1e-6, name + " step " + std::to_string(step + 1) + " " + pname);
        }
        // torch skips both (p.grad is None): they never move
        CHECK(bitwise_equal(ps.frozen, initial.frozen));
        CHECK(bitwise_equal(ps.idle, initial.idle));
      }
      // ... and get no state
      for (const auto& [key, t] : opt->state_dict()) {
        CHECK_MESSAGE(key.find("frozen") == std::string::npos, key);
        CHECK_MESSAGE(key.find("idle") == std::string::npos, key);
      }
    }
  }
}

TEST_CASE("optim: float64 parameters match torch.optim in float64") {
  auto all = configs();
  for (const std::string name : {"adam", "sgd_nesterov_wd"}) {
    SUBCASE(name.c_str()) {
      Params ps = make_params(DType::Float64);
      auto opt = all.at(name)(ps);
      const json& expected = fixture_json()["optim_float64"][name];
      for (size_t step = 0; step < 5; ++step) {
        set_grads(ps, step, DType::Float64);
        opt->step();
        for (const char* pname : {"w", "b"}) {
          Tensor want = from_json(expected[step][pname], ps.get(pname).shape(), DType::Float64);
          CHECK_CLOSE(ps.get(pname), want, 1e-15, 1e-12, name + " (float64) step " + std::to_string(step + 1));
        }
      }
    }
  }
}

TEST_CASE("optim: zero_grad zeroes gradients in place, set_to_none drops them") {
  Params ps = make_params(DType::Float32);
  SGD opt(ps.all(), SGDOptions{.lr = 0.1});
  set_grads(ps, 0, DType::Float32);
  Tensor g = ps.w.grad();
  opt.zero_grad();
  REQUIRE(ps.w.grad().defined());
  CHECK(ps.w.grad().impl() == g.impl());  // the same tensor, zeroed (torch's set_to_none=False)
  CHECK_CLOSE(ps.w.grad(), zeros({3, 4}), 0, 0, "zeroed grad");
  CHECK_FALSE(ps.idle.grad().defined());
  opt.zero_grad(/*set_to_none=*/true);
  CHECK_FALSE(ps.w.grad().defined());
}

TEST_CASE("optim: state_dict round trip mid-run continues bit for bit") {
  for (const auto& [name, make] : configs()) {
    SUBCASE(name.c_str()) {
      // uninterrupted: five steps
      Params a = make_params(DType::Float32);
      auto opt_a = make(a);
      // interrupted: two steps, checkpoint (parameters + optimiser), a fresh optimiser resumes
      Params b = make_params(DType::Float32);
      auto opt_b = make(b);
      for (size_t step = 0; step < 2; ++step) {
        set_grads(a, step, DType::Float32);
        opt_a->step();
        set_grads(b, step, DType::Float32);
        opt_b->step();
      }
      StateDict checkpoint = opt_b->state_dict();
      Params c = make_params(DType::Float32);
      for (const char* pname : {"w", "b"}) {
        Tensor dst = c.get(pname);
        std::memcpy(dst.raw_data(), b.get(pname).raw_data(), size_t(dst.numel()) * 4);
      }
      opt_b.reset();  // the checkpoint must not depend on the old optimiser
      auto opt_c = make(c);
      opt_c->load_state_dict(checkpoint);
      for (size_t step = 2; step < 5; ++step) {
        set_grads(a, step, DType::Float32);
        opt_a->step();
        set_grads(c, step, DType::Float32);
        opt_c->step();
      }
      CHECK(bitwise_equal(a.w, c.w));
      CHECK(bitwise_equal(a.b, c.b));
      // and the state itself is the same
      StateDict sa = opt_a->state_dict(), sc = opt_c->state_dict();
      REQUIRE(sa.size() == sc.size());
      for (const auto& [key, t] : sa) CHECK_MESSAGE(bitwise_equal(t, sc.at(key)), key);
    }
  }
}

TEST_CASE("optim: state_dict keys follow the documented format") {
  Params ps = make_params(DType::Float32);
  auto opt = configs().at("adam_amsgrad")(ps);
  set_grads(ps, 0, DType::Float32);
  opt->step();
  StateDict sd = opt->state_dict();
  std::vector<std::string> keys;
  for (const auto& [key, t] : sd) keys.push_back(key);
  std::vector<std::string> want = {"param_groups.0.lr", "param_groups.0.weight_decay", "param_groups.0.beta1",
                                   "param_groups.0.beta2", "param_groups.0.eps", "param_groups.0.amsgrad",
                                   "state.w.step", "state.w.exp_avg", "state.w.exp_avg_sq", "state.w.max_exp_avg_sq",
                                   "state.b.step", "state.b.exp_avg", "state.b.exp_avg_sq", "state.b.max_exp_avg_sq"};
  CHECK(keys == want);
  CHECK(sd.at("param_groups.0.lr").dtype() == DType::Float64);
  CHECK(sd.at("param_groups.0.lr").dim() == 0);
  CHECK(sd.at("param_groups.0.weight_decay").item() == 1e-2);
  CHECK(sd.at("state.w.exp_avg").shape() == Shape{3, 4});
}

TEST_CASE("optim: load_state_dict refuses a mismatched state with one clear line") {
  Params ps = make_params(DType::Float32);
  auto sgd = configs().at("sgd_momentum_dampening")(ps);
  set_grads(ps, 0, DType::Float32);
  sgd->step();
  StateDict good = sgd->state_dict();

  SUBCASE("a state tensor of the wrong shape") {
    StateDict bad = good;
    bad.set("state.w.momentum_buffer", zeros({2, 2}));
    std::string msg = error_of([&] { sgd->load_state_dict(bad); });
    CHECK_MESSAGE(msg.find("'state.w.momentum_buffer' has shape [2, 2], expected [3, 4]") != std::string::npos, msg);
  }
  SUBCASE("a parameter the optimiser does not hold") {
    StateDict bad = good;
    bad.set("state.layer9.weight.momentum_buffer", zeros({3, 4}));
    std::string msg = error_of([&] { sgd->load_state_dict(bad); });
    CHECK_MESSAGE(msg.find("names parameter 'layer9.weight', which this optimiser does not hold") != std::string::npos,
                  msg);
  }
  SUBCASE("another optimiser's state") {
    Params other = make_params(DType::Float32);
    auto adam = configs().at("adam")(other);
    std::string msg = error_of([&] { adam->load_state_dict(good); });
    CHECK_MESSAGE(msg.find("Adam.load_state_dict") != std::string::npos, msg);
    CHECK_MESSAGE(msg.find('\n') == std::string::npos, msg);
  }
  SUBCASE("a different number of groups") {
    Params other = make_params(DType::Float32);
    auto two = configs().at("sgd_nesterov_wd")(other);
    std::string msg = error_of([&] { sgd->load_state_dict(two->state_dict()); });
    CHECK_MESSAGE(msg.find("names group 1 but the optimiser has 1 group(s)") != std::string::npos, msg);
  }
  SUBCASE("a missing hyper-parameter") {
    StateDict bad;
    for (const auto& [key, t] : good)
      if (key != "param_groups.0.momentum") bad.set(key, t);
    std::string msg = error_of([&] { sgd->load_state_dict(bad); });
    CHECK_MESSAGE(msg.find("missing key 'param_groups.0.momentum'") != std::string::npos, msg);
  }
  // a refused load changes nothing
  StateDict after = sgd->state_dict();
  for (const auto& [key, t] : good) CHECK_MESSAGE(bitwise_equal(t, after.at(key)), key);
}

TEST_CASE("optim: constructor checks") {
  Tensor p = zeros({2}).requires_grad_();
  Tensor q = zeros({2}).requires_grad_();
  CHECK(error_of([&] { SGD({{"p", p}}, SGDOptions{}); }).find("has no learning rate") != std::string::npos);
  CHECK(error_of([&] { SGD({{"p", p}}, SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}); })
            .find("Nesterov momentum requires") != std::string::npos);
  CHECK(error_of([&] { SGD({{"p", p}, {"p", q}}, SGDOptions{.lr = 0.1}); }).find("is given twice") !=
        std::string::npos);
  CHECK(error_of([&] { SGD({{"p", p}, {"q", p}}, SGDOptions{.lr = 0.1}); }).find("are the same tensor") !=
        std::string::npos);
  Tensor ints = zeros({2}, DType::Int64);
  CHECK(error_of([&] { Adam({{"i", ints}}, AdamOptions{}); }).find("expected float32 or float64") != std::string::npos);
  // defaults: Adam's weight decay 0, AdamW's 1e-2 (torch's)
  CHECK(Adam({{"p", p}}, AdamOptions{}).param_groups()[0].weight_decay == 0.0);
  CHECK(AdamW({{"p", p}}, AdamOptions{}).param_groups()[0].weight_decay == 1e-2);
}

// ---------------------------------------------------------------- schedules

namespace {

// make_optim.py's run_schedule: two groups (lr 0.1 and 0.02), lrs after construction and each step.
struct ScheduleRig {
  Tensor a = zeros({1}).requires_grad_();
  Tensor b = zeros({1}).requires_grad_();
  SGD opt{std::vector<ParamGroup>{{{{"a", a}}}, {{{"b", b}}, 0.02}}, SGDOptions{.lr = 0.1, .momentum = 0.9}};
};

using MakeScheduler = std::function<std::shared_ptr<LRScheduler>(Optimizer&)>;

std::map<std::string, MakeScheduler> schedules() {
  return {
      {"step", [](Optimizer& o) { return std::make_shared<StepLR>(o, 7, 0.1); }},
      {"multistep", [](Optimizer& o) { return std::make_shared<MultiStepLR>(o, std::vector<int64_t>{5, 12, 12, 20}, 0.5); }},
      {"cosine", [](Optimizer& o) { return std::make_shared<CosineAnnealingLR>(o, 6, 0.001); }},
      {"linear", [](Optimizer& o) { return std::make_shared<LinearLR>(o, 0.1, 1.0, 5); }},
      {"warmup_cosine",
       [](Optimizer& o) {
         auto warm = std::make_shared<LinearLR>(o, 0.1, 1.0, 4);
         auto cos = std::make_shared<CosineAnnealingLR>(o, 10);
         return std::make_shared<SequentialLR>(o, std::vector<std::shared_ptr<LRScheduler>>{warm, cos},
                                               std::vector<int64_t>{4});
       }},
      {"warmup_multistep",
       [](Optimizer& o) {
         return warmup_then(o, 0.25, 3, [](Optimizer& o2) {
           return std::make_shared<MultiStepLR>(o2, std::vector<int64_t>{10, 20}, 0.1);
         });
       }},
  };
}

void check_lrs(const std::vector<double>& got, const json& want, const std::string& label) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    double w = want[i].get<double>();
    CHECK_MESSAGE(std::abs(got[i] - w) <= 1e-12 * std::abs(w), label << " group " << i << ": got " << got[i]
                                                                       << ", torch " << w);
  }
}

}  // namespace

TEST_CASE("schedule: learning rates match torch.optim.lr_scheduler over 30 steps") {
  for (const auto& [name, make] : schedules()) {
    SUBCASE(name.c_str()) {
      ScheduleRig rig;
      auto sched = make(rig.opt);
      const json& want = fixture_json()["schedules"][name];
      REQUIRE(want.size() == 31);
      for (size_t step = 0; step < want.size(); ++step) {
        if (step > 0) sched->step();
        std::string label = name + " after " + std::to_string(step) + " step(s)";
        check_lrs(sched->get_last_lr(), want[step], label);
        check_lrs({rig.opt.param_groups()[0].lr, rig.opt.param_groups()[1].lr}, want[step], label + " (optimiser)");
      }
      CHECK(sched->last_epoch() == 30);
    }
  }
}

TEST_CASE("schedule: step_to jumps with the closed form") {
  ScheduleRig rig;
  StepLR sched(rig.opt, 7, 0.1);
  sched.step_to(14);
  CHECK(sched.last_epoch() == 14);
  check_lrs(sched.get_last_lr(), json::array({0.1 * std::pow(0.1, 2.0), 0.02 * std::pow(0.1, 2.0)}), "StepLR at 14");
  CHECK(sched.base_lrs() == std::vector<double>{0.1, 0.02});
}

TEST_CASE("schedule: state_dict round trip mid-run continues bit for bit") {
  for (const std::string name : {"cosine", "warmup_cosine", "multistep"}) {
    SUBCASE(name.c_str()) {
      auto make = schedules().at(name);
      ScheduleRig uninterrupted;
      auto s1 = make(uninterrupted.opt);
      ScheduleRig first;
      auto s2 = make(first.opt);
      for (int i = 0; i < 7; ++i) {
        s1->step();
        s2->step();
      }
      StateDict opt_sd = first.opt.state_dict(), sched_sd = s2->state_dict();
      ScheduleRig resumed;
      auto s3 = make(resumed.opt);
      resumed.opt.load_state_dict(opt_sd);
      s3->load_state_dict(sched_sd);
      CHECK(s3->last_epoch() == 7);
      for (int i = 7; i < 30; ++i) {
        s1->step();
        s3->step();
        CHECK(s1->get_last_lr() == s3->get_last_lr());
        CHECK(uninterrupted.opt.param_groups()[1].lr == resumed.opt.param_groups()[1].lr);
      }
    }
  }
}

TEST_CASE("schedule: load_state_dict refuses another schedule's state") {
  ScheduleRig rig;
  StepLR five(rig.opt, 5, 0.1);
  ScheduleRig other;
  StepLR seven(other.opt, 7, 0.1);
  std::string msg = error_of([&] { five.load_state_dict(seven.state_dict()); });
  CHECK_MESSAGE(msg.find("hyper-parameter 'step_size' is 7 in the state dict but 5 in this scheduler") !=
                    std::string::npos,
                msg);
  CosineAnnealingLR cos(other.opt, 7);
  msg = error_of([&] { five.load_state_dict(cos.state_dict()); });
  CHECK_MESSAGE(!msg.empty(), "loading a CosineAnnealingLR state into a StepLR must throw");
  CHECK(five.last_epoch() == 0);
}

// ---------------------------------------------------------------- helpers

TEST_CASE("optim: clip_grad_norm_ and clip_grad_value_ match torch.nn.utils") {
  const json& clip = fixture_json()["clip"];
  for (const auto& [name, c] : clip["cases"].items()) {
    SUBCASE(name.c_str()) {
      Tensor w = zeros({3, 4}).requires_grad_(), b = zeros({4}).requires_grad_();
      Tensor frozen = zeros({2}).requires_grad_();  // no gradient: ignored
      w.set_grad(from_json(clip["grads"]["w"], {3, 4}, DType::Float32));
      b.set_grad(from_json(clip["grads"]["b"], {4}, DType::Float32));
      if (name == "value_0.3") {
        clip_grad_value_({w, b}, 0.3);
      } else {
        double norm_type = c["norm_type"].is_string() ? std::numeric_limits<double>::infinity()
                                                      : c["norm_type"].get<double>();
        double total = clip_grad_norm_({w, frozen, b}, c["max_norm"].get<double>(), norm_type);
        double want = c["total_norm"].get<double>();
        CHECK_MESSAGE(std::abs(total - want) <= 1e-6 * want, name << ": total norm " << total << ", torch " << want);
      }
      CHECK_CLOSE(w.grad(), from_json(c["w"], {3, 4}, DType::Float32), 1e-7, 1e-6, name + " w.grad");
      CHECK_CLOSE(b.grad(), from_json(c["b"], {4}, DType::Float32), 1e-7, 1e-6, name + " b.grad");
      CHECK_FALSE(frozen.grad().defined());
    }
  }
  CHECK(clip_grad_norm_({zeros({2}).requires_grad_()}, 1.0) == 0.0);  // no gradients at all
}

TEST_CASE("optim: sgd_bn_groups puts BatchNorm parameters in a group without weight decay") {
  auto inner = std::make_shared<Sequential>(std::make_shared<BatchNorm1d>(5), std::make_shared<Linear>(5, 3));
  auto net = std::make_shared<Sequential>(std::make_shared<Conv2d>(3, 4, 3, 1, 1), std::make_shared<BatchNorm2d>(4),
                                          std::make_shared<PReLU>(4), std::make_shared<AdaptiveAvgPool2d>(1),
                                          std::make_shared<Flatten>(), std::make_shared<Linear>(4, 5), inner);
  auto names = [](const ParamGroup& g) {
    std::vector<std::string> out;
    for (const auto& [n, t] : g.params) out.push_back(n);
    return out;
  };
  SUBCASE("BatchNorm only (egcode's sgd_bn)") {
    auto groups = sgd_bn_groups(*net, 5e-4);
    REQUIRE(groups.size() == 2);
    CHECK(names(groups[0]) == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "5.weight", "5.bias",
                                                        "6.1.weight", "6.1.bias"});
    CHECK(names(groups[1]) == std::vector<std::string>{"1.weight", "1.bias", "6.0.weight", "6.0.bias"});
    CHECK(groups[0].weight_decay == 5e-4);
    CHECK(groups[1].weight_decay == 0.0);
    CHECK(groups[0].params[0].second.impl() == net->parameter("0.weight").impl());  // the model's own tensors
    // the optimiser fills the unset lr with its default
    SGD opt(groups, SGDOptions{.lr = 0.1, .momentum = 0.9});
    CHECK(opt.param_groups()[0].lr == 0.1);
    CHECK(opt.param_groups()[1].lr == 0.1);
    CHECK(opt.param_groups()[1].weight_decay == 0.0);
  }
  SUBCASE("with PReLU slopes and biases, and a name prefix") {
    auto groups = sgd_bn_groups(*net, 5e-4, /*also_prelu_and_bias=*/true, "backbone.");
    CHECK(names(groups[0]) == std::vector<std::string>{"backbone.0.weight", "backbone.5.weight", "backbone.6.1.weight"});
    CHECK(names(groups[1]) == std::vector<std::string>{"backbone.0.bias", "backbone.1.weight", "backbone.1.bias",
                                                        "backbone.2.weight", "backbone.5.bias", "backbone.6.0.weight",
                                                        "backbone.6.0.bias", "backbone.6.1.bias"});
  }
}
