// The margin heads and face-recognition losses with parameters and inputs on the GPU vs the CPU:
// logits, loss, and the gradients of the features and of the head's weight (float64 1e-10, float32
// relative to the largest value), for ArcFace (insightface, easy_margin, egcode), CosFace,
// SphereFace, CenterLoss (loss, gradients, update_centers) and both focal losses. Labels are given
// on the CPU and on the GPU. The fused margin kernels are cuda/heads.cu.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <numbers>

#include "layers/heads.h"
#include "tensor/creation.h"
#include "test_util.h"

using namespace fk;

namespace {

const int64_t kN = 7, kD = 12, kC = 9;

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector<double>()) m = std::max(m, std::abs(v));
  return m;
}

double tol_for(DType dt) { return dt == DType::Float64 ? 1e-10 : 2e-5; }

void check_close(const Tensor& got, const Tensor& ref, DType dt, const std::string& what) {
  REQUIRE_MESSAGE(got.defined(), what << ": undefined");
  REQUIRE_MESSAGE(ref.defined(), what << ": undefined reference");
  CHECK_MESSAGE(got.device().is_cuda(), what << " should be on the GPU");
  double tol = tol_for(dt);
  CHECK_CLOSE(got, ref, tol * std::max(1.0, max_abs(ref)), 10 * tol, what);
}

// labels in [0, C) with two rows of -1 (no target)
Tensor make_labels(bool with_unlabelled) {
  std::vector<double> v = {3, 0, 8, with_unlabelled ? -1.0 : 5.0, 1, 1, with_unlabelled ? -1.0 : 2.0};
  return tensor(v, {kN}, DType::Int64);
}

Tensor first_param(Module& m) { return m.named_parameters().at(0).second; }

// Runs the same head on the CPU and the GPU (weights copied), loss = cross_entropy(logits, labels,
// ignore -1) + sum(logits * g) / 100, and compares logits, loss and gradients.
void compare_head(const std::function<std::shared_ptr<MarginHead>()>& make, DType dt, bool labels_on_gpu,
                  const std::string& name) {
  std::string what = name + " (" + dtype_name(dt) + (labels_on_gpu ? ", labels on GPU)" : ", labels on CPU)");
  auto hc = make(), hg = make();
  hc->to(dt);
  hg->to(dt);
  hg->load_state_dict(hc->state_dict());
  hg->to(Device::cuda());
  Tensor x = randn({kN, kD}, dt), g = randn({kN, kC}, dt), labels = make_labels(true);
  Tensor xc = x.clone().requires_grad_(), xg = x.to(Device::cuda()).requires_grad_();
  Tensor lc = hc->forward(xc, labels);
  Tensor lg = hg->forward(xg, labels_on_gpu ? labels.to(Device::cuda()) : labels);
  check_close(lg, lc, dt, what + " logits");
  Tensor loss_c = add(cross_entropy(lc, labels, -1), mul(sum(mul(lc, g)), 0.01));
  Tensor loss_g = add(cross_entropy(lg, labels.to(Device::cuda()), -1), mul(sum(mul(lg, g.to(Device::cuda()))), 0.01));
  check_close(loss_g, loss_c, dt, what + " loss");
  loss_c.backward();
  loss_g.backward();
  check_close(xg.grad(), xc.grad(), dt, what + " dx");
  check_close(first_param(*hg).grad(), first_param(*hc).grad(), dt, what + " dweight");
}

}  // namespace

TEST_CASE("margin heads: GPU logits, loss and gradients match the CPU") {
  manual_seed(201);
  std::vector<std::pair<std::string, std::function<std::shared_ptr<MarginHead>()>>> heads = {
      {"ArcFace", [] { return std::make_shared<ArcFace>(kD, kC, ArcFaceOptions{8.0, 0.5, false, "insightface"}); }},
      {"ArcFace easy_margin",
       [] { return std::make_shared<ArcFace>(kD, kC, ArcFaceOptions{8.0, 0.5, true, "insightface"}); }},
      {"ArcFace egcode", [] { return std::make_shared<ArcFace>(kD, kC, ArcFaceOptions{8.0, 0.5, false, "egcode"}); }},
      {"CosFace", [] { return std::make_shared<CosFace>(kD, kC, 8.0, 0.35); }},
      {"SphereFace", [] { return std::make_shared<SphereFace>(kD, kC); }},
      {"SphereFace m=3", [] {
         SphereFaceOptions o;
         o.m = 3;
         o.lambda_min = 0.5;
         o.base = 2;
         return std::make_shared<SphereFace>(kD, kC, o);
       }},
  };
  for (const auto& [name, make] : heads) {
    SUBCASE(name.c_str()) {
      for (DType dt : {DType::Float64, DType::Float32})
        for (bool on_gpu : {false, true}) compare_head(make, dt, on_gpu, name);
    }
  }
}

TEST_CASE("margin heads: the fused margin_logits op on the GPU matches the CPU near the ArcFace fallback") {
  // cosines near -1, 0 and 1, where the fallback, easy_margin and the clamps switch
  std::vector<double> v = {-0.999, -0.95, -0.5, -0.01, 0.01, 0.5, 0.95, 0.999, 1.0, -1.0, 0.3, 0.7};
  Tensor cos = tensor(v, {3, 4}, DType::Float64);
  Tensor g = tensor({1, 2, 3, 4, -1, -2, -3, -4, 0.5, 0.25, 1, 2}, {3, 4}, DType::Float64);
  for (bool easy : {false, true}) {
    MarginParams p;
    p.kind = MarginKind::ArcFace;
    p.s = 16;
    p.m = 0.5;
    p.easy_margin = easy;
    p.cos_m = std::cos(0.5);
    p.sin_m = std::sin(0.5);
    p.th = std::cos(std::numbers::pi - 0.5);
    p.mm = std::sin(std::numbers::pi - 0.5) * 0.5;
    for (int col = 0; col < 4; ++col) {
      Tensor lab = full({3}, double(col), DType::Int64);  // every row's target in column col
      Tensor cc = cos.clone().requires_grad_(), cg = cos.to(Device::cuda()).requires_grad_();
      Tensor yc = margin_logits(cc, lab, p), yg = margin_logits(cg, lab.to(Device::cuda()), p);
      sum(mul(yc, g)).backward();
      sum(mul(yg, g.to(Device::cuda()))).backward();
      check_close(yg, yc, DType::Float64, "margin_logits easy=" + std::to_string(easy) + " col " + std::to_string(col));
      check_close(cg.grad(), cc.grad(), DType::Float64, "margin_logits backward col " + std::to_string(col));
    }
  }
}

TEST_CASE("center loss: GPU loss, gradients and update_centers match the CPU") {
  manual_seed(202);
  for (DType dt : {DType::Float64, DType::Float32}) {
    CenterLoss cc(kC, kD, 0.5), cg(kC, kD, 0.5);
    cc.to(dt);
    cg.to(dt);
    cg.load_state_dict(cc.state_dict());
    cg.to(Device::cuda());
    Tensor x = randn({kN, kD}, dt), labels = make_labels(false);
    Tensor xc = x.clone().requires_grad_(), xg = x.to(Device::cuda()).requires_grad_();
    Tensor lc = cc.forward(xc, labels), lg = cg.forward(xg, labels);
    check_close(lg, lc, dt, "CenterLoss loss");
    lc.backward();
    lg.backward();
    check_close(xg.grad(), xc.grad(), dt, "CenterLoss dx");
    check_close(cg.centers.grad(), cc.centers.grad(), dt, "CenterLoss dcenters");
    cc.update_centers(x, labels);
    cg.update_centers(x.to(Device::cuda()), labels.to(Device::cuda()));
    check_close(cg.centers.detach(), cc.centers.detach(), dt, "CenterLoss update_centers");
  }
}

TEST_CASE("focal losses: GPU loss and input gradient match the CPU") {
  manual_seed(203);
  for (DType dt : {DType::Float64, DType::Float32}) {
    Tensor in = ops::mul(randn({kN, kC}, dt), 3.0), labels = make_labels(false);
    for (int kind = 0; kind < 2; ++kind) {
      Tensor ic = in.clone().requires_grad_(), ig = in.to(Device::cuda()).requires_grad_();
      Tensor lc = kind == 0 ? focal_loss(ic, labels, 2.0) : focal_loss_per_sample(ic, labels, 2.0, 0.25);
      // labels on the CPU for the batch-level loss, on the GPU for the per-sample one: both are accepted
      Tensor lg = kind == 0 ? focal_loss(ig, labels, 2.0) : focal_loss_per_sample(ig, labels.to(Device::cuda()), 2.0, 0.25);
      std::string what = kind == 0 ? "focal_loss" : "focal_loss_per_sample";
      check_close(lg, lc, dt, what);
      lc.backward();
      lg.backward();
      check_close(ig.grad(), ic.grad(), dt, what + " dinput");
    }
  }
}
