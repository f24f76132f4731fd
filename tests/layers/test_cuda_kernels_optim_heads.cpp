// The per-index CUDA kernels of the margin heads (cuda/heads_kernels.h) and of the fused optimiser
// updates (cuda/optim_kernels.h), run on the CPU with cuda::emulate:
//  - the margin functors against the heads' former composed-op formulas (autograd ops, float64):
//    logits and the gradient reaching the cosines, for every head kind;
//  - the SGD / Adam functors against the CPU optimisers over several steps (bit for bit in float64);
//  - the clipping functors against torch's formulas.
#include <cmath>
#include <numbers>
#include <vector>

#include "cuda/heads_kernels.h"
#include "cuda/optim_kernels.h"
#include "layers/heads.h"
#include "layers/optim.h"
#include "tensor/creation.h"
#include "test_util.h"

using namespace fk;

namespace {

// The reference: the margin logits as the heads composed them from autograd ops before the fused
// kernel, for cos (N, C) (requires grad) and a Bool onehot mask.
Tensor composed_margin(const Tensor& cos_all, const Tensor& onehot, const MarginParams& p) {
  Tensor c = sum(mul(cos_all, onehot.to(cos_all.dtype())), {1}, true);  // (N, 1) target cosine
  Tensor phi;
  switch (p.kind) {
    case MarginKind::ArcFaceEgcode:
      phi = fk::cos(add(acos(clamp(c, -1.0 + 1e-4, 1.0 - 1e-4)), p.m));
      break;
    case MarginKind::ArcFace: {
      Tensor sin_t = sqrt(clamp(sub(1.0, mul(c, c)), 1e-12, 1.0));
      phi = sub(mul(c, std::cos(p.m)), mul(sin_t, std::sin(p.m)));
      if (p.easy_margin)
        phi = where(gt(c, 0.0), phi, c);
      else
        phi = where(gt(c, std::cos(std::numbers::pi - p.m)), phi, sub(c, std::sin(std::numbers::pi - p.m) * p.m));
      break;
    }
    case MarginKind::CosFace:
      phi = sub(c, p.m);
      break;
    case MarginKind::SphereFace: {
      const int64_t m = int64_t(p.m);
      Tensor t_prev = ones_like(c), t_cur = c;
      for (int64_t n = 1; n < m; ++n) {
        Tensor t_next = sub(mul(mul(c, t_cur), 2.0), t_prev);
        t_prev = t_cur;
        t_cur = t_next;
      }
      Tensor k = zeros_like(c), sign = ones_like(c);
      {
        autograd::NoGrad no_grad;
        Tensor mt = ops::mul(ops::acos(c.detach()), double(m) / std::numbers::pi);
        for (int64_t j = 1; j <= m; ++j) {
          Tensor passed = ops::ge(mt, double(j)).to(c.dtype());
          k = ops::add(k, passed);
          sign = ops::mul(sign, ops::sub(1.0, ops::mul(passed, 2.0)));
        }
      }
      Tensor psi = sub(mul(t_cur, sign), mul(k, 2.0));
      phi = div(add(mul(c, p.lambda), psi), 1.0 + p.lambda);
      break;
    }
  }
  return mul(where(onehot, phi, cos_all), p.s);
}

std::vector<std::pair<const char*, MarginParams>> margin_kinds() {
  auto arc = [](bool easy) {
    MarginParams p;
    p.kind = MarginKind::ArcFace;
    p.s = 64;
    p.m = 0.5;
    p.easy_margin = easy;
    p.cos_m = std::cos(0.5);
    p.sin_m = std::sin(0.5);
    p.th = std::cos(std::numbers::pi - 0.5);
    p.mm = std::sin(std::numbers::pi - 0.5) * 0.5;
    return p;
  };
  MarginParams eg;
  eg.kind = MarginKind::ArcFaceEgcode;
  eg.s = 32;
  eg.m = 0.5;
  MarginParams cf;
  cf.kind = MarginKind::CosFace;
  cf.s = 64;
  cf.m = 0.4;
  MarginParams sf;
  sf.kind = MarginKind::SphereFace;
  sf.s = 1;
  sf.m = 4;
  sf.lambda = 5.5;
  return {{"arcface", arc(false)}, {"arcface_easy", arc(true)}, {"arcface_egcode", eg}, {"cosface", cf},
          {"sphereface", sf}};
}

}  // namespace

TEST_CASE("cuda margin kernels: forward and backward functors match the composed-op heads (emulated)") {
  manual_seed(21);
  const int64_t N = 8, C = 6;
  // cosines spread over (-1, 1), incl. the ArcFace fallback region (cos < cos(pi - m) = -0.878)
  Tensor cos_v = ops::sub(ops::mul(rand({N, C}, DType::Float64), 1.98), 0.99);
  cos_v.data<double>()[0 * C + 2] = -0.95;  // row 0's target: past pi - m
  cos_v.data<double>()[1 * C + 0] = -0.2;   // row 1's target: negative (easy_margin keeps cos)
  std::vector<int64_t> lab = {2, 0, 5, -1, 3, 1, 4, -1};
  Tensor labels = tensor(std::vector<double>(lab.begin(), lab.end()), {N}, DType::Int64);
  Tensor onehot = ops::eq(ops::reshape(labels, {N, 1}), ops::reshape(arange(0.0, double(C), 1.0, DType::Int64), {1, C}));
  Tensor g = randn({N, C}, DType::Float64);
  for (const auto& [name, p] : margin_kinds()) {
    SUBCASE(name) {
      Tensor c = cos_v.detach().clone().requires_grad_();
      Tensor ref = composed_margin(c, onehot, p);
      sum(mul(ref, g)).backward();
      Tensor y = full({N, C}, std::nan(""), DType::Float64), dc = full({N, C}, std::nan(""), DType::Float64);
      cuda::emulate(N * C, cuda::MarginLogitsForward<double>{cos_v.data<double>(), lab.data(), C, p, y.data<double>()});
      cuda::emulate(N * C, cuda::MarginLogitsBackward<double>{g.data<double>(), cos_v.data<double>(), lab.data(), C, p,
                                                              dc.data<double>()});
      CHECK_CLOSE(y, ref.detach(), 1e-12, 1e-12, std::string(name) + " logits");
      CHECK_CLOSE(dc, c.grad(), 1e-10, 1e-10, std::string(name) + " dcos");
      // the public fused op gives the same on the CPU, through autograd
      Tensor c2 = cos_v.detach().clone().requires_grad_();
      Tensor y2 = margin_logits(c2, labels, p);
      sum(mul(y2, g)).backward();
      CHECK_CLOSE(y2.detach(), ref.detach(), 1e-12, 1e-12, std::string(name) + " margin_logits");
      CHECK_CLOSE(c2.grad(), c.grad(), 1e-10, 1e-10, std::string(name) + " margin_logits backward");
    }
  }
}

TEST_CASE("cuda margin kernels: hand-worked CosFace and ArcFace logits") {
  // cos = 0.6 at the target: CosFace s(c - m) = 2*(0.6 - 0.4) = 0.4; ArcFace s cos(acos(0.6) + 0.5)
  double cosv[2] = {0.6, 0.1};
  int64_t lab[1] = {0};
  double y[2];
  MarginParams cf;
  cf.kind = MarginKind::CosFace;
  cf.s = 2;
  cf.m = 0.4;
  cuda::emulate(2, cuda::MarginLogitsForward<double>{cosv, lab, 2, cf, y});
  CHECK(y[0] == doctest::Approx(0.4).epsilon(1e-14));
  CHECK(y[1] == doctest::Approx(0.2).epsilon(1e-14));
  MarginParams arc;
  arc.kind = MarginKind::ArcFace;
  arc.s = 2;
  arc.m = 0.5;
  arc.cos_m = std::cos(0.5);
  arc.sin_m = std::sin(0.5);
  arc.th = std::cos(std::numbers::pi - 0.5);
  arc.mm = std::sin(std::numbers::pi - 0.5) * 0.5;
  cuda::emulate(2, cuda::MarginLogitsForward<double>{cosv, lab, 2, arc, y});
  CHECK(y[0] == doctest::Approx(2 * std::cos(std::acos(0.6) + 0.5)).epsilon(1e-12));
  CHECK(y[1] == doctest::Approx(0.2).epsilon(1e-14));
}

TEST_CASE("cuda optim kernels: SGD functor matches the CPU optimiser step for step") {
  struct Flags {
    const char* name;
    double momentum, dampening, wd;
    bool nesterov;
  };
  for (Flags f : {Flags{"plain", 0, 0, 0, false}, Flags{"momentum", 0.9, 0, 0, false},
                  Flags{"dampening_wd", 0.8, 0.3, 1e-2, false}, Flags{"nesterov_wd", 0.9, 0, 5e-3, true}}) {
    SUBCASE(f.name) {
      manual_seed(31);
      Tensor p = randn({5, 3}, DType::Float64).requires_grad_();
      std::vector<double> pe = p.to_vector<double>(), buf(15, 0.0);
      optim::SGDOptions o;
      o.lr = 0.1;
      o.momentum = f.momentum;
      o.dampening = f.dampening;
      o.weight_decay = f.wd;
      o.nesterov = f.nesterov;
      optim::SGD opt(NamedTensors{{"p", p}}, o);
      optim::SgdCoefs<double> c{0.1, f.wd, f.momentum, 1 - f.dampening, f.wd != 0, f.momentum != 0, f.nesterov};
      for (int step = 0; step < 4; ++step) {
        Tensor g = randn({5, 3}, DType::Float64);
        p.set_grad(g);
        opt.step();
        cuda::emulate(15, cuda::SgdUpdate<double>{pe.data(), g.data<double>(), f.momentum != 0 ? buf.data() : nullptr,
                                                  step == 0, c});
        CHECK_CLOSE(tensor(pe, {5, 3}, DType::Float64), p.detach(), test::kFmaTol, test::kFmaTol, std::string("SgdUpdate ") + f.name + " step " + std::to_string(step));
      }
      if (f.momentum != 0)
        CHECK_CLOSE(tensor(buf, {5, 3}, DType::Float64), opt.state_dict().at("state.p.momentum_buffer"), test::kFmaTol, test::kFmaTol,
                    "momentum buffer");
    }
  }
}

TEST_CASE("cuda optim kernels: Adam and AdamW functors match the CPU optimisers (amsgrad too)") {
  for (bool decoupled : {false, true}) {
    for (bool amsgrad : {false, true}) {
      manual_seed(32);
      Tensor p = randn({7}, DType::Float64).requires_grad_();
      std::vector<double> pe = p.to_vector<double>(), m(7, 0.0), v(7, 0.0), vmax(7, 0.0);
      optim::AdamOptions o;
      o.lr = 0.01;
      o.weight_decay = 0.05;
      o.amsgrad = amsgrad;
      std::unique_ptr<optim::Adam> opt = decoupled ? std::make_unique<optim::AdamW>(NamedTensors{{"p", p}}, o)
                                                   : std::make_unique<optim::Adam>(NamedTensors{{"p", p}}, o);
      for (int step = 1; step <= 4; ++step) {
        // torch's per-step coefficients, in double
        optim::AdamCoefs<double> c;
        c.beta1 = 0.9;
        c.one_minus_beta1 = 1 - 0.9;
        c.beta2 = 0.999;
        c.one_minus_beta2 = 1 - 0.999;
        c.eps = 1e-8;
        c.weight_decay = 0.05;
        c.decoupled_decay = decoupled ? 1 - 0.01 * 0.05 : 1.0;
        c.bias_correction2_sqrt = std::sqrt(1 - std::pow(0.999, step));
        c.neg_step_size = -(0.01 / (1 - std::pow(0.9, step)));
        c.use_weight_decay = !decoupled;
        c.amsgrad = amsgrad;
        Tensor g = randn({7}, DType::Float64);
        if (step == 3) g = ops::mul(g, 0.01);  // a smaller gradient: amsgrad's max then differs from v
        p.set_grad(g);
        opt->step();
        cuda::emulate(7, cuda::AdamUpdate<double>{pe.data(), g.data<double>(), m.data(), v.data(),
                                                  amsgrad ? vmax.data() : nullptr, c});
        CHECK_CLOSE(tensor(pe, {7}, DType::Float64), p.detach(), test::kFmaTol, test::kFmaTol,
                    "AdamUpdate decoupled=" + std::to_string(decoupled) + " amsgrad=" + std::to_string(amsgrad) +
                        " step " + std::to_string(step));
      }
      StateDict sd = opt->state_dict();
      CHECK_CLOSE(tensor(v, {7}, DType::Float64), sd.at("state.p.exp_avg_sq"), test::kFmaTol, test::kFmaTol, "exp_avg_sq");
      if (amsgrad) CHECK_CLOSE(tensor(vmax, {7}, DType::Float64), sd.at("state.p.max_exp_avg_sq"), test::kFmaTol, test::kFmaTol, "max_exp_avg_sq");
    }
  }
}

TEST_CASE("cuda optim kernels: clipping functors scale and clamp in place") {
  float g[4] = {-3.f, 0.5f, 2.f, -0.25f};
  cuda::emulate(4, cuda::ClipValue<float>{g, 1.f});
  CHECK(g[0] == -1.f);
  CHECK(g[1] == 0.5f);
  CHECK(g[2] == 1.f);
  CHECK(g[3] == -0.25f);
  cuda::emulate(4, cuda::ClipScale<float>{g, 0.5f});
  CHECK(g[0] == -0.5f);
  CHECK(g[2] == 0.5f);
  CHECK(g[3] == -0.125f);
}
