// Whole zoo models on CUDA vs the CPU: every architecture models::architectures() lists, built with
// deterministic weights (every entry, BatchNorm statistics included, set to seeded values: see
// vary_entries), in eval mode on a small batch at its input
// size; a deep copy (load_state_dict of the same state dict) moved with Module::to(Device::cuda())
// must give every named output within
//     max |gpu - cpu| <= 1e-3 * max(1, max |cpu|)        (float32: deep conv stacks sum in other orders)
// For ir_small, mobilefacenet and resnet50_torchvision also train mode (dropout off): forward, the
// scalar loss sum(out * r) for a fixed random r, backward, and every parameter gradient within
//     max |gpu - cpu| <= 1e-3 * max |cpu grad of that parameter| + 1e-6 * largest |grad| of the model
// plus the running statistics BatchNorm updated. The ResNet runs in float64: at batch 2 its 53
// train-mode BatchNorms amplify float32 rounding until gradients differ by ~10 % between any two
// summation orders (measured on an H100 with seeded weights: cuDNN and native differ from the CPU
// and from each other), while the same math in float64 must agree to far better than 1e-3.
// Each GPU run is repeated under both convolution backends (cuDNN and the native im2col + cuBLAS),
// the CPU reference computed once.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "autograd/node.h"
#include "cuda/runtime.h"
#include "layers/activation.h"
#include "models/zoo/zoo.h"
#include "tensor/creation.h"
#include "tensor/ops.h"
#include "tensor/random.h"

// set_conv_backend exists only in CUDA builds (this file is compiled, and skips, in CPU builds too)
#if defined(FK_WITH_CUDA) && __has_include("cuda/conv.h")
#include "cuda/conv.h"
#define FK_TEST_CONV_BACKENDS 1
#endif

using namespace fk;

namespace {

// The convolution backends to run the GPU side under (name, setter).
struct Backend {
  std::string name;
  void (*select)();
};
std::vector<Backend> conv_backends() {
#ifdef FK_TEST_CONV_BACKENDS
  return {{"cudnn", [] { cuda::set_conv_backend(cuda::ConvBackend::Cudnn); }},
          {"native", [] { cuda::set_conv_backend(cuda::ConvBackend::Native); }}};
#else
  return {{"default", [] {}}};
#endif
}

// Gives the choice back to FK_CONV when a case ends, also on a failed REQUIRE.
struct RestoreConvBackend {
  ~RestoreConvBackend() {
#ifdef FK_TEST_CONV_BACKENDS
    cuda::set_conv_backend(cuda::ConvBackend::FromEnv);
#endif
  }
};

// Seeded values for every floating-point entry. 1-d ones (BatchNorm/PReLU parameters, running
// statistics, biases) make eval-mode BatchNorm more than the identity: running_var in [0.5, 1.5),
// running_mean and biases in [-0.1, 0.1), PReLU slopes in [0.15, 0.35), other weights in [0.5, 1).
// Conv and Linear weights get PyTorch's default range uniform(+-1/sqrt(fan_in)): insightface's own
// init (normal, std 0.1) grows iresnet100's 49 residual blocks past float32's range in eval mode.
void vary_entries(Module& m, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  auto ends = [](const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  };
  for (const auto& [key, t] : m.state_dict()) {
    if (t.dim() == 0 || t.dtype() != DType::Float32) continue;
    float* d = t.data<float>();
    if (t.dim() >= 2) {
      const double bound = 1.0 / std::sqrt(double(t.numel() / t.size(0)));
      for (int64_t i = 0; i < t.numel(); ++i) d[i] = float(bound * (2 * u(gen) - 1));
      continue;
    }
    for (int64_t i = 0; i < t.numel(); ++i) {
      const double r = u(gen);
      if (ends(key, "running_var")) d[i] = float(0.5 + r);
      else if (ends(key, "running_mean") || ends(key, "bias")) d[i] = float(0.2 * (r - 0.5));
      else if (key.find("prelu") != std::string::npos || key.find("PReLU") != std::string::npos) d[i] = float(0.15 + 0.2 * r);
      else d[i] = float(0.5 + 0.5 * r);
    }
  }
}

// "" when max |got - want| <= allowed, else a report naming the worst element.
std::string within(const Tensor& got_any_device, const Tensor& want, double allowed) {
  Tensor got = got_any_device.to(Device::cpu());
  if (got.shape() != want.shape()) return "shape " + shape_str(got.shape()) + " vs " + shape_str(want.shape());
  const std::vector<double> a = got.to_vector<double>(), b = want.to_vector<double>();
  double err = 0;
  size_t worst = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    const double e = std::abs(a[i] - b[i]);
    if (!(e <= err)) err = e, worst = i;  // NaN counts as the worst
  }
  if (err <= allowed) return "";
  return "max |diff| " + std::to_string(err) + " at flat index " + std::to_string(worst) + " (gpu " +
         std::to_string(a[worst]) + ", cpu " + std::to_string(b[worst]) + "), allowed " + std::to_string(allowed);
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to(Device::cpu()).to_vector<double>())
    if (!(std::abs(v) <= m)) m = std::abs(v);  // a NaN makes the result NaN
  return m;
}

// The input of a model: its fixed size, or 24x24 for the any-size PNet.
Shape input_shape(const models::ArchInfo& arch, int64_t batch) {
  return {batch, arch.channels, arch.height > 0 ? arch.height : 24, arch.width > 0 ? arch.width : 24};
}

// A deterministic model of `arch` and an identical deep copy on the GPU.
struct ModelPair {
  std::shared_ptr<models::Model> cpu, gpu;
};
ModelPair make_pair(const models::ArchInfo& arch, const models::ArchOptions& opts, uint32_t seed) {
  manual_seed(seed);
  ModelPair p;
  p.cpu = arch.make(opts);
  vary_entries(*p.cpu, seed);
  p.gpu = arch.make(opts);
  p.gpu->load_state_dict(p.cpu->state_dict());
  p.gpu->to(Device::cuda());
  return p;
}

void dropout_off(models::Model& m) {
  for (auto& [name, mod] : m.named_modules())
    if (auto* d = dynamic_cast<Dropout*>(mod.get())) d->p = 0.0;
}

}  // namespace

TEST_CASE("models: every zoo architecture's eval forward on CUDA matches the CPU") {
  RestoreConvBackend restore;
  const auto& archs = models::architectures();
  REQUIRE(archs.size() >= 10);
  uint32_t seed = 100;
  for (const auto& arch : archs) {
    ++seed;
    // big inputs at batch 1 keep the CPU side quick; BatchNorm1d in eval mode takes any batch
    const int64_t batch = arch.height >= 160 ? 1 : 2;
    ModelPair p = make_pair(arch, {}, seed);
    p.cpu->eval();
    p.gpu->eval();
    manual_seed(seed);
    Tensor x = randn(input_shape(arch, batch));
    models::NamedOutputs want;
    {
      autograd::NoGrad no_grad;
      want = p.cpu->forward_outputs(x);
    }
    REQUIRE(!want.empty());
    bool finite = true;  // a meaningful reference: no overflow on the CPU
    for (const auto& [name, y] : want) {
      CHECK_MESSAGE(std::isfinite(max_abs(y)), arch.name << " CPU output '" << name << "' is not finite");
      finite = finite && std::isfinite(max_abs(y));
    }
    if (!finite) continue;
    for (const Backend& backend : conv_backends()) {
      backend.select();
      models::NamedOutputs got;
      {
        autograd::NoGrad no_grad;
        got = p.gpu->forward_outputs(x.to(Device::cuda()));
      }
      REQUIRE(got.size() == want.size());
      for (size_t i = 0; i < want.size(); ++i) {
        const auto& [name, y] = want[i];
        CHECK(got[i].first == name);
        CHECK(got[i].second.device() == Device::cuda());
        const double allowed = 1e-3 * std::max(1.0, max_abs(y));
        const std::string r = within(got[i].second, y, allowed);
        CHECK_MESSAGE(r.empty(), arch.name << " " << shape_str(x.shape()) << " eval output '" << name << "' ("
                                           << backend.name << "): " << r);
      }
    }
  }
}

TEST_CASE("models: train-mode forward and every parameter gradient on CUDA match the CPU") {
  RestoreConvBackend restore;
  struct Case {
    std::string arch;
    int64_t batch;
    models::ArchOptions opts;
    DType dtype;
  };
  models::ArchOptions ten_classes;
  ten_classes.num_classes = 10;
  const std::vector<Case> cases = {{"ir_small", 4, {}, DType::Float32},
                                   {"mobilefacenet", 4, {}, DType::Float32},
                                   {"resnet50_torchvision", 2, ten_classes, DType::Float64}};
  uint32_t seed = 500;
  for (const Case& c : cases) {
    ++seed;
    const models::ArchInfo& arch = models::find_architecture(c.arch);
    std::shared_ptr<models::Model> cpu_model = make_pair(arch, c.opts, seed).cpu;
    dropout_off(*cpu_model);
    cpu_model->to(c.dtype);
    manual_seed(seed);
    const Tensor x = randn(input_shape(arch, c.batch), c.dtype);

    // the CPU reference: outputs, loss = sum over outputs of sum(out * r_name), gradients, buffers
    cpu_model->train();
    Tensor loss;
    std::vector<Tensor> weights;  // r for each output
    models::NamedOutputs want = cpu_model->forward_outputs(x);
    for (const auto& [name, y] : want) {
      weights.push_back(randn(y.shape(), c.dtype));
      Tensor term = sum(mul(y, weights.back()));
      loss = loss.defined() ? add(loss, term) : term;
    }
    loss.backward();
    const NamedTensors want_params = cpu_model->named_parameters();
    const NamedTensors want_buffers = cpu_model->named_buffers();
    double largest_grad = 0;
    for (const auto& [name, w] : want_params)
      if (w.grad().defined()) largest_grad = std::max(largest_grad, max_abs(w.grad()));
    REQUIRE(largest_grad > 0);

    // Each backend gets a fresh GPU copy of the initial weights (a train-mode forward moves the
    // running statistics), so both are compared with the same reference.
    for (const Backend& backend : conv_backends()) {
      backend.select();
      std::shared_ptr<models::Model> gpu_model = make_pair(arch, c.opts, seed).gpu;
      dropout_off(*gpu_model);
      gpu_model->to(c.dtype);
      gpu_model->train();
      Tensor gpu_loss;
      models::NamedOutputs got = gpu_model->forward_outputs(x.to(Device::cuda()));
      REQUIRE(got.size() == want.size());
      for (size_t i = 0; i < got.size(); ++i) {
        const std::string r = within(got[i].second, want[i].second, 1e-3 * std::max(1.0, max_abs(want[i].second)));
        CHECK_MESSAGE(r.empty(), c.arch << " train output '" << want[i].first << "' (" << backend.name << "): " << r);
        Tensor term = sum(mul(got[i].second, weights[i].to(Device::cuda())));
        gpu_loss = gpu_loss.defined() ? add(gpu_loss, term) : term;
      }
      CHECK(std::isfinite(gpu_loss.item()));
      gpu_loss.backward();

      const NamedTensors got_params = gpu_model->named_parameters();
      REQUIRE(got_params.size() == want_params.size());
      int compared = 0;
      std::vector<std::string> bad;  // one line per parameter out of tolerance
      for (size_t i = 0; i < got_params.size(); ++i) {
        const auto& [name, w] = want_params[i];
        const Tensor& g = got_params[i].second;
        REQUIRE(got_params[i].first == name);
        CHECK_MESSAGE(g.grad().defined() == w.grad().defined(), c.arch << " " << name << ": gradient presence differs");
        if (!w.grad().defined() || !g.grad().defined()) continue;
        CHECK(g.grad().device() == Device::cuda());
        const double allowed = 1e-3 * max_abs(w.grad()) + 1e-6 * largest_grad;
        const std::string r = within(g.grad(), w.grad(), allowed);
        if (!r.empty()) bad.push_back(name + " " + shape_str(w.shape()) + ": " + r);
        ++compared;
      }
      CHECK(compared > 10);
      std::string first;
      for (size_t i = 0; i < bad.size() && i < 6; ++i) first += "\n    " + bad[i];
      CHECK_MESSAGE(bad.empty(), c.arch << " (" << backend.name << "): " << bad.size() << " of " << compared
                                        << " parameter gradients differ, first:" << first);
      const NamedTensors got_buffers = gpu_model->named_buffers();
      REQUIRE(got_buffers.size() == want_buffers.size());
      for (size_t i = 0; i < got_buffers.size(); ++i) {
        const auto& [name, b] = want_buffers[i];
        const std::string r = within(got_buffers[i].second, b, 1e-3 * std::max(1.0, max_abs(b)));
        CHECK_MESSAGE(r.empty(), c.arch << " buffer " << name << " after the train step (" << backend.name << "): " << r);
      }
    }
  }
}
