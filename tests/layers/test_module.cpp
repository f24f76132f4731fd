// fk::Module mechanics: registration rules, PyTorch's naming and ordering of parameters, buffers and
// modules, state_dict / load_state_dict (round trip, handles kept, dtype conversion, strict errors
// listing every problem in one line, non-strict results, BatchNorm's optional num_batches_tracked),
// find / parameter lookup, forward hooks, train/eval propagation, Module::to(DType), py_float.
#include <algorithm>

#include "layers/layers.h"
#include "tensor/cpu_allocator.h"
#include "tensor/shape_ops.h"
#include "test_util.h"

using namespace fk;

namespace {

// a user-defined module exposing the protected registration calls
struct Custom : Module {
  Custom() {
    w = register_parameter("w", ones({2}));
    register_parameter("none", Tensor());
    b = register_buffer("b", zeros({2}));
  }
  Tensor forward(const Tensor& x) override { return mul(x, w); }
  void reg_param(const std::string& name) { register_parameter(name, ones({1})); }
  void reg_child(const std::string& name, std::shared_ptr<Module> m) { register_module(name, std::move(m)); }
  Tensor w, b;
};

std::shared_ptr<Sequential> small_net() {
  return std::make_shared<Sequential>(std::make_shared<Conv2d>(3, 4, 3, 1, 1), std::make_shared<BatchNorm2d>(4),
                                      std::make_shared<PReLU>(4), std::make_shared<MaxPool2d>(2),
                                      std::make_shared<Flatten>(), std::make_shared<Linear>(36, 5));
}

std::vector<std::string> keys_of(const StateDict& sd) {
  std::vector<std::string> out;
  for (const auto& [k, t] : sd) out.push_back(k);
  return out;
}

std::vector<std::string> names_of(const NamedTensors& v) {
  std::vector<std::string> out;
  for (const auto& [k, t] : v) out.push_back(k);
  return out;
}

}  // namespace

TEST_CASE("module: names and order follow PyTorch (parameters, buffers, modules, state_dict)") {
  auto net = small_net();
  CHECK(names_of(net->named_parameters()) ==
        std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "5.weight", "5.bias"});
  CHECK(names_of(net->named_buffers()) ==
        std::vector<std::string>{"1.running_mean", "1.running_var", "1.num_batches_tracked"});
  CHECK(keys_of(net->state_dict()) ==
        std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                                 "1.num_batches_tracked", "2.weight", "5.weight", "5.bias"});
  CHECK(net->named_parameters(false).empty());
  std::vector<std::string> mods;
  for (auto& [name, m] : net->named_modules()) mods.push_back(name + ":" + m->type_name());
  CHECK(mods == std::vector<std::string>{":Sequential", "0:Conv2d", "1:BatchNorm2d", "2:PReLU", "3:MaxPool2d",
                                         "4:Flatten", "5:Linear"});
  CHECK(net->named_children().size() == 6);
  CHECK(net->parameters().size() == 7);
  StateDict sd = net->state_dict();
  CHECK(sd.at("1.num_batches_tracked").dtype() == DType::Int64);
  CHECK(sd.at("1.num_batches_tracked").dim() == 0);
  CHECK_FALSE(sd.at("0.weight").requires_grad());
  CHECK(sd.at("0.weight").storage() == net->parameter("0.weight").storage());  // detached, shared storage
}

TEST_CASE("module: a shared child is listed once by named_parameters, twice by state_dict (as PyTorch)") {
  auto lin = std::make_shared<Linear>(2, 2);
  Sequential seq(lin, lin);
  CHECK(names_of(seq.named_parameters()) == std::vector<std::string>{"0.weight", "0.bias"});
  CHECK(keys_of(seq.state_dict()) == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias"});
  CHECK(seq.num_parameters() == 6);
}

TEST_CASE("module: registration rules") {
  Custom c;
  CHECK(c.w.requires_grad());
  CHECK_FALSE(c.b.requires_grad());
  CHECK(keys_of(c.state_dict()) == std::vector<std::string>{"w", "b"});  // "None" parameter absent
  CHECK_THROWS_WITH_AS(c.reg_param("w"), doctest::Contains("attribute \"w\" already exists"), Error);
  CHECK_THROWS_WITH_AS(c.reg_param("a.b"), doctest::Contains("can't contain \".\""), Error);
  CHECK_THROWS_WITH_AS(c.reg_param(""), doctest::Contains("can't be empty"), Error);
  CHECK_THROWS_WITH_AS(c.reg_child("b", std::make_shared<ReLU>()), doctest::Contains("attribute \"b\" already exists"),
                       Error);
  CHECK_THROWS_WITH_AS(c.reg_child("m", nullptr), doctest::Contains("null module"), Error);
  CHECK(c.type_name() == "Custom");
}

TEST_CASE("module: state_dict / load_state_dict round trip keeps the existing tensors") {
  manual_seed(1);
  auto a = small_net();
  manual_seed(2);
  auto b = small_net();
  Tensor x = randn({2, 3, 6, 6});
  a->eval();
  b->eval();
  Tensor w_handle = b->parameter("0.weight");  // e.g. held by an optimiser
  const void* w_data = w_handle.raw_data();
  CHECK(test::compare((*a)(x), (*b)(x), 1e-6, 0) != "");  // different seeds, different nets
  auto res = b->load_state_dict(a->state_dict());
  CHECK(res.missing_keys.empty());
  CHECK(res.unexpected_keys.empty());
  CHECK_CLOSE((*b)(x), (*a)(x), 0, 0, "output after loading");
  CHECK(w_handle.raw_data() == w_data);  // copied in place
  CHECK_CLOSE(w_handle, a->parameter("0.weight").detach(), 0, 0, "held handle sees the loaded values");
  CHECK(w_handle.requires_grad());
  CHECK(b->parameter("0.weight").raw_data() != a->parameter("0.weight").raw_data());  // no aliasing
}

TEST_CASE("module: load_state_dict converts dtypes (float16 and float64 files into float32)") {
  auto net = small_net();
  StateDict sd;
  for (const auto& [k, t] : net->state_dict())
    sd.set(k, k == "1.num_batches_tracked" ? t : (k == "0.weight" ? t.to(DType::Float16) : t.to(DType::Float64)));
  manual_seed(9);
  auto other = small_net();
  other->load_state_dict(sd);
  CHECK(other->parameter("0.weight").dtype() == DType::Float32);
  CHECK_CLOSE(other->parameter("0.weight").detach(), net->parameter("0.weight").detach(), 1e-3, 0, "via float16");
  CHECK_CLOSE(other->parameter("5.bias").detach(), net->parameter("5.bias").detach(), 0, 0, "via float64");
}

TEST_CASE("module: strict load lists every missing, unexpected and mis-shaped key in one line") {
  auto net = small_net();
  StateDict sd;
  for (const auto& [k, t] : net->state_dict())
    if (k != "0.bias" && k != "2.weight") sd.set(k, t.clone());
  sd.set("foo", zeros({1}));
  sd.set("5.weight", zeros({2, 36}));
  sd.set("1.running_var", zeros({3}));
  Tensor before = net->parameter("0.weight").detach().clone();
  sd.set("0.weight", zeros({4, 3, 3, 3}));
  std::string msg;
  try {
    net->load_state_dict(sd);
  } catch (const Error& e) {
    msg = e.what();
  }
  CHECK(msg ==
        "load_state_dict(Sequential): 2 missing key(s): \"0.bias\", \"2.weight\"; 1 unexpected key(s): \"foo\"; "
        "size mismatch for 1.running_var: checkpoint has [3], the model [4]; "
        "size mismatch for 5.weight: checkpoint has [2, 36], the model [5, 36]");
  CHECK(msg.find('\n') == std::string::npos);
  // nothing was copied: the load is all or nothing
  CHECK_CLOSE(net->parameter("0.weight").detach(), before, 0, 0, "0.weight untouched by a failed load");
}

TEST_CASE("module: non-strict load returns missing and unexpected keys but rejects shape mismatches") {
  auto net = small_net();
  StateDict sd;
  sd.set("5.weight", ones({5, 36}));
  sd.set("bar", zeros({1}));
  auto res = net->load_state_dict(sd, false);
  CHECK(res.missing_keys == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                                                     "1.running_var", "2.weight", "5.bias"});
  CHECK(res.unexpected_keys == std::vector<std::string>{"bar"});
  CHECK(net->parameter("5.weight").detach().to_vector<double>() == std::vector<double>(180, 1.0));
  sd.set("5.weight", ones({3, 36}));
  CHECK_THROWS_WITH_AS(net->load_state_dict(sd, false),
                       "load_state_dict(Sequential): size mismatch for 5.weight: checkpoint has [3, 36], the model "
                       "[5, 36]",
                       Error);
}

TEST_CASE("module: a missing num_batches_tracked loads as 0 (PyTorch, state dict without version metadata)") {
  BatchNorm2d bn(3);
  ops::fill_(bn.num_batches_tracked, 5);
  StateDict sd;
  for (const auto& [k, t] : bn.state_dict())
    if (k != "num_batches_tracked") sd.set(k, t.clone());
  auto res = bn.load_state_dict(sd);
  CHECK(res.missing_keys.empty());
  CHECK(bn.num_batches_tracked.item() == 0);
  // a 1-element 1-d value loads into the 0-d counter (PyTorch's compatibility rule)
  sd.set("num_batches_tracked", tensor({7}, DType::Int64));
  bn.load_state_dict(sd);
  CHECK(bn.num_batches_tracked.item() == 7);
  // other buffers are not optional
  StateDict partial;
  partial.set("weight", ones({3}));
  CHECK_THROWS_WITH_AS(bn.load_state_dict(partial),
                       doctest::Contains("3 missing key(s): \"bias\", \"running_mean\", \"running_var\""), Error);
}

TEST_CASE("module: find and parameter look up dotted names") {
  auto conv = std::make_shared<Conv2d>(3, 4, 3);
  auto inner = std::make_shared<Sequential>(NamedModules{{"conv", conv}, {"bn", std::make_shared<BatchNorm2d>(4)}});
  auto net = std::make_shared<Sequential>(inner, std::make_shared<ReLU>());
  CHECK(net->find("0.conv") == conv);
  CHECK(net->find("0") == inner);
  CHECK(net->find("") == net);
  CHECK(net->parameter("0.conv.weight").impl() == conv->weight.impl());
  CHECK(names_of(net->named_parameters()) ==
        std::vector<std::string>{"0.conv.weight", "0.conv.bias", "0.bn.weight", "0.bn.bias"});
  CHECK_THROWS_WITH_AS(net->find("0.cnv"),
                       doctest::Contains("Sequential.find: no submodule \"0.cnv\"; closest: \"0.conv\""), Error);
  CHECK_THROWS_WITH_AS(net->parameter("0.conv.wieght"),
                       doctest::Contains("no parameter \"0.conv.wieght\"; closest: \"0.conv.weight\""), Error);
  CHECK_THROWS_WITH_AS(net->parameter("3.weight"), doctest::Contains("no parameter \"3.weight\""), Error);
  Conv2d on_stack(1, 1, 1);
  CHECK_THROWS_WITH_AS(on_stack.find(""), doctest::Contains("std::make_shared"), Error);
  CHECK((*net)[-1]->type_name() == "ReLU");
  CHECK_THROWS_WITH_AS((*net)[2], doctest::Contains("index 2 is out of range for 2 module(s)"), Error);
}

TEST_CASE("module: forward hooks observe and replace outputs, also on children, and can be removed") {
  auto relu = std::make_shared<ReLU>();
  auto lin = std::make_shared<Linear>(3, 2);
  Sequential seq(lin, relu);
  Shape seen_in, seen_out;
  int calls = 0;
  int observe = lin->register_forward_hook([&](Module& m, const Tensor& in, const Tensor& out) {
    seen_in = in.shape();
    seen_out = out.shape();
    ++calls;
    CHECK(m.type_name() == "Linear");
    return Tensor();  // keep the output
  });
  Tensor x = randn({4, 3});
  Tensor plain = seq(x);
  CHECK(calls == 1);
  CHECK(seen_in == Shape{4, 3});
  CHECK(seen_out == Shape{4, 2});
  int replace = seq.register_forward_hook([](Module&, const Tensor&, const Tensor& out) { return add(out, 10.0); });
  CHECK_CLOSE(seq(x), add(plain, 10.0), 1e-6, 0, "replaced output");
  CHECK(calls == 2);
  seq.remove_forward_hook(replace);
  lin->remove_forward_hook(observe);
  CHECK_CLOSE(seq(x), plain, 0, 0, "hooks removed");
  CHECK(calls == 2);
  CHECK_THROWS_WITH_AS(seq.remove_forward_hook(replace), doctest::Contains("no hook with handle"), Error);
}

TEST_CASE("module: train/eval propagate to every descendant") {
  auto net = std::make_shared<Sequential>(small_net(), std::make_shared<Dropout>());
  CHECK(net->is_training());
  net->eval();
  for (auto& [name, m] : net->named_modules()) CHECK_MESSAGE(!m->is_training(), name, " still training");
  net->find("0")->train();
  CHECK_FALSE(net->is_training());
  CHECK(net->find("0.1")->is_training());
  net->train();
  for (auto& [name, m] : net->named_modules()) CHECK_MESSAGE(m->is_training(), name, " not training");
}

TEST_CASE("module: to(Float64) converts floating tensors in place and zero_grad clears grads") {
  auto net = small_net();
  Tensor w = net->parameter("0.weight");
  Tensor mean = net->find("1")->named_buffers()[0].second;
  std::vector<double> values = w.to_vector<double>();
  net->to(DType::Float64);
  CHECK(w.dtype() == DType::Float64);  // the old handle sees the conversion
  CHECK(w.to_vector<double>() == values);
  CHECK(w.requires_grad());
  CHECK(mean.dtype() == DType::Float64);
  CHECK(net->state_dict().at("1.num_batches_tracked").dtype() == DType::Int64);
  Tensor y = (*net)(randn({2, 3, 6, 6}, DType::Float64));
  CHECK(y.dtype() == DType::Float64);
  sum(y).backward();
  CHECK(w.grad().defined());
  net->zero_grad();
  CHECK_FALSE(w.grad().defined());
  CHECK_THROWS_WITH_AS(net->to(DType::Int64), doctest::Contains("not a floating-point dtype"), Error);
}

TEST_CASE("module: py_float prints floats as Python's repr") {
  CHECK(py_float(1e-5) == "1e-05");
  CHECK(py_float(0.1) == "0.1");
  CHECK(py_float(0.001) == "0.001");
  CHECK(py_float(0.0001) == "0.0001");
  CHECK(py_float(1.0) == "1.0");
  CHECK(py_float(0.25) == "0.25");
  CHECK(py_float(12345.5) == "12345.5");
  CHECK(py_float(1e16) == "1e+16");
  CHECK(py_float(-1.5e-7) == "-1.5e-07");
  CHECK(py_float(100.0) == "100.0");
}

TEST_CASE("init: uniform_ draws into the tensor, the same values in every dtype and layout, nothing cached") {
  using namespace fk;
  manual_seed(7);
  Tensor f32 = empty({64, 32, 3, 3});
  init::uniform_(f32, -0.25, 0.5);
  manual_seed(7);
  Tensor f64 = empty({64, 32, 3, 3}, DType::Float64);
  init::uniform_(f64, -0.25, 0.5);
  CHECK(f32.to_vector<float>() == f64.to(DType::Float32).to_vector<float>());  // double values rounded to float
  const std::vector<double> v = f64.to_vector<double>();
  CHECK(*std::min_element(v.begin(), v.end()) >= -0.25);
  CHECK(*std::max_element(v.begin(), v.end()) < 0.5);
  // a non-contiguous view goes through the staged copy: the same draws, in its own element order
  manual_seed(7);
  Tensor t = fk::transpose(empty({32 * 3 * 3, 64}), 0, 1);
  REQUIRE_FALSE(t.is_contiguous());
  init::uniform_(t, -0.25, 0.5);
  CHECK(t.contiguous().to_vector<float>() == f32.to_vector<float>());
  // initialising a layer leaves no staging buffer in the CPU allocator's cache
  cpu_empty_cache();
  Conv2d conv(256, 256, 3, 1, 1);
  CHECK(cpu_cache_stats().cached_bytes == 0);
}
