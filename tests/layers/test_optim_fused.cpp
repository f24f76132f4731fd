// The optimisers' fused CPU pass (layers/optim.h): a group's parameters updated as one range split over
// the threads, its state in one flat buffer per field. It must give the bits of the one-parameter-at-a-
// time path (update()), which test_optim.cpp checks against torch.optim. Here the same tensors go
// through both paths side by side: a group whose parameters are all float32 takes the fused pass; the
// same group with one float64 parameter added cannot, and is updated one parameter at a time. The
// tensors are large enough (> 2 x 32768 elements in all) for the threads' shares to start and end inside
// tensors, and odd-sized so that no share lines up with a tensor's edge.
#include <cstring>
#include <functional>

#include "layers/optim.h"
#include "tensor/creation.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace fk;
using namespace fk::optim;

namespace {

// Float32 parameters of odd sizes (a 0-d one, a 1-element one, big ones), each with requires_grad.
NamedTensors make_params(uint64_t seed) {
  manual_seed(seed);
  NamedTensors out;
  const std::vector<Shape> shapes = {{40001}, {}, {3, 7}, {1}, {257, 131}, {5}};
  const char* names[] = {"p0", "p1", "p2", "p3", "p4", "p5"};
  for (size_t i = 0; i < shapes.size(); ++i) {
    Tensor p = randn(shapes[i]);
    p.requires_grad_(true);
    out.emplace_back(names[i], p);
  }
  return out;
}

NamedTensors clone_params(const NamedTensors& params) {
  NamedTensors out;
  for (const auto& [name, p] : params) {
    Tensor c = p.clone();
    c.requires_grad_(true);
    out.emplace_back(name, c);
  }
  return out;
}

// Gives every parameter in `params` the gradient randn(shape) * scale from a fixed seed per step.
void set_grads(const NamedTensors& params, int step, const std::function<bool(size_t)>& has_grad) {
  manual_seed(1000 + uint64_t(step));
  for (size_t i = 0; i < params.size(); ++i) {
    Tensor p = params[i].second;
    Tensor g = randn(p.shape(), p.dtype());  // drawn for every parameter: the same values either way
    if (has_grad(i)) p.set_grad(g);
  }
}

// The element-wise difference count between two same-shape float32 tensors (0: same bits).
int64_t count_different(const Tensor& a, const Tensor& b) {
  auto x = a.to_vector<float>(), y = b.to_vector<float>();
  REQUIRE(x.size() == y.size());
  int64_t n = 0;
  for (size_t i = 0; i < x.size(); ++i) n += std::memcmp(&x[i], &y[i], sizeof(float)) != 0;
  return n;
}

using MakeOptimizer = std::function<std::unique_ptr<Optimizer>(std::vector<ParamGroup>)>;

// Runs `steps` steps of the optimiser on a fused group and on the same group made unfusable by a
// float64 passenger, and checks that every parameter and every state field ends with the same bits.
void check_same_bits(const MakeOptimizer& make, int steps, const std::function<bool(size_t, int)>& has_grad) {
  NamedTensors fused_params = make_params(7);
  NamedTensors single_params = clone_params(fused_params);
  Tensor passenger = randn({3}, DType::Float64);
  passenger.requires_grad_(true);
  NamedTensors single_group = single_params;
  single_group.emplace_back("passenger", passenger);
  auto fused = make({ParamGroup{fused_params, kUnset, 1e-2}});
  auto single = make({ParamGroup{single_group, kUnset, 1e-2}});
  for (int step = 0; step < steps; ++step) {
    auto grads = [&](size_t i) { return has_grad(i, step); };
    set_grads(fused_params, step, grads);
    set_grads(single_params, step, grads);
    passenger.set_grad(ones({3}, DType::Float64));
    fused->step();
    single->step();
    fused->zero_grad(/*set_to_none=*/true);
    single->zero_grad(/*set_to_none=*/true);
  }
  for (size_t i = 0; i < fused_params.size(); ++i)
    CHECK_MESSAGE(count_different(fused_params[i].second, single_params[i].second) == 0, fused_params[i].first);
  StateDict a = fused->state_dict(), b = single->state_dict();
  for (const auto& [key, t] : a) {
    CAPTURE(key);
    REQUIRE(b.contains(key));
    if (t.dtype() == DType::Float32) CHECK(count_different(t, b.at(key)) == 0);
    else CHECK(t.item() == b.at(key).item());
  }
}

std::function<bool(size_t, int)> every_step() {
  return [](size_t, int) { return true; };
}

}  // namespace

TEST_CASE("optim fused: SGD (momentum, dampening, Nesterov, weight decay) gives the one-by-one bits") {
  check_same_bits(
      [](std::vector<ParamGroup> g) {
        return std::make_unique<SGD>(std::move(g), SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.1});
      },
      4, every_step());
  check_same_bits(
      [](std::vector<ParamGroup> g) {
        return std::make_unique<SGD>(std::move(g), SGDOptions{.lr = 0.05, .momentum = 0.9, .nesterov = true});
      },
      3, every_step());
  check_same_bits([](std::vector<ParamGroup> g) { return std::make_unique<SGD>(std::move(g), SGDOptions{.lr = 0.1}); },
                  2, every_step());
}

TEST_CASE("optim fused: Adam, AdamW and amsgrad give the one-by-one bits") {
  check_same_bits([](std::vector<ParamGroup> g) { return std::make_unique<Adam>(std::move(g), AdamOptions{}); }, 4,
                  every_step());
  check_same_bits([](std::vector<ParamGroup> g) { return std::make_unique<AdamW>(std::move(g), AdamOptions{}); }, 3,
                  every_step());
  check_same_bits(
      [](std::vector<ParamGroup> g) {
        return std::make_unique<Adam>(std::move(g), AdamOptions{.lr = 1e-2, .amsgrad = true});
      },
      3, every_step());
}

TEST_CASE("optim fused: a parameter whose first gradient comes later starts its state then, as torch") {
  // parameter 4 gets no gradient in step 0: from step 1 its state is younger than the others', which
  // the fused pass cannot take (SGD's first-step buffer, Adam's per-step bias corrections); either way
  // the results must be those of updating each parameter on its own
  auto late = [](size_t i, int step) { return i != 4 || step > 0; };
  check_same_bits(
      [](std::vector<ParamGroup> g) { return std::make_unique<SGD>(std::move(g), SGDOptions{.lr = 0.1, .momentum = 0.9}); },
      3, late);
  check_same_bits([](std::vector<ParamGroup> g) { return std::make_unique<AdamW>(std::move(g), AdamOptions{}); }, 3,
                  late);
}

TEST_CASE("optim fused: the group's state is one flat buffer that state_dict copies out") {
  NamedTensors params = make_params(3);
  set_grads(params, 0, [](size_t) { return true; });
  SGD opt(params, SGDOptions{.lr = 0.1, .momentum = 0.9});
  opt.step();
  // momentum buffers after the first step are the gradients; state_dict gives one tensor per parameter
  StateDict sd = opt.state_dict();
  for (const auto& [name, p] : params) {
    CAPTURE(name);
    Tensor buf = sd.at("state." + name + ".momentum_buffer");
    CHECK(buf.shape() == p.shape());
    CHECK(count_different(buf, p.grad()) == 0);
  }
  // a state dict loaded back (separate tensors, not views of one buffer) continues with the same bits
  NamedTensors again = clone_params(params);
  SGD copy(again, SGDOptions{.lr = 0.1, .momentum = 0.9});
  copy.load_state_dict(sd);
  set_grads(params, 1, [](size_t) { return true; });
  set_grads(again, 1, [](size_t) { return true; });
  opt.step();
  copy.step();
  for (size_t i = 0; i < params.size(); ++i)
    CHECK_MESSAGE(count_different(params[i].second, again[i].second) == 0, params[i].first);
}

TEST_CASE("optim fused: zero_grad zeroes every CPU gradient in one pass") {
  NamedTensors params = make_params(5);
  set_grads(params, 0, [](size_t) { return true; });
  SGD opt(params, SGDOptions{.lr = 0.1});
  opt.zero_grad();
  for (const auto& [name, p] : params) {
    CAPTURE(name);
    REQUIRE(p.grad().defined());
    CHECK(count_different(p.grad(), zeros(p.shape())) == 0);
  }
}
