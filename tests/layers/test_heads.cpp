// The margin heads and losses of layers/heads.h:
//  - hand-worked examples (2 classes, 2-d features, identity class weights, values typed in);
//  - PyTorch fixtures from tests/fixtures/make_heads.py (N=6, d=8, C=5, float32): logits, the loss
//    cross_entropy(logits, labels, ignore_index=-1) and its gradients wrt x and the weight;
//  - float64 gradchecks of every head and loss wrt x and the weight, including rows past the ArcFace
//    fallback (theta + m > pi), easy_margin and label -1 rows;
//  - state-dict keys, initialisation, printing, SphereFace's lambda schedule and argument errors.
#include <cmath>
#include <numbers>
#include <sstream>

#include "layers/heads.h"
#include "tensor/creation.h"
#include "test_util.h"

using namespace fk;

namespace {

Tensor labels_of(const std::vector<double>& v) { return tensor(v, DType::Int64); }

// x (N, 2) float32 from row-major values
Tensor rows2(const std::vector<double>& v) { return tensor(v, {int64_t(v.size() / 2), 2}); }

// loads `key` = t into m (strict)
void set_param(Module& m, const std::string& key, const Tensor& t) {
  StateDict sd;
  sd.set(key, t);
  m.load_state_dict(sd);
}

Tensor eye2() { return tensor({1, 0, 0, 1}, {2, 2}); }

Tensor fx(const std::string& name) { return test::fixture("heads/" + name + ".npy"); }

// Fixture comparison: loads x, the weight and the labels of `c`ase, checks the logits, the CE loss
// and the gradients wrt x and the weight (float32, ~1e-5 relative to the largest reference value).
void check_head_fixture(MarginHead& head, const std::string& c, const std::string& weight_key) {
  Tensor x = fx(c + "_x").requires_grad_();
  Tensor labels = fx(c + "_labels");
  set_param(head, weight_key, fx(c + "_" + weight_key));
  Tensor logits = head.forward(x, labels);
  auto tol = [](const Tensor& ref) { return 1e-5 * std::max(1.0, ops::max(ops::abs(ref)).item()); };
  Tensor ref_logits = fx(c + "_logits");
  CHECK_CLOSE(logits, ref_logits, tol(ref_logits), 1e-5, c + " logits");
  Tensor loss = cross_entropy(logits, labels, -1);
  Tensor ref_loss = fx(c + "_loss");
  CHECK_CLOSE(reshape(loss, {1}), ref_loss, tol(ref_loss), 1e-5, c + " loss");
  loss.backward();
  Tensor w = head.named_parameters().at(0).second;
  REQUIRE(x.grad().defined());
  REQUIRE(w.grad().defined());
  Tensor ref_dx = fx(c + "_dx"), ref_dw = fx(c + "_d" + weight_key);
  CHECK_CLOSE(x.grad(), ref_dx, tol(ref_dx), 1e-4, c + " d/dx");
  CHECK_CLOSE(w.grad(), ref_dw, tol(ref_dw), 1e-4, c + " d/d" + weight_key);
}

// gradcheck of sum(head(x, labels) * g) wrt x and the head's weight, in float64
void gradcheck_head(MarginHead& head, const Tensor& x, const Tensor& labels) {
  head.to(DType::Float64);
  std::vector<Tensor> inputs{x};
  for (const Tensor& p : head.parameters()) inputs.push_back(p);
  REQUIRE(inputs.size() == 2);
  CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return head.forward(in[0], labels); }, inputs);
}

// Float64 features (N, d) whose cosine with row labels[i] of W (C, d) is target_cos[i]: x_i =
// len_i (c w_hat + sqrt(1 - c^2) r) with r a random unit vector orthogonal to w_hat; label -1 rows
// get a random vector. The returned tensor is a leaf with requires_grad.
Tensor features_at(const Tensor& W, const std::vector<int64_t>& labels, const std::vector<double>& target_cos) {
  const int64_t N = int64_t(labels.size()), d = W.size(1);
  std::vector<double> out;
  for (int64_t i = 0; i < N; ++i) {
    auto r = randn({d}, DType::Float64).to_vector<double>();
    double len = 0.5 + double(i % 3);
    if (labels[size_t(i)] < 0) {
      for (double v : r) out.push_back(len * v);
      continue;
    }
    auto w = ops::select(W, 0, labels[size_t(i)]).to(DType::Float64).contiguous().to_vector<double>();
    double ww = 0, rw = 0, rr = 0;
    for (int64_t k = 0; k < d; ++k) ww += w[k] * w[k];
    for (auto& v : w) v /= std::sqrt(ww);
    for (int64_t k = 0; k < d; ++k) rw += r[k] * w[k];
    for (int64_t k = 0; k < d; ++k) r[k] -= rw * w[k];
    for (double v : r) rr += v * v;
    const double c = target_cos[size_t(i)], s = std::sqrt(1 - c * c);
    for (int64_t k = 0; k < d; ++k) out.push_back(len * (c * w[k] + s * r[k] / std::sqrt(rr)));
  }
  return tensor(out, {N, d}, DType::Float64).requires_grad_();
}

Tensor labels64(const std::vector<int64_t>& v) { return tensor(std::vector<double>(v.begin(), v.end()), DType::Int64); }

// the target cosines cos(x_i, W_{y_i}) of the rows with a label (float64 vector, label -1 rows skipped)
std::vector<double> target_cosines(const Tensor& x, const Tensor& W, const std::vector<int64_t>& labels) {
  autograd::NoGrad no_grad;
  auto cos = linear(normalize(x.detach(), 1), normalize(W.detach().to(x.dtype()), 1)).to_vector<double>();
  const int64_t C = W.size(0);
  std::vector<double> out;
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= 0) out.push_back(cos[i * size_t(C) + size_t(labels[i])]);
  return out;
}

std::string str(const Module& m) {
  std::ostringstream os;
  os << m;
  return os.str();
}

}  // namespace

// ---- hand-worked examples: W = identity, so cos theta_j is x_j / ||x||

TEST_CASE("ArcFace: hand-worked example with the fallback and a label -1 row") {
  ArcFace head(2, 2, {.s = 10.0, .m = 0.5});
  set_param(head, "weight", eye2());
  // row 0: cos = (0.6, 0.8), target 0: phi = 0.6 cos 0.5 - 0.8 sin 0.5 = 0.14300910625
  // row 1: cos = (0, -1), target 1: theta = pi > pi - m, fallback -1 - sin(pi - 0.5)*0.5 = -1.2397127693
  // row 2: label -1, only scaled: cos = (0.70710678, 0.70710678)
  Tensor logits = head.forward(rows2({3, 4, 0, -2, 1, 1}), labels_of({0, 1, -1}));
  Tensor expected = tensor({1.4300910625, 8.0, 0.0, -12.397127693, 7.0710678, 7.0710678}, {3, 2});
  CHECK_CLOSE(logits, expected, 1e-5, 1e-6, "ArcFace(s=10, m=0.5)");

  // easy_margin: cos <= 0 keeps cos (row 1 -> -1)
  ArcFace easy(2, 2, {.s = 10.0, .m = 0.5, .easy_margin = true});
  set_param(easy, "weight", eye2());
  Tensor e = easy.forward(rows2({3, 4, 0, -2}), labels_of({0, 1}));
  CHECK_CLOSE(e, tensor({1.4300910625, 8.0, 0.0, -10.0}, {2, 2}), 1e-5, 1e-6, "ArcFace easy_margin");

  // no labels at all: s * cos
  Tensor plain = head.forward(rows2({3, 4}));
  CHECK_CLOSE(plain, tensor({6.0, 8.0}, {1, 2}), 1e-5, 1e-6, "ArcFace without labels");
}

TEST_CASE("ArcFace: egcode variant hand-worked example clamps and has no fallback") {
  ArcFace head(2, 2, {.s = 10.0, .m = 0.5, .variant = "egcode"});
  CHECK(head.named_parameters().at(0).first == "weights");
  set_param(head, "weights", eye2());
  // row 0: 10 cos(acos 0.6 + 0.5) = 1.4300910625; row 1: cos = -1 clamped to -0.9999,
  // 10 cos(acos(-0.9999) + 0.5) = -8.8427473512 (above s*cos = -10: not monotonic past pi - m)
  Tensor logits = head.forward(rows2({3, 4, 0, -2}), labels_of({0, 1}));
  CHECK_CLOSE(logits, tensor({1.4300910625, 8.0, 0.0, -8.8427473512}, {2, 2}), 1e-5, 1e-6, "ArcFace egcode");
}

TEST_CASE("CosFace: hand-worked example and its gradient") {
  CosFace head(2, 2, 10.0, 0.4);
  set_param(head, "weight", eye2());
  // s (cos - m onehot): row 0 (0.6 - 0.4, 0.8), row 1 (0, -1 - 0.4), row 2 label -1 (0.6, 0.8)
  Tensor x = rows2({3, 4, 0, -2, 3, 4}).requires_grad_();
  Tensor logits = head.forward(x, labels_of({0, 1, -1}));
  CHECK_CLOSE(logits, tensor({2.0, 8.0, 0.0, -14.0, 6.0, 8.0}, {3, 2}), 1e-5, 1e-6, "CosFace(s=10, m=0.4)");
  // d/dx of s*x_0/||x|| at x = (3, 4): s (I - x_hat x_hat^T)/||x|| row 0 = 10 (0.64, -0.48)/5 = (1.28, -0.96)
  sum(mul(tensor({1, 0, 0, 0, 0, 0}, {3, 2}), logits)).backward();  // only logit (0, 0)
  CHECK_CLOSE(ops::select(x.grad(), 0, 0), tensor({1.28, -0.96}), 1e-5, 1e-6, "CosFace d logit_00 / dx_0");
}

TEST_CASE("SphereFace: hand-worked example with m=4 and lambda=5") {
  SphereFace head(2, 2, {.m = 4});
  CHECK(head.weight.shape() == Shape{2, 2});
  set_param(head, "weight", eye2());
  head.eval();
  head.iteration = 10000;  // 1000 / (1 + 1200) < 5, so lambda = lambda_min = 5
  CHECK(head.lambda() == doctest::Approx(5.0));
  // row 0: x = (3, 4), target 0: cos = 0.6, 4 theta / pi = 1.18 -> k = 1, T_4(0.6) = -0.8432,
  //   psi = 0.8432 - 2 = -1.1568, target (5*0.6 - 1.1568)/6 = 0.3072, times ||x|| = 5 -> 1.536
  // row 1: x = (4, -3), target 1: cos = -0.6, 4 theta / pi = 2.82 -> k = 2, psi = -0.8432 - 4,
  //   target (5*(-0.6) - 4.8432)/6 = -1.3072 -> -6.536; non-target 0.8*5 = 4
  // row 2: label -1: ||x|| cos = (3, 4)
  Tensor logits = head.forward(rows2({3, 4, 4, -3, 3, 4}), labels_of({0, 1, -1}));
  CHECK_CLOSE(logits, tensor({1.536, 4.0, 4.0, -6.536, 3.0, 4.0}, {3, 2}), 1e-5, 1e-6, "SphereFace(m=4)");
  CHECK(head.iteration == 10000);  // eval mode does not count
}

TEST_CASE("SphereFace: lambda schedule counts training forwards with labels") {
  SphereFace head(3, 4);
  CHECK(head.iteration == 0);
  CHECK(head.lambda() == doctest::Approx(1000.0));
  head.iteration = 100;
  CHECK(head.lambda() == doctest::Approx(1000.0 / 13.0));  // 1000 (1 + 0.12*100)^-1
  Tensor x = randn({2, 3});
  head.train();
  head.forward(x, labels_of({1, 3}));
  CHECK(head.iteration == 101);
  head.forward(x);  // no labels: inference, not counted
  CHECK(head.iteration == 101);
  head.eval();
  head.forward(x, labels_of({1, 3}));
  CHECK(head.iteration == 101);
}

TEST_CASE("CenterLoss: hand-worked loss, gradient and centre update") {
  CenterLoss loss_fn(2, 2, 0.5);
  Tensor centers = tensor({0, 0, 1, 1}, {2, 2});
  set_param(loss_fn, "centers", centers);
  Tensor x = rows2({3, 4, 1, 2}).requires_grad_();
  Tensor labels = labels_of({0, 1});
  // ||(3,4) - (0,0)||^2 = 25, ||(1,2) - (1,1)||^2 = 1, mean 13
  Tensor loss = loss_fn.forward(x, labels);
  CHECK(loss.item() == doctest::Approx(13.0));
  loss.backward();
  // d/dx_i = 2 (x_i - c_{y_i}) / N,  d/dc_{y_i} = -the same
  CHECK_CLOSE(x.grad(), tensor({3, 4, 0, 1}, {2, 2}), 1e-6, 0, "CenterLoss dx");
  CHECK_CLOSE(loss_fn.centers.grad(), tensor({-3, -4, 0, -1}, {2, 2}), 1e-6, 0, "CenterLoss dcenters");
  // Wen et al.: delta_0 = ((0,0) - (3,4)) / 2 = (-1.5, -2), delta_1 = ((1,1) - (1,2)) / 2 = (0, -0.5);
  // c -= 0.5 delta
  loss_fn.update_centers(x, labels);
  CHECK_CLOSE(loss_fn.centers, tensor({0.75, 1.0, 1.0, 1.25}, {2, 2}), 1e-6, 0, "CenterLoss.update_centers");
  CHECK_FALSE(loss_fn.centers.grad_fn());  // no graph recorded by the update
}

TEST_CASE("focal_loss: hand-worked batch-level and per-sample values") {
  // rows (0, 0) and (ln 3, 0), both target 0: p = 1/2 and 3/4
  Tensor logits = tensor({0, 0, std::log(3.0), 0}, {2, 2});
  Tensor target = labels_of({0, 0});
  // batch: ce = (ln 2 + ln 4/3)/2 = 0.49041463, p = exp(-ce), (1 - p)^2 ce = 0.07368731
  CHECK(focal_loss(logits, target, 2.0).item() == doctest::Approx(0.07368731).epsilon(1e-6));
  CHECK(focal_loss(logits, target, 0.0).item() == doctest::Approx(0.49041463).epsilon(1e-6));
  // per sample, alpha 0.25: 0.25 * mean(0.25 ln 2, 0.0625 ln 4/3) = 0.02390837
  CHECK(focal_loss_per_sample(logits, target, 2.0, 0.25).item() == doctest::Approx(0.02390837).epsilon(1e-6));
  // log_probs: the same numbers from log_softmax(logits)
  Tensor logp = log_softmax(logits, 1);
  CHECK(focal_loss(logp, target, 2.0, true).item() == doctest::Approx(0.07368731).epsilon(1e-6));
  CHECK(focal_loss_per_sample(logp, target, 2.0, 0.25, true).item() ==
        doctest::Approx(0.02390837).epsilon(1e-6));
}

// ---- PyTorch fixtures

TEST_CASE("ArcFace: insightface form matches PyTorch (fallback row and label -1)") {
  ArcFace head(8, 5);
  check_head_fixture(head, "arcface", "weight");
}

TEST_CASE("ArcFace: easy_margin matches PyTorch") {
  ArcFace head(8, 5, {.s = 32.0, .m = 0.3, .easy_margin = true});
  check_head_fixture(head, "arcface_easy", "weight");
}

TEST_CASE("ArcFace: egcode variant matches PyTorch (clamped row, theta + m > pi row)") {
  ArcFace head(8, 5, {.s = 32.0, .m = 0.5, .variant = "egcode"});
  check_head_fixture(head, "arcface_egcode", "weights");
}

TEST_CASE("CosFace: matches PyTorch") {
  CosFace head(8, 5);
  check_head_fixture(head, "cosface", "weight");
}

TEST_CASE("SphereFace: matches sphereface_pytorch AngleLinear and AngleLoss") {
  for (auto [c, m] : {std::pair<std::string, int64_t>{"sphereface", 4}, {"sphereface_m2", 2}}) {
    CAPTURE(c);
    SphereFace head(8, 5, {.m = m});
    head.train();
    const int64_t it = fx(c + "_iteration").to_vector<int64_t>().at(0);
    head.iteration = it - 1;  // the training forward counts itself first
    check_head_fixture(head, c, "weight");
    CHECK(head.iteration == it);
  }
}

TEST_CASE("CenterLoss: matches PyTorch loss, gradients and Wen et al.'s update") {
  CenterLoss loss_fn(5, 8, 0.5);
  set_param(loss_fn, "centers", fx("center_centers"));
  Tensor x = fx("center_x").requires_grad_();
  Tensor labels = fx("center_labels");
  Tensor loss = loss_fn.forward(x, labels);
  CHECK_CLOSE(reshape(loss, {1}), fx("center_loss"), 1e-5, 1e-5, "CenterLoss loss");
  loss.backward();
  CHECK_CLOSE(x.grad(), fx("center_dx"), 1e-5, 1e-5, "CenterLoss dx");
  CHECK_CLOSE(loss_fn.centers.grad(), fx("center_dcenters"), 1e-5, 1e-5, "CenterLoss dcenters");
  loss_fn.update_centers(x, labels);
  CHECK_CLOSE(loss_fn.centers, fx("center_updated_centers"), 1e-5, 1e-5, "CenterLoss update_centers");
}

TEST_CASE("focal_loss: batch-level and per-sample forms match PyTorch") {
  Tensor target = fx("focal_labels");
  struct Case {
    std::string name, input;
    std::function<Tensor(const Tensor&)> fn;
  };
  std::vector<Case> cases = {
      {"focal_batch", "focal_logits", [&](const Tensor& t) { return focal_loss(t, target, 2.0); }},
      {"focal_batch_logp", "focal_logp", [&](const Tensor& t) { return focal_loss(t, target, 2.0, true); }},
      {"focal_sample", "focal_logits",
       [&](const Tensor& t) { return focal_loss_per_sample(t, target, 2.0, 0.25); }},
      {"focal_sample_logp", "focal_logp",
       [&](const Tensor& t) { return focal_loss_per_sample(t, target, 1.5, 1.0, true); }},
  };
  for (const auto& c : cases) {
    Tensor in = fx(c.input).requires_grad_();
    Tensor loss = c.fn(in);
    CHECK_CLOSE(reshape(loss, {1}), fx(c.name + "_loss"), 1e-6, 1e-5, c.name + " loss");
    loss.backward();
    CHECK_CLOSE(in.grad(), fx(c.name + "_dinput"), 1e-6, 1e-4, c.name + " d/dinput");
  }
}

// ---- float64 gradchecks

TEST_CASE("ArcFace: gradcheck of the insightface form, fallback and label -1 rows") {
  manual_seed(11);
  ArcFace head(4, 5, {.s = 8.0, .m = 0.5});
  const std::vector<int64_t> labels = {0, 3, 1, 4, -1, 2};
  // rows 1 and 3 have theta + m > pi (cos < cos(pi - 0.5) = -0.878): the fallback cos - mm
  Tensor x = features_at(head.weight, labels, {0.7, -0.95, 0.2, -0.99, 0.0, -0.3});
  auto tc = target_cosines(x, head.weight, labels);
  CHECK(tc.at(1) < std::cos(std::numbers::pi - 0.5));
  CHECK(tc.at(3) < std::cos(std::numbers::pi - 0.5));
  gradcheck_head(head, x, labels64(labels));
}

TEST_CASE("ArcFace: gradcheck with easy_margin") {
  manual_seed(12);
  ArcFace head(4, 5, {.s = 8.0, .m = 0.3, .easy_margin = true});
  const std::vector<int64_t> labels = {2, 2, 0, -1, 4};
  Tensor x = features_at(head.weight, labels, {0.5, -0.4, -0.9, 0.0, 0.1});
  gradcheck_head(head, x, labels64(labels));
}

TEST_CASE("ArcFace: gradcheck of the egcode variant, theta + m > pi") {
  manual_seed(13);
  ArcFace head(4, 5, {.s = 8.0, .m = 0.5, .variant = "egcode"});
  const std::vector<int64_t> labels = {0, 1, 2, 3, 4};
  Tensor x = features_at(head.weight, labels, {0.9, -0.95, 0.3, -0.5, 0.99});
  gradcheck_head(head, x, labels64(labels));
}

TEST_CASE("ArcFace: egcode variant has zero gradient where the cosine is clamped, never NaN") {
  ArcFace head(2, 2, {.s = 10.0, .m = 0.5, .variant = "egcode"});
  set_param(head, "weights", eye2());
  Tensor x = rows2({2, 0, 0, -3}).requires_grad_();  // cos exactly +1 and -1 with the targets
  Tensor logits = head.forward(x, labels_of({0, 1}));
  sum(logits).backward();
  for (double v : x.grad().to_vector<double>()) CHECK(std::isfinite(v));
  // only the non-target cosines pass gradient: d(s x_1/||x||)/dx at (2, 0) = (0, 10/2), and
  // d(s x_0/||x||)/dx at (0, -3) = (10/3, 0)
  CHECK_CLOSE(x.grad(), tensor({0, 5, 10.0 / 3, 0}, {2, 2}), 1e-5, 1e-5, "ArcFace egcode d/dx at cos = +-1");
}

TEST_CASE("CosFace: gradcheck with a label -1 row") {
  manual_seed(14);
  CosFace head(4, 5, 8.0, 0.4);
  Tensor x = test::leaf({5, 4});
  gradcheck_head(head, x, labels64({1, -1, 0, 4, 4}));
}

TEST_CASE("SphereFace: gradcheck over k = 0..3 with m=4 and m=3") {
  for (int64_t m : {4, 3}) {
    CAPTURE(m);
    manual_seed(15);
    SphereFace head(4, 5, {.m = m});
    head.eval();  // lambda fixed during the finite differences
    head.iteration = 40;
    const std::vector<int64_t> labels = {0, 1, 2, 3, 4, -1};
    // target angles spread over the k ranges, away from the kinks theta = j pi / m
    Tensor x = features_at(ops::transpose(head.weight, 0, 1), labels, {0.95, 0.55, 0.2, -0.35, -0.85, 0.0});
    gradcheck_head(head, x, labels64(labels));
  }
}

TEST_CASE("CenterLoss: gradcheck wrt x and centers") {
  manual_seed(16);
  CenterLoss loss_fn(4, 3);
  loss_fn.to(DType::Float64);
  Tensor x = test::leaf({6, 3});
  Tensor labels = labels64({0, 3, 3, 1, 0, 2});
  CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return loss_fn.forward(in[0], labels); },
                  {x, loss_fn.centers});
}

TEST_CASE("focal_loss: gradcheck of both forms, logits and log-probs") {
  manual_seed(17);
  Tensor x = test::leaf({5, 4});
  Tensor target = labels64({0, 3, 1, 1, 2});
  CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return focal_loss(in[0], target, 2.0); }, {x});
  CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return focal_loss(log_softmax(in[0], 1), target, 1.5, true); },
                  {x});
  CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return focal_loss_per_sample(in[0], target, 2.0, 0.25); },
                  {x});
  CHECK_GRADCHECK(
      [&](const std::vector<Tensor>& in) {
        return focal_loss_per_sample(log_softmax(in[0], 1), target, 0.5, 1.0, true);
      },
      {x});
}

// ---- modules: keys, init, printing, errors

TEST_CASE("heads: state-dict keys and shapes") {
  auto keys = [](const Module& m) {
    std::vector<std::string> out;
    for (const auto& [k, t] : m.state_dict()) out.push_back(k + shape_str(t.shape()));
    return out;
  };
  CHECK(keys(ArcFace(8, 5)) == std::vector<std::string>{"weight[5, 8]"});
  CHECK(keys(ArcFace(8, 5, {.variant = "egcode"})) == std::vector<std::string>{"weights[5, 8]"});
  CHECK(keys(CosFace(8, 5)) == std::vector<std::string>{"weight[5, 8]"});
  CHECK(keys(SphereFace(8, 5)) == std::vector<std::string>{"weight[8, 5]"});
  CHECK(keys(CenterLoss(5, 8)) == std::vector<std::string>{"centers[5, 8]"});
}

TEST_CASE("heads: initialisation follows the reference") {
  auto stats = [](const Tensor& t) {
    auto v = t.to_vector<double>();
    double mean = 0, sq = 0;
    for (double a : v) mean += a;
    mean /= double(v.size());
    for (double a : v) sq += (a - mean) * (a - mean);
    return std::pair{mean, std::sqrt(sq / double(v.size()))};
  };
  manual_seed(3);
  auto [m1, s1] = stats(ArcFace(100, 200).weight);  // insightface normal(0, 0.01)
  CHECK(std::abs(m1) < 1e-3);
  CHECK(s1 == doctest::Approx(0.01).epsilon(0.03));
  auto [m2, s2] = stats(ArcFace(100, 200, {.variant = "egcode"}).weight);  // randn
  CHECK(std::abs(m2) < 0.05);
  CHECK(s2 == doctest::Approx(1.0).epsilon(0.03));
  auto [m3, s3] = stats(CosFace(100, 200).weight);
  CHECK(s3 == doctest::Approx(0.01).epsilon(0.03));
  auto [m4, s4] = stats(CenterLoss(200, 100).centers);  // randn
  CHECK(s4 == doctest::Approx(1.0).epsilon(0.03));
  // SphereFace: unit-norm columns
  SphereFace sf(16, 7);
  auto norms = sqrt(sum(mul(sf.weight, sf.weight), {0})).to_vector<double>();
  for (double n : norms) CHECK(n == doctest::Approx(1.0).epsilon(1e-5));
  // one seed, one initialisation
  manual_seed(5);
  Tensor a = ArcFace(4, 3).weight;
  manual_seed(5);
  Tensor b = ArcFace(4, 3).weight;
  CHECK_CLOSE(a, b, 0, 0, "ArcFace init with the same seed");
}

TEST_CASE("heads: printed like PyTorch modules") {
  CHECK(str(ArcFace(512, 1000)) == "ArcFace(in_features=512, out_features=1000, s=64.0, m=0.5, easy_margin=False)");
  CHECK(str(ArcFace(512, 10, {.s = 32.0, .variant = "egcode"})) ==
        "ArcFace(in_features=512, out_features=10, s=32.0, m=0.5, variant='egcode')");
  CHECK(str(CosFace(128, 10)) == "CosFace(in_features=128, out_features=10, s=64.0, m=0.4)");
  CHECK(str(SphereFace(2, 3)) == "SphereFace(in_features=2, out_features=3, m=4)");
  CHECK(str(CenterLoss(10, 2)) == "CenterLoss(num_classes=10, feat_dim=2, alpha=0.5)");
}

TEST_CASE("heads: argument errors throw one clear line") {
  ArcFace head(4, 3);
  CHECK_THROWS_WITH_AS(head.forward(randn({2, 5}), labels_of({0, 1})),
                       doctest::Contains("ArcFace: features must be (N, 4)"), Error);
  CHECK_THROWS_WITH_AS(head.forward(randn({2, 4}), labels_of({0, 3})), doctest::Contains("label 3 is outside"),
                       Error);
  CHECK_THROWS_WITH_AS(head.forward(randn({2, 4}), tensor({0, 1})), doctest::Contains("labels must be int64"),
                       Error);
  CHECK_THROWS_WITH_AS(ArcFace(4, 3, {.variant = "foo"}), doctest::Contains("variant must be"), Error);
  CHECK_THROWS_WITH_AS(ArcFace(4, 3, {.easy_margin = true, .variant = "egcode"}),
                       doctest::Contains("no easy_margin"), Error);
  CenterLoss center(3, 4);
  CHECK_THROWS_WITH_AS(center.forward(randn({2, 4})), doctest::Contains("needs labels"), Error);
  CHECK_THROWS_WITH_AS(center.forward(randn({2, 4}), labels_of({0, -1})), doctest::Contains("label -1 is outside"),
                       Error);
  CHECK_THROWS_WITH_AS(focal_loss_per_sample(randn({2, 3}), labels_of({0, 1}), -1.0),
                       doctest::Contains("gamma must be >= 0"), Error);
}

TEST_CASE("ArcFace: insightface form at cos = +-1 exactly gives finite gradients") {
  // sqrt(1 - cos^2) has an infinite derivative at |cos| = 1 (PyTorch gives NaN there); heads.cpp
  // clamps its argument to [1e-12, 1], so the gradient stays finite and the logit is unchanged
  ArcFace head(2, 2, {.s = 10.0, .m = 0.5});
  set_param(head, "weight", eye2());
  Tensor x = rows2({2, 0, 0, -3}).requires_grad_();  // cos exactly +1 (target 0) and -1 (target 1)
  Tensor logits = head.forward(x, labels_of({0, 1}));
  // 10 cos(0 + 0.5) = 8.7758256; fallback 10 (-1 - sin(pi - 0.5) 0.5) = -12.397127693
  CHECK_CLOSE(logits, tensor({8.7758256, 0.0, 0.0, -12.397127693}, {2, 2}), 1e-5, 1e-5, "ArcFace at cos = +-1");
  sum(logits).backward();
  for (double v : x.grad().to_vector<double>()) CHECK(std::isfinite(v));
  for (double v : head.weight.grad().to_vector<double>()) CHECK(std::isfinite(v));
}
