// The layers against PyTorch (fixtures from tests/fixtures/make_layers.py): each case loads the torch
// module's state_dict through load_state_dict (strict), runs forward and compares (max abs err 1e-5,
// float32); BatchNorm in train mode also compares the updated running statistics and
// num_batches_tracked; "seq" and "se" compare parameter gradients of sum(out * g). Then a float64
// gradcheck of a tiny configuration of every layer with parameters (Module::to(Float64)), default
// initialisation, argument errors, and PyTorch's printed forms (strings copied from torch 1.13).
#include <fstream>

#include "layers/layers.h"
#include "test_util.h"

using namespace fk;

namespace {

std::vector<std::string> fixture_keys(const std::string& name) {
  std::ifstream f(test::fixture_path("layers/" + name + "_keys.txt"));
  REQUIRE_MESSAGE(f.good(), "missing fixture layers/", name, "_keys.txt (run tests/fixtures/make_layers.py)");
  std::vector<std::string> keys;
  for (std::string line; std::getline(f, line);)
    if (!line.empty()) keys.push_back(line);
  return keys;
}

// the torch module's state dict as saved by make_layers.py (`infix` "after_" for updated buffers)
StateDict fixture_state(const std::string& name, const std::string& infix = "") {
  StateDict sd;
  for (const auto& key : fixture_keys(name)) sd.set(key, test::fixture("layers/" + name + "_" + infix + key + ".npy"));
  return sd;
}

// load, forward, compare; returns the output for further checks
Tensor check_case(Module& m, const std::string& name, bool train) {
  m.load_state_dict(fixture_state(name));
  m.train(train);
  Tensor x = test::fixture("layers/" + name + "_x.npy");
  Tensor y = m(x);
  CHECK_CLOSE(y, test::fixture("layers/" + name + "_y.npy"), 1e-5, 0, name + " output");
  if (train) {
    StateDict after = fixture_state(name, "after_");
    StateDict ours = m.state_dict();
    REQUIRE(ours.size() == after.size());
    for (const auto& [key, expected] : after) {
      CHECK_MESSAGE(ours.at(key).dtype() == expected.dtype(), name, " ", key, " dtype");
      CHECK_CLOSE(ours.at(key), expected, 1e-5, 0, name + " " + key + " after forward");
    }
  }
  return y;
}

void check_param_grads(Module& m, const std::string& name, const Tensor& y) {
  Tensor g = test::fixture("layers/" + name + "_g.npy");
  m.zero_grad();
  sum(mul(y, g)).backward();
  auto params = m.named_parameters();
  REQUIRE(!params.empty());
  for (const auto& [key, p] : params) {
    REQUIRE_MESSAGE(p.grad().defined(), name, " ", key, " got no gradient");
    CHECK_CLOSE(p.grad(), test::fixture("layers/" + name + "_grad_" + key + ".npy"), 1e-5, 0,
                name + " grad of " + key);
  }
}

// gradcheck of sum(m(x) * g) w.r.t. x and every parameter, in float64
void gradcheck_module(Module& m, const Shape& x_shape) {
  m.to(DType::Float64);
  Tensor x = test::leaf(x_shape);
  std::vector<Tensor> inputs{x};
  for (const Tensor& p : m.parameters()) inputs.push_back(p);
  REQUIRE(inputs.size() > 1);
  CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return m(in[0]); }, inputs);
}

std::string str(const Module& m) {
  std::ostringstream os;
  os << m;
  return os.str();
}

}  // namespace

TEST_CASE("conv2d: matches torch.nn.Conv2d with loaded weights") {
  SUBCASE("stride 2, padding 1, bias") {
    Conv2d conv(3, 4, 3, 2, 1);
    check_case(conv, "conv_s2", false);
  }
  SUBCASE("(3, 2) kernel, (1, 2) stride, dilation (2, 1), groups 2, no bias") {
    Conv2d conv(4, 6, {3, 2}, {1, 2}, {1, 0}, {2, 1}, 2, false);
    check_case(conv, "conv_groups", false);
  }
}

TEST_CASE("conv2d: float64 gradcheck of input, weight and bias") {
  manual_seed(11);
  Conv2d conv(4, 2, {3, 2}, 2, 1, 1, 2);
  gradcheck_module(conv, {2, 4, 5, 4});
}

TEST_CASE("conv2d: default init is U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias") {
  manual_seed(3);
  Conv2d conv(8, 16, 3, 1, 1, 1, 2);  // fan_in = 8/2*3*3 = 36
  double bound = 1.0 / 6.0;
  for (const Tensor& t : {conv.weight, conv.bias}) {
    auto v = t.to_vector<double>();
    double lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
    CHECK(lo >= -bound);
    CHECK(hi <= bound);
    CHECK(hi - lo > bound);  // spread over the range, not a constant
  }
  CHECK(conv.weight.shape() == Shape{16, 4, 3, 3});
  CHECK(conv.weight.requires_grad());
  manual_seed(3);
  Conv2d again(8, 16, 3, 1, 1, 1, 2);
  CHECK_CLOSE(again.weight, conv.weight, 0, 0, "same seed, same init");
}

TEST_CASE("conv2d: argument errors name the problem") {
  CHECK_THROWS_WITH_AS(Conv2d(3, 4, 3, 1, 0, 1, 2), doctest::Contains("in_channels (3) must be divisible by groups (2)"),
                       Error);
  CHECK_THROWS_WITH_AS(Conv2d(4, 3, 3, 1, 0, 1, 2), doctest::Contains("out_channels (3) must be divisible by groups"),
                       Error);
  CHECK_THROWS_WITH_AS(Conv2d(4, 4, 0), doctest::Contains("kernel_size (0, 0)"), Error);
}

TEST_CASE("linear: matches torch.nn.Linear on 2-d and 3-d input") {
  SUBCASE("bias") {
    Linear lin(5, 3);
    check_case(lin, "linear", false);
  }
  SUBCASE("no bias, (2, 4, 5) input") {
    Linear lin(5, 3, false);
    check_case(lin, "linear_3d", false);
  }
}

TEST_CASE("linear: float64 gradcheck and a wrong feature count") {
  manual_seed(12);
  Linear lin(4, 3);
  gradcheck_module(lin, {2, 4});
  CHECK_THROWS_WITH_AS(lin(randn({2, 5}, DType::Float64)),
                       doctest::Contains("Linear(in_features=4): input [2, 5] must end in 4 features"), Error);
}

TEST_CASE("batchnorm: train mode matches output, running stats and num_batches_tracked") {
  SUBCASE("BatchNorm2d momentum 0.3") {
    BatchNorm2d bn(3, 1e-5, 0.3);
    check_case(bn, "bn2d_train", true);
    CHECK(bn.num_batches_tracked.item() == 3);
  }
  SUBCASE("BatchNorm2d momentum None (cumulative average)") {
    BatchNorm2d bn(3, 1e-5, std::nullopt);
    check_case(bn, "bn2d_cumulative", true);
    CHECK(bn.num_batches_tracked.item() == 4);
  }
  SUBCASE("BatchNorm1d on (N, C)") {
    BatchNorm1d bn(4);
    check_case(bn, "bn1d_train", true);
  }
  SUBCASE("BatchNorm1d on (N, C, L)") {
    BatchNorm1d bn(4);
    check_case(bn, "bn1d_train_3d", true);
  }
}

TEST_CASE("batchnorm: eval mode uses the running stats and changes nothing") {
  SUBCASE("BatchNorm2d eps 1e-3") {
    BatchNorm2d bn(3, 1e-3);
    check_case(bn, "bn2d_eval", false);
    CHECK_CLOSE(bn.running_mean, test::fixture("layers/bn2d_eval_running_mean.npy"), 0, 0, "running_mean untouched");
    CHECK(bn.num_batches_tracked.item() == 7);
  }
  SUBCASE("BatchNorm1d affine=False") {
    BatchNorm1d bn(4, 1e-5, 0.1, false);
    check_case(bn, "bn1d_eval", false);
  }
}

TEST_CASE("batchnorm: defaults, rank errors and float64 gradcheck") {
  BatchNorm2d bn(3);
  CHECK(bn.weight.to_vector<double>() == std::vector<double>{1, 1, 1});
  CHECK(bn.bias.to_vector<double>() == std::vector<double>{0, 0, 0});
  CHECK(bn.running_mean.to_vector<double>() == std::vector<double>{0, 0, 0});
  CHECK(bn.running_var.to_vector<double>() == std::vector<double>{1, 1, 1});
  CHECK(bn.num_batches_tracked.dtype() == DType::Int64);
  CHECK(bn.num_batches_tracked.dim() == 0);
  CHECK_THROWS_WITH_AS(bn(randn({2, 3, 4})), doctest::Contains("BatchNorm2d: expected 4D input (got 3D input"), Error);
  BatchNorm1d bn1(3);
  CHECK_THROWS_WITH_AS(bn1(randn({2, 3, 4, 4})), doctest::Contains("expected 2D or 3D input (got 4D input"), Error);
  CHECK_THROWS_WITH_AS(bn(randn({2, 4, 3, 3})), doctest::Contains("input [2, 4, 3, 3] has 4 channels"), Error);

  manual_seed(13);
  SUBCASE("BatchNorm2d train") {
    BatchNorm2d b(2);
    init::uniform_(b.weight, 0.5, 1.5);
    init::uniform_(b.bias, -0.5, 0.5);
    gradcheck_module(b, {3, 2, 2, 2});
  }
  SUBCASE("BatchNorm1d eval") {
    BatchNorm1d b(3);
    init::uniform_(b.weight, 0.5, 1.5);
    init::uniform_(b.running_var, 0.5, 1.5);
    b.eval();
    gradcheck_module(b, {4, 3});
  }
  SUBCASE("without running stats, eval normalises with the batch") {
    BatchNorm2d b(2, 1e-5, 0.1, true, false);
    CHECK(b.state_dict().size() == 2);
    b.eval();
    Tensor x = randn({4, 2, 3, 3});
    BatchNorm2d tracked(2);
    CHECK_CLOSE(b(x), tracked(x), 1e-6, 0, "eval without running stats = training normalisation");
  }
}

TEST_CASE("prelu: matches torch.nn.PReLU, per channel and shared") {
  SUBCASE("3 channels") {
    PReLU p(3);
    check_case(p, "prelu3", false);
  }
  SUBCASE("one shared slope, init 0.1, 3-d input") {
    PReLU p(1, 0.1);
    CHECK(p.weight.item() == doctest::Approx(0.1));
    check_case(p, "prelu1", false);
  }
}

TEST_CASE("prelu: init 0.25, float64 gradcheck, channel mismatch") {
  PReLU p(3);
  CHECK(p.weight.to_vector<double>() == std::vector<double>{0.25, 0.25, 0.25});
  manual_seed(14);
  gradcheck_module(p, {2, 3, 2, 2});
  CHECK_THROWS_WITH_AS(p(randn({2, 4, 2}, DType::Float64)), doctest::Contains("must have 3 channels in dim 1"), Error);
}

TEST_CASE("pooling: layers match torch with their options") {
  SUBCASE("MaxPool2d(3, 2, ceil_mode=True)") {
    MaxPool2d m(3, 2, 0, 1, true);
    check_case(m, "maxpool", false);
  }
  SUBCASE("MaxPool2d((3, 2), stride=(2, 1), padding=1, dilation=(1, 2))") {
    MaxPool2d m({3, 2}, {2, 1}, 1, {1, 2});
    check_case(m, "maxpool_pad_dil", false);
  }
  SUBCASE("AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)") {
    AvgPool2d m(3, 2, 1, true, false);
    check_case(m, "avgpool", false);
  }
  SUBCASE("AvgPool2d(2): stride defaults to the kernel") {
    AvgPool2d m(2);
    CHECK(m.stride.v == std::array<int64_t, 2>{2, 2});
    check_case(m, "avgpool_default", false);
  }
  SUBCASE("AdaptiveAvgPool2d((2, 3))") {
    AdaptiveAvgPool2d m({2, 3});
    check_case(m, "adaptive", false);
  }
  CHECK_THROWS_WITH_AS(MaxPool2d(2, 2, 2), doctest::Contains("pad should be at most half of kernel size"), Error);
}

TEST_CASE("relu, flatten, identity, sigmoid: forward") {
  ReLU relu;
  check_case(relu, "relu", false);
  Flatten flat;
  check_case(flat, "flatten", false);
  Tensor x = randn({2, 3, 4, 5});
  CHECK(Flatten(0, 2)(x).shape() == Shape{24, 5});
  CHECK(Identity()(x).impl() == x.impl());
  Sigmoid sig;
  CHECK_CLOSE(sig(x), sigmoid(x), 0, 0, "Sigmoid module = fk::sigmoid");
}

TEST_CASE("dropout: identity in eval, zeroes and rescales by 1/(1-p) in training") {
  Dropout d(0.25);
  Tensor x = ones({4000});
  d.eval();
  CHECK(d(x).impl() != nullptr);
  CHECK_CLOSE(d(x), x, 0, 0, "eval dropout");
  d.train();
  manual_seed(5);
  auto v = d(x).to_vector<double>();
  int64_t zeros_seen = 0;
  for (double e : v) {
    CHECK_MESSAGE((e == 0 || std::abs(e - 1 / 0.75) < 1e-6), "dropout value ", e);
    zeros_seen += e == 0;
  }
  CHECK(zeros_seen > 800);  // about 1000 of 4000 expected
  CHECK(zeros_seen < 1200);
  CHECK_THROWS_WITH_AS(Dropout(1.5), doctest::Contains("between 0 and 1, but got 1.5"), Error);
}

TEST_CASE("sequential: conv-bn-prelu-pool-flatten-linear matches torch, output and parameter gradients") {
  auto seq = std::make_shared<Sequential>(std::make_shared<Conv2d>(3, 4, 3, 1, 1), std::make_shared<BatchNorm2d>(4),
                                          std::make_shared<PReLU>(4), std::make_shared<MaxPool2d>(2),
                                          std::make_shared<Flatten>(), std::make_shared<Linear>(36, 5));
  // same keys in the same order as torch's state_dict
  std::vector<std::string> ours;
  for (const auto& [key, t] : seq->state_dict()) ours.push_back(key);
  CHECK(ours == fixture_keys("seq"));
  Tensor y = check_case(*seq, "seq", true);
  check_param_grads(*seq, "seq", y);
}

TEST_CASE("sequential: float64 gradcheck through every parameter") {
  manual_seed(15);
  Sequential seq(std::make_shared<Conv2d>(2, 3, 3, 1, 1), std::make_shared<BatchNorm2d>(3),
                 std::make_shared<PReLU>(3), std::make_shared<AvgPool2d>(2), std::make_shared<Flatten>(),
                 std::make_shared<Linear>(3, 2));
  gradcheck_module(seq, {3, 2, 2, 2});
}

TEST_CASE("se: SEModule matches face.evoLVe's, output and parameter gradients") {
  SEModule se(8, 4);
  std::vector<std::string> ours;
  for (const auto& [key, t] : se.state_dict()) ours.push_back(key);
  CHECK(ours == std::vector<std::string>{"fc1.weight", "fc2.weight"});
  Tensor y = check_case(se, "se", false);
  check_param_grads(se, "se", y);
}

TEST_CASE("se: float64 gradcheck and xavier init of fc1") {
  manual_seed(16);
  SEModule se(4, 2);
  double bound = std::sqrt(6.0 / (4 + 2));  // xavier_uniform: fan_in 4, fan_out 2
  double max_abs = 0;
  for (double w : se.fc1->weight.to_vector<double>()) max_abs = std::max(max_abs, std::abs(w));
  CHECK(max_abs <= bound);
  CHECK(max_abs > 0.5);  // beyond kaiming's bound 1/sqrt(fan_in) = 0.5: the xavier init was applied
  gradcheck_module(se, {2, 4, 3, 3});
  CHECK_THROWS_WITH_AS(SEModule(4, 8), doctest::Contains("channels (4) / reduction (8) must be at least 1"), Error);
}

TEST_CASE("printing: layers print as PyTorch 1.13's repr") {
  CHECK(str(Conv2d(3, 64, 3, 1, 1, 1, 1, false)) ==
        "Conv2d(3, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)");
  CHECK(str(Conv2d(3, 8, {3, 5}, {2, 1}, {1, 2}, 2)) ==
        "Conv2d(3, 8, kernel_size=(3, 5), stride=(2, 1), padding=(1, 2), dilation=(2, 2))");
  CHECK(str(Conv2d(4, 4, 3, 1, 0, 1, 2)) == "Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), groups=2)");
  CHECK(str(BatchNorm2d(16)) == "BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
  CHECK(str(BatchNorm1d(8, 1e-3, 0.2, false)) ==
        "BatchNorm1d(8, eps=0.001, momentum=0.2, affine=False, track_running_stats=True)");
  CHECK(str(BatchNorm2d(4, 1e-5, std::nullopt, true, false)) ==
        "BatchNorm2d(4, eps=1e-05, momentum=None, affine=True, track_running_stats=False)");
  CHECK(str(Linear(10, 5)) == "Linear(in_features=10, out_features=5, bias=True)");
  CHECK(str(Linear(10, 5, false)) == "Linear(in_features=10, out_features=5, bias=False)");
  CHECK(str(PReLU()) == "PReLU(num_parameters=1)");
  CHECK(str(PReLU(64)) == "PReLU(num_parameters=64)");
  CHECK(str(ReLU()) == "ReLU()");
  CHECK(str(ReLU(true)) == "ReLU(inplace=True)");
  CHECK(str(Sigmoid()) == "Sigmoid()");
  CHECK(str(MaxPool2d(3, 2)) == "MaxPool2d(kernel_size=3, stride=2, padding=0, dilation=1, ceil_mode=False)");
  CHECK(str(MaxPool2d(3, 2, 0, 1, true)) == "MaxPool2d(kernel_size=3, stride=2, padding=0, dilation=1, ceil_mode=True)");
  CHECK(str(MaxPool2d({2, 3}, 1, 1, 2)) ==
        "MaxPool2d(kernel_size=(2, 3), stride=1, padding=1, dilation=2, ceil_mode=False)");
  CHECK(str(AvgPool2d(2)) == "AvgPool2d(kernel_size=2, stride=2, padding=0)");
  CHECK(str(AvgPool2d(3, 2, 1, true, false)) == "AvgPool2d(kernel_size=3, stride=2, padding=1)");
  CHECK(str(AdaptiveAvgPool2d(1)) == "AdaptiveAvgPool2d(output_size=1)");
  CHECK(str(AdaptiveAvgPool2d({7, 7})) == "AdaptiveAvgPool2d(output_size=(7, 7))");
  CHECK(str(Dropout()) == "Dropout(p=0.5, inplace=False)");
  CHECK(str(Dropout(0.2)) == "Dropout(p=0.2, inplace=False)");
  CHECK(str(Flatten()) == "Flatten(start_dim=1, end_dim=-1)");
  CHECK(str(Flatten(0, 2)) == "Flatten(start_dim=0, end_dim=2)");
  CHECK(str(Identity()) == "Identity()");
  CHECK(str(Sequential()) == "Sequential()");
}

TEST_CASE("printing: models print as PyTorch's indented tree") {
  Sequential seq(std::make_shared<Conv2d>(3, 4, 3, 1, 1), std::make_shared<BatchNorm2d>(4),
                 std::make_shared<PReLU>(4), std::make_shared<MaxPool2d>(2), std::make_shared<Flatten>(),
                 std::make_shared<Linear>(36, 5));
  CHECK(str(seq) ==
        "Sequential(\n"
        "  (0): Conv2d(3, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
        "  (1): BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
        "  (2): PReLU(num_parameters=4)\n"
        "  (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
        "  (4): Flatten(start_dim=1, end_dim=-1)\n"
        "  (5): Linear(in_features=36, out_features=5, bias=True)\n"
        ")");
  CHECK(str(SEModule(8, 4)) ==
        "SEModule(\n"
        "  (avg_pool): AdaptiveAvgPool2d(output_size=1)\n"
        "  (fc1): Conv2d(8, 2, kernel_size=(1, 1), stride=(1, 1), bias=False)\n"
        "  (relu): ReLU(inplace=True)\n"
        "  (fc2): Conv2d(2, 8, kernel_size=(1, 1), stride=(1, 1), bias=False)\n"
        "  (sigmoid): Sigmoid()\n"
        ")");
  Sequential nested(NamedModules{{"a", std::make_shared<Sequential>(std::make_shared<Linear>(2, 2))},
                                 {"b", std::make_shared<ReLU>()}});
  CHECK(str(nested) ==
        "Sequential(\n"
        "  (a): Sequential(\n"
        "    (0): Linear(in_features=2, out_features=2, bias=True)\n"
        "  )\n"
        "  (b): ReLU()\n"
        ")");
}

TEST_CASE("num_parameters: equals PyTorch's count") {
  Sequential seq(std::make_shared<Conv2d>(3, 4, 3, 1, 1), std::make_shared<BatchNorm2d>(4),
                 std::make_shared<PReLU>(4), std::make_shared<MaxPool2d>(2), std::make_shared<Flatten>(),
                 std::make_shared<Linear>(36, 5));
  CHECK(seq.num_parameters() == 309);  // sum(p.numel() for p in seq.parameters()) in make_layers.py
  CHECK(SEModule(8, 4).num_parameters() == 32);
  CHECK(Conv2d(3, 64, 3, 1, 1, 1, 1, false).num_parameters() == 1728);
}

TEST_CASE("sequential: a BatchNorm and its PReLU run fused in training, as the two modules, hooks still fire") {
  manual_seed(3);
  auto bn = std::make_shared<BatchNorm2d>(4);
  auto act = std::make_shared<PReLU>(4);
  Sequential seq(bn, act);
  Tensor x = randn({3, 4, 5, 5});
  CHECK(fuses_with_activation(*bn, *act));
  Tensor fused = seq(x);
  Tensor rm = bn->running_mean.clone();
  // the same modules one after the other (running stats advance once more: compare the output only)
  Tensor plain = (*act)(fk::batch_norm(x, bn->weight, bn->bias, Tensor(), Tensor(), true, 0.1, 1e-5));
  CHECK_CLOSE(fused, plain, 0, 0, "fused output");
  CHECK(bn->num_batches_tracked.item() == 1);
  CHECK_CLOSE(rm, ops::mul(ops::mean(x, {0, 2, 3}), 0.1), 1e-6, 1e-6, "running_mean updated once");
  // a hook on the activation: no fusion, the hook sees the batch-norm output
  int calls = 0;
  act->register_forward_hook([&](Module&, const Tensor&, const Tensor&) {
    ++calls;
    return Tensor();
  });
  CHECK_FALSE(fuses_with_activation(*bn, *act));
  CHECK_CLOSE(seq(x), fused, 0, 0, "unfused output");
  CHECK(calls == 1);
  // eval: not fused (the inference engine folds BatchNorm into the convolutions)
  bn->eval();
  CHECK_FALSE(fuses_with_activation(*bn, *act));
}

TEST_CASE("sequential: forward_add fuses the last BatchNorm with the residual in training, as the add") {
  manual_seed(4);
  auto conv = std::make_shared<Conv2d>(4, 4, 3, 1, 1, 1, 1, false);
  auto bn = std::make_shared<BatchNorm2d>(4);
  Sequential seq(conv, bn);
  Tensor x = randn({3, 4, 5, 5}), shortcut = randn({3, 4, 5, 5});
  CHECK(fuses_with_residual(*bn));
  Tensor fused = seq.forward_add(x, shortcut);
  CHECK(fused.grad_fn()->name() == "batch_norm_add");
  CHECK(bn->num_batches_tracked.item() == 1);
  Tensor plain = add(seq(x), shortcut);  // the two ops (running stats advance once more)
  CHECK(plain.grad_fn()->name() == "add");
  CHECK_CLOSE(fused, plain, 0, 0, "fused output");
  // a hook on the BatchNorm or on the Sequential: the modules run unfused, the hook fires
  int calls = 0;
  seq.register_forward_hook([&](Module&, const Tensor&, const Tensor&) {
    ++calls;
    return Tensor();
  });
  Tensor hooked = seq.forward_add(x, shortcut);
  CHECK(hooked.grad_fn()->name() == "add");
  CHECK(calls == 1);
  CHECK_CLOSE(hooked, fused, 0, 0, "unfused output");
  bn->register_forward_hook([&](Module&, const Tensor&, const Tensor&) { return Tensor(); });
  CHECK_FALSE(fuses_with_residual(*bn));
  // eval: not fused
  Sequential seq2(std::make_shared<BatchNorm2d>(4));
  seq2.eval();
  CHECK(seq2.forward_add(x, shortcut).grad_fn()->name() == "add");
  CHECK_FALSE(fuses_with_residual(*seq2[0]));
}
