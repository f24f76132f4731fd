// The optimiser ops of tensor/optim_update.h called directly: SGD (with and without momentum) and
// Adam (amsgrad) over lists of odd-sized tensors whose elements the threads split inside tensors,
// each element equal to the per-element math of tensor/cpu/optim_math.h up to the last bits fused
// multiply-adds change (test_util.h's same_but_rounding: another CPU fuses differently); the clipping
// ops; zero_; the argument checks. The optimisers against PyTorch: tests/layers/test_optim.cpp.
#include <vector>

#include "tensor/creation.h"
#include "tensor/optim_update.h"
#include "test_util.h"

using namespace fk;

namespace {

std::vector<Tensor> random_list(const std::vector<int64_t>& sizes, DType dtype) {
  std::vector<Tensor> out;
  for (int64_t n : sizes) out.push_back(randn({n}, dtype));
  return out;
}

std::vector<Tensor> clones(const std::vector<Tensor>& v) {
  std::vector<Tensor> out;
  for (const Tensor& t : v) out.push_back(t.clone());
  return out;
}

const std::vector<int64_t> kSizes = {1, 70001, 3, 64, 40000, 7};  // 110k elements: several thread shares

}  // namespace

TEST_CASE("sgd_update: every element as the per-element math, over a list split inside tensors") {
  manual_seed(11);
  optim::SgdCoefs<double> c{0.1, 5e-4, 0.9, 1.0, true, true, true};  // lr, wd, momentum, 1-damp, nesterov
  std::vector<Tensor> p = random_list(kSizes, DType::Float32), g = random_list(kSizes, DType::Float32);
  std::vector<Tensor> buf = random_list(kSizes, DType::Float32);
  for (bool first : {true, false}) {
    std::vector<Tensor> p0 = clones(p), b0 = clones(buf);
    ops::sgd_update(p, g, buf, first, c);
    const optim::SgdCoefs<float> cf = optim::coefs_as<float>(c);
    int64_t wrong = 0;
    for (size_t i = 0; i < p.size(); ++i)
      for (int64_t k = 0; k < p[i].numel(); ++k) {
        float pe = p0[i].data<float>()[k], be = b0[i].data<float>()[k];
        optim::sgd_update_element(pe, g[i].data<float>()[k], be, first, cf);
        wrong += !test::same_but_rounding(pe, p[i].data<float>()[k]) ||
                 !test::same_but_rounding(be, buf[i].data<float>()[k]);
      }
    CHECK_MESSAGE(wrong == 0, wrong, " elements differ (first step: ", first, ")");
  }
  // without momentum: no buffers
  c.use_momentum = false;
  std::vector<Tensor> p0 = clones(p);
  ops::sgd_update(p, g, {}, false, c);
  float unused = 0;
  float pe = p0[1].data<float>()[123];
  optim::sgd_update_element(pe, g[1].data<float>()[123], unused, false, optim::coefs_as<float>(c));
  CHECK(test::same_but_rounding(pe, p[1].data<float>()[123]));
}

TEST_CASE("adam_update: amsgrad, float64, every element as the per-element math") {
  manual_seed(12);
  optim::AdamCoefs<double> c;
  c.beta1 = 0.9, c.one_minus_beta1 = 0.1, c.beta2 = 0.999, c.one_minus_beta2 = 0.001, c.eps = 1e-8;
  c.weight_decay = 0.01, c.decoupled_decay = 1.0, c.bias_correction2_sqrt = 0.3, c.neg_step_size = -0.01;
  c.use_weight_decay = true, c.amsgrad = true;
  std::vector<Tensor> p = random_list(kSizes, DType::Float64), g = random_list(kSizes, DType::Float64);
  std::vector<Tensor> m = random_list(kSizes, DType::Float64), v = clones(g), vmax = clones(g);
  for (auto& t : v) t = ops::mul(t, t);
  for (auto& t : vmax) t = ops::mul(t, t);
  std::vector<Tensor> p0 = clones(p), m0 = clones(m), v0 = clones(v), x0 = clones(vmax);
  ops::adam_update(p, g, m, v, vmax, c);
  int64_t wrong = 0;
  for (size_t i = 0; i < p.size(); ++i)
    for (int64_t k = 0; k < p[i].numel(); ++k) {
      double pe = p0[i].data<double>()[k], me = m0[i].data<double>()[k], ve = v0[i].data<double>()[k];
      double xe = x0[i].data<double>()[k];
      optim::adam_update_element(pe, g[i].data<double>()[k], me, ve, &xe, c);
      wrong += !test::same_but_rounding(pe, p[i].data<double>()[k]) ||
               !test::same_but_rounding(me, m[i].data<double>()[k]) ||
               !test::same_but_rounding(ve, v[i].data<double>()[k]) ||
               !test::same_but_rounding(xe, vmax[i].data<double>()[k]);
    }
  CHECK_MESSAGE(wrong == 0, wrong, " elements differ");
}

TEST_CASE("clip_scale_, clip_value_ and zero_ over lists") {
  std::vector<Tensor> g = {tensor({1.0, -4.0, 2.5}, {3}), tensor({-0.5}, {1})};
  ops::clip_scale_(g, 2.0);
  CHECK_CLOSE(g[0], tensor({2.0, -8.0, 5.0}, {3}), 0, 0, "scaled");
  ops::clip_value_(g, 3.0);
  CHECK_CLOSE(g[0], tensor({2.0, -3.0, 3.0}, {3}), 0, 0, "clamped");
  CHECK_CLOSE(g[1], tensor({-1.0}, {1}), 0, 0, "clamped, second tensor");
  Tensor big = randn({50000}), strided = ops::transpose(randn({3, 4}), 0, 1), ints = full({5}, 7.0, DType::Int64);
  ops::zero_({big, strided, ints});
  CHECK(ops::sum(ops::abs(big)).item() == 0);
  CHECK(ops::sum(ops::abs(strided)).item() == 0);
  CHECK(ints.to_vector<int64_t>() == std::vector<int64_t>(5, 0));
}

TEST_CASE("optimiser ops: lists that do not match are refused naming the tensor") {
  optim::SgdCoefs<double> c{0.1, 0, 0.9, 1.0, false, true, false};
  std::vector<Tensor> p = {zeros({3}), zeros({2})}, g = {zeros({3}), zeros({2})};
  CHECK_THROWS_WITH_AS(ops::sgd_update(p, {zeros({3})}, {zeros({3}), zeros({2})}, true, c),
                       "sgd_update: 1 gradients for 2 parameters", Error);
  CHECK_THROWS_WITH_AS(ops::sgd_update(p, g, {}, true, c), "sgd_update: momentum needs a buffer per parameter", Error);
  CHECK_THROWS_WITH_AS(ops::sgd_update(p, g, {zeros({3}), zeros({5})}, true, c),
                       doctest::Contains("sgd_update: momentum buffer 1"), Error);
  CHECK_THROWS_WITH_AS(ops::sgd_update({zeros({3}), zeros({2}, DType::Float64)}, g, {zeros({3}), zeros({2})}, true, c),
                       doctest::Contains("sgd_update: parameter 1 is"), Error);
}
