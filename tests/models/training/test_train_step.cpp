// One training step of IR-50 (batch 4) with an insightface ArcFace head against PyTorch:
// forward in train mode, ArcFace (s 64, m 0.5, 10 classes), cross-entropy, backward, one SGD step
// (lr 0.1, momentum 0.9, egcode's sgd_bn groups: weight decay 5e-4 except on BatchNorm parameters).
// The fixture comes from tests/fixtures/make_train_step.py (its docstring lists every file); weights and
// input are rebuilt here from the same deterministic formulas (models/model_case.h: det_fill, det_uniform).
//
// Like the IR tests (test_irse.cpp), the step runs in float64: train-mode BatchNorm makes 29 parameter
// gradients exactly 0, which float32 returns as rounding noise. A float32 run checks the loss alone.
//
// Tolerances, as relative errors (max |diff| / max |expected| per tensor). Measured on this machine
// (run with -s to see them): float64 agrees to 1e-13 or better everywhere; the bounds leave 3-4
// orders of magnitude for other BLAS builds and thread orders while staying far below any real bug
// (a wrong formula, or a parameter in the wrong weight-decay group, moves values by 1e-6 or more):
//   float64  loss, logits, embedding, BN running stats, loss after the step    1e-9  (measured <= 1.5e-13)
//            gradient norms, full gradients, step sizes, parameters after step  1e-8  (measured <= 1.5e-13),
//            plus 1e-10 of the largest norm for the 29 gradients that are exactly 0 (rounding noise
//            ~1e-16 of the largest there)
//   float32  loss                                                                1e-5  (measured 2.2e-7 against
//            PyTorch's float32 run, 7e-9 against float64): 50 float32 layers in train mode, where
//            BatchNorm over 4 samples divides by small batch variances, differ in summation order
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "layers/heads.h"
#include "layers/optim.h"
#include "models/zoo/irse.h"
#include "models/model_case.h"

using namespace fk;

namespace {

constexpr int64_t kBatch = 4, kClasses = 10, kEmbedding = 512;
const std::vector<double> kLabels = {3, 7, 3, 9};
const std::string kDir = "train_step/";

// The model of the step in one dtype: det_fill weights, Dropout off, train mode, ArcFace head.
struct TrainSetup {
  std::shared_ptr<models::IRBackbone> backbone;
  std::shared_ptr<ArcFace> head;
  Tensor x, labels;

  explicit TrainSetup(DType dtype) {
    if (dtype == DType::Float64)
      backbone = std::make_shared<test::InFloat64<models::IRBackbone>>(112, 50, "ir");
    else
      backbone = std::make_shared<models::IRBackbone>(112, 50, "ir");
    backbone->to(dtype);
    test::det_fill(*backbone);
    // the release's Dropout(0.5) draws a random mask that no other framework can reproduce
    for (auto& [name, m] : backbone->named_modules())
      if (auto* d = dynamic_cast<Dropout*>(m.get())) d->p = 0.0;
    backbone->train();

    head = std::make_shared<ArcFace>(kEmbedding, kClasses, ArcFaceOptions{.s = 64.0, .m = 0.5});
    head->to(dtype);
    ops::copy_(head->weight, fk::tensor(test::det_value("head.weight", {kClasses, kEmbedding}),
                                        {kClasses, kEmbedding}, DType::Float64));

    x = fk::tensor(test::det_uniform("train_step.input", kBatch * 3 * 112 * 112), {kBatch, 3, 112, 112}, dtype);
    labels = fk::tensor(kLabels, {kBatch}, DType::Int64);
  }

  // backbone -> ArcFace margin logits -> cross-entropy
  Tensor loss(Tensor* embedding = nullptr, Tensor* logits = nullptr) {
    Tensor emb = backbone->forward(x);
    Tensor z = head->forward(emb, labels);
    if (embedding) *embedding = emb;
    if (logits) *logits = z;
    return cross_entropy(z, labels);
  }

  // the backbone's parameters by name, then the head's as "head.weight" (the fixture's grad_names.txt)
  NamedTensors named_parameters() const {
    NamedTensors all = backbone->named_parameters();
    for (const auto& [name, p] : head->named_parameters()) all.emplace_back("head." + name, p);
    return all;
  }

  // egcode's sgd_bn: group 0 = non-BatchNorm backbone parameters + the head, weight decay 5e-4;
  // group 1 = the backbone's BatchNorm weights and biases, no weight decay
  std::unique_ptr<optim::SGD> sgd_bn() {
    auto groups = optim::sgd_bn_groups(*backbone, 5e-4);
    for (const auto& [name, p] : head->named_parameters()) groups[0].params.emplace_back("head." + name, p);
    return std::make_unique<optim::SGD>(groups, optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
  }
};

double l2_norm(const Tensor& t) {
  double s = 0;
  if (t.defined())
    for (double v : t.to_vector<double>()) s += v * v;
  return std::sqrt(s);
}

// Everything the float64 step produces, computed once and shared by the test cases below
// (a full IR-50 forward and backward at batch 4 takes a while).
struct StepResult {
  Tensor loss, embedding, logits, loss_after_step;
  std::vector<std::string> names;                           // named_parameters order
  std::vector<double> grad_norms, step_norms;               // per parameter
  std::vector<std::pair<std::string, Tensor>> grads;        // full gradients (copies)
  std::vector<std::pair<std::string, Tensor>> params_after; // after the SGD step
  std::vector<std::pair<std::string, Tensor>> buffers;      // BN running stats after the forward
};

const StepResult& float64_step() {
  static const StepResult result = [] {
    StepResult r;
    TrainSetup s(DType::Float64);
    auto opt = s.sgd_bn();
    opt->zero_grad();
    r.loss = s.loss(&r.embedding, &r.logits);
    r.loss.backward();

    NamedTensors params = s.named_parameters();
    std::vector<Tensor> before;
    for (const auto& [name, p] : params) {
      r.names.push_back(name);
      r.grad_norms.push_back(l2_norm(p.grad()));
      before.push_back(p.clone());
    }
    for (const char* key : {"input_layer.0.weight", "output_layer.4.weight", "output_layer.4.bias"})
      r.grads.emplace_back(key, s.backbone->parameter(key).grad().clone());
    r.grads.emplace_back("head.weight", s.head->weight.grad().clone());
    for (const auto& [name, b] : s.backbone->named_buffers())
      if (name.find("running_") != std::string::npos) r.buffers.emplace_back(name, b.clone());

    opt->step();
    for (size_t i = 0; i < params.size(); ++i) r.step_norms.push_back(l2_norm(ops::sub(params[i].second, before[i])));
    for (const char* key : {"input_layer.0.weight", "input_layer.1.weight", "output_layer.4.bias"})
      r.params_after.emplace_back(key, s.backbone->parameter(key).clone());
    r.params_after.emplace_back("head.weight", s.head->weight.clone());

    autograd::NoGrad no_grad;
    r.loss_after_step = s.loss();
    return r;
  }();
  return result;
}

std::vector<std::string> read_lines(const std::string& rel) {
  std::ifstream f(test::fixture_path(rel));
  std::vector<std::string> out;
  for (std::string line; std::getline(f, line);) out.push_back(line);
  return out;
}

// got[i] against want[i] per parameter: |got - want| <= rel*want + floor*max(want)
void check_per_parameter(const std::vector<double>& got, const std::string& rel_path, const std::vector<std::string>& names,
                         double rel, double floor, const std::string& what) {
  auto want = test::fixture(rel_path).to_vector<double>();
  REQUIRE(want.size() == got.size());
  double max_want = 0;
  for (double w : want) max_want = std::max(max_want, w);
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    CHECK_MESSAGE(std::abs(got[i] - want[i]) <= rel * want[i] + floor * max_want,
                  what << " of " << names[i] << ": " << got[i] << ", PyTorch " << want[i]);
    if (want[i] > floor * max_want) worst = std::max(worst, std::abs(got[i] - want[i]) / want[i]);
  }
  MESSAGE(what << ": max relative error " << worst << " over " << want.size() << " parameters");
}

double rel_error(const Tensor& got, const Tensor& want) {
  auto g = got.to_vector<double>(), w = want.to_vector<double>();
  double scale = 0, err = 0;
  for (size_t i = 0; i < w.size(); ++i) scale = std::max(scale, std::abs(w[i]));
  for (size_t i = 0; i < w.size(); ++i) err = std::max(err, std::abs(g[i] - w[i]));
  return err / scale;
}

// CHECK_SCALED plus a MESSAGE with the achieved relative error (for the record in the test log)
void check_tensor(const Tensor& got, const std::string& file, double rel, const std::string& what) {
  Tensor want = test::fixture(kDir + file);
  CHECK_SCALED(fk::reshape(got, want.shape()), want, rel, what);
  MESSAGE(what << ": relative error " << rel_error(fk::reshape(got, want.shape()), want));
}

}  // namespace

TEST_CASE("train_step: ir_50 + ArcFace loss, embedding, logits and BN running stats match PyTorch (float64)") {
  const StepResult& r = float64_step();
  check_tensor(r.loss, "loss.npy", 1e-9, "loss");
  check_tensor(r.embedding, "embedding.npy", 1e-9, "embedding");
  check_tensor(r.logits, "logits.npy", 1e-9, "ArcFace logits");
  CHECK(r.loss.item() > 30.0);  // the margin is on: target logits near 64*cos(pi/2 + 0.5) = -30.7

  for (const char* bn : {"input_layer.1", "body.0.res_layer.0", "body.23.res_layer.4", "output_layer.0", "output_layer.4"})
    for (const char* stat : {"running_mean", "running_var"}) {
      std::string key = std::string(bn) + "." + stat;
      const Tensor* found = nullptr;
      for (const auto& [name, t] : r.buffers)
        if (name == key) found = &t;
      REQUIRE_MESSAGE(found != nullptr, "no buffer " << key);
      check_tensor(*found, "buffer_" + key + ".npy", 1e-9, key);
    }
}

TEST_CASE("train_step: ir_50 + ArcFace parameter gradients match PyTorch (float64)") {
#ifdef FK_SANITIZED
  // Under the sanitizers the first case already runs this very step (each case is its own process
  // and repeats the 23 s float64 IR-50 step): the comparisons are the Release build's job.
  FK_SKIP("under the sanitizers: the same step as the first float64 case");
#endif
  const StepResult& r = float64_step();
  auto names = read_lines(kDir + "grad_names.txt");
  REQUIRE(names.size() == r.names.size());
  for (size_t i = 0; i < names.size(); ++i)
    CHECK_MESSAGE(r.names[i] == names[i], "parameter " << i << " is '" << r.names[i] << "', PyTorch's is '" << names[i] << "'");
  check_per_parameter(r.grad_norms, kDir + "grad_norms.npy", names, 1e-8, 1e-10, "|grad|");
  for (const auto& [key, g] : r.grads) check_tensor(g, "grad_" + key + ".npy", 1e-8, "grad " + key);
}

TEST_CASE("train_step: one SGD step with sgd_bn groups moves every parameter as PyTorch (float64)") {
#ifdef FK_SANITIZED
  // Under the sanitizers the first case already runs this very step (each case is its own process
  // and repeats the 23 s float64 IR-50 step): the comparisons are the Release build's job.
  FK_SKIP("under the sanitizers: the same step as the first float64 case");
#endif
  const StepResult& r = float64_step();
  auto names = read_lines(kDir + "grad_names.txt");
  // |p_after - p_before| = lr * |g + wd*p|: a parameter in the wrong weight-decay group is off by
  // lr*wd*|p| = 5e-5*|p|, far outside the tolerance
  check_per_parameter(r.step_norms, kDir + "step_norms.npy", names, 1e-8, 1e-10, "|step|");
  for (const auto& [key, p] : r.params_after) check_tensor(p, "param_" + key + ".npy", 1e-8, key + " after the step");
  check_tensor(r.loss_after_step, "loss_after_step.npy", 1e-9, "loss after the step");
}

TEST_CASE("train_step: ir_50 + ArcFace loss matches PyTorch in float32") {
  TrainSetup s(DType::Float32);
  autograd::NoGrad no_grad;
  Tensor loss = s.loss();
  CHECK(loss.dtype() == DType::Float32);
  double got = loss.item();
  double want32 = test::fixture(kDir + "loss_f32.npy").to_vector<double>()[0];
  double want64 = test::fixture(kDir + "loss.npy").to_vector<double>()[0];
  CHECK_MESSAGE(std::abs(got - want32) <= 1e-5 * std::abs(want32), "float32 loss " << got << ", PyTorch float32 " << want32);
  CHECK_MESSAGE(std::abs(got - want64) <= 1e-5 * std::abs(want64), "float32 loss " << got << ", PyTorch float64 " << want64);
  MESSAGE("float32 loss: relative error " << std::abs(got - want32) / std::abs(want32) << " vs PyTorch float32, "
                                          << std::abs(got - want64) / std::abs(want64) << " vs float64");
}
