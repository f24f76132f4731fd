// The fused optimiser updates on the GPU (cuda/optim.cu) vs the CPU loops: SGD with each flag and
// Adam / AdamW (with and without amsgrad) over several steps (float64 1e-12, float32 1e-6), the
// state on the parameter's device, state_dict (CPU copies) and load_state_dict mid-run (state back
// on the GPU), and clip_grad_norm_ / clip_grad_value_ on GPU gradients.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <memory>

#include "layers/optim.h"
#include "tensor/creation.h"
#include "test_util.h"

using namespace fk;
using namespace fk::optim;

namespace {

using MakeOpt = std::function<std::unique_ptr<Optimizer>(const NamedTensors&)>;

void check_close(const Tensor& got, const Tensor& ref, DType dt, const std::string& what) {
  double tol = dt == DType::Float64 ? 1e-12 : 1e-6;
  CHECK_CLOSE(got, ref, tol, tol, what);
}

// Two parameters w (6, 5) and b (5) trained by the same optimiser on both devices for 6 steps; after
// step 3 the GPU optimiser's state_dict is loaded into a fresh one, which carries on.
void compare_optimizer(const MakeOpt& make, DType dt, const std::string& name) {
  std::string what = name + " (" + dtype_name(dt) + ")";
  Tensor w0 = randn({6, 5}, dt), b0 = randn({5}, dt);
  Tensor wc = w0.clone().requires_grad_(), bc = b0.clone().requires_grad_();
  Tensor wg = w0.to(Device::cuda()).requires_grad_(), bg = b0.to(Device::cuda()).requires_grad_();
  auto oc = make({{"w", wc}, {"b", bc}});
  auto og = make({{"w", wg}, {"b", bg}});
  for (int step = 1; step <= 6; ++step) {
    Tensor gw = randn({6, 5}, dt), gb = randn({5}, dt);
    wc.set_grad(gw.clone());
    bc.set_grad(gb.clone());
    wg.set_grad(gw.to(Device::cuda()));
    bg.set_grad(gb.to(Device::cuda()));
    oc->step();
    og->step();
    REQUIRE(wg.device().is_cuda());
    check_close(wg.detach(), wc.detach(), dt, what + " w after step " + std::to_string(step));
    check_close(bg.detach(), bc.detach(), dt, what + " b after step " + std::to_string(step));
    if (step == 3) {
      StateDict sc = oc->state_dict(), sg = og->state_dict();
      REQUIRE(sc.size() == sg.size());
      for (const auto& [key, t] : sc) {
        const Tensor& u = sg.at(key);
        CHECK_MESSAGE(u.device().is_cpu(), what << ": state_dict entry " << key << " should be a CPU copy");
        check_close(u, t, dt, what + " state " + key);
      }
      auto og2 = make({{"w", wg}, {"b", bg}});
      og2->load_state_dict(sg);
      og = std::move(og2);  // the loaded optimiser carries on (its state back on the GPU)
    }
  }
  oc->zero_grad();
  og->zero_grad();
  CHECK(wg.grad().device().is_cuda());
  CHECK(wg.grad().to_vector<double>() == std::vector<double>(30, 0.0));
}

}  // namespace

TEST_CASE("SGD: fused GPU updates match the CPU for each flag") {
  manual_seed(301);
  struct Flags {
    const char* name;
    double momentum, dampening, wd;
    bool nesterov;
  };
  for (Flags f : {Flags{"plain", 0, 0, 0, false}, Flags{"weight_decay", 0, 0, 1e-2, false},
                  Flags{"momentum", 0.9, 0, 0, false}, Flags{"momentum_dampening", 0.9, 0.25, 1e-3, false},
                  Flags{"nesterov", 0.9, 0, 5e-4, true}}) {
    SUBCASE(f.name) {
      for (DType dt : {DType::Float64, DType::Float32}) {
        compare_optimizer(
            [f](const NamedTensors& ps) {
              SGDOptions o;
              o.lr = 0.05;
              o.momentum = f.momentum;
              o.dampening = f.dampening;
              o.weight_decay = f.wd;
              o.nesterov = f.nesterov;
              return std::make_unique<SGD>(ps, o);
            },
            dt, std::string("SGD ") + f.name);
      }
    }
  }
}

TEST_CASE("Adam and AdamW: fused GPU updates match the CPU (amsgrad too)") {
  manual_seed(302);
  for (bool decoupled : {false, true}) {
    for (bool amsgrad : {false, true}) {
      for (DType dt : {DType::Float64, DType::Float32}) {
        compare_optimizer(
            [=](const NamedTensors& ps) -> std::unique_ptr<Optimizer> {
              AdamOptions o;
              o.lr = 0.01;
              o.weight_decay = 0.02;
              o.amsgrad = amsgrad;
              if (decoupled) return std::make_unique<AdamW>(ps, o);
              return std::make_unique<Adam>(ps, o);
            },
            dt, std::string(decoupled ? "AdamW" : "Adam") + (amsgrad ? " amsgrad" : ""));
      }
    }
  }
}

TEST_CASE("clip_grad_norm_ and clip_grad_value_: GPU gradients clipped as on the CPU") {
  manual_seed(303);
  for (DType dt : {DType::Float64, DType::Float32}) {
    for (double norm_type : {2.0, 1.0, std::numeric_limits<double>::infinity()}) {
      Tensor a = randn({4, 3}, dt), b = randn({7}, dt);
      std::vector<Tensor> pc = {a.clone().requires_grad_(), b.clone().requires_grad_()};
      std::vector<Tensor> pg = {a.to(Device::cuda()).requires_grad_(), b.to(Device::cuda()).requires_grad_()};
      for (size_t i = 0; i < 2; ++i) {
        Tensor g = ops::mul(randn(pc[i].shape(), dt), 3.0);
        pc[i].set_grad(g.clone());
        pg[i].set_grad(g.to(Device::cuda()));
      }
      double tc = clip_grad_norm_(pc, 1.5, norm_type), tg = clip_grad_norm_(pg, 1.5, norm_type);
      CHECK(tg == doctest::Approx(tc).epsilon(1e-12));
      CHECK(tc > 1.5);  // the gradients were scaled down
      for (size_t i = 0; i < 2; ++i) check_close(pg[i].grad(), pc[i].grad(), dt, "clip_grad_norm_ grad");
      clip_grad_value_(pc, 0.2);
      clip_grad_value_(pg, 0.2);
      for (size_t i = 0; i < 2; ++i) {
        check_close(pg[i].grad(), pc[i].grad(), dt, "clip_grad_value_ grad");
        CHECK(pg[i].grad().device().is_cuda());
      }
    }
  }
}
