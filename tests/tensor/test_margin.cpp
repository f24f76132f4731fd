// ops::margin_logits and its backward (tensor/margin.h) called directly: every head's transform
// against the per-logit math of tensor/cpu/margin_math.h (the specification the CUDA kernels share; up to
// the last bits fused multiply-adds change, test_util.h's same_but_rounding),
// on a batch large enough to be split over the threads, in float32 and float64; the argument checks.
// The heads' values against PyTorch: tests/layers/test_heads.cpp.
#include <cmath>
#include <vector>

#include "tensor/creation.h"
#include "tensor/margin.h"
#include "test_util.h"

using namespace fk;

namespace {

MarginParams cosface() {
  MarginParams p;
  p.kind = MarginKind::CosFace, p.s = 64, p.m = 0.35;
  return p;
}

MarginParams arcface() {
  MarginParams p;
  p.kind = MarginKind::ArcFace, p.s = 64, p.m = 0.5;
  p.cos_m = std::cos(0.5), p.sin_m = std::sin(0.5), p.th = std::cos(M_PI - 0.5), p.mm = std::sin(M_PI - 0.5) * 0.5;
  return p;
}

MarginParams sphereface() {
  MarginParams p;
  p.kind = MarginKind::SphereFace, p.s = 1, p.m = 4, p.lambda = 5;
  return p;
}

template <class T>
void check_against_math(DType dtype, const MarginParams& p, const char* name) {
  manual_seed(5);
  const int64_t N = 96, C = 700;  // 67k logits: more than one thread's chunk
  Tensor cos = ops::sub(ops::mul(rand({N, C}, dtype), 1.98), 0.99);
  Tensor dy = randn({N, C}, dtype);
  std::vector<int64_t> lab(N);
  for (int64_t n = 0; n < N; ++n) lab[size_t(n)] = n % 7 == 3 ? -1 : (n * 37) % C;
  Tensor labels = tensor(std::vector<double>(lab.begin(), lab.end()), {N}, DType::Int64);
  Tensor y = ops::margin_logits(cos, labels, p), dc = ops::margin_logits_backward(dy, cos, labels, p);
  int64_t wrong = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < C; ++j) {
      const T c = cos.data<T>()[n * C + j];
      const bool target = lab[size_t(n)] == j;
      wrong += !test::same_but_rounding(y.data<T>()[n * C + j], margin_logit(c, target, p));
      const T grad = margin_logit_grad(dy.data<T>()[n * C + j], c, target, p);
      wrong += !test::same_but_rounding(dc.data<T>()[n * C + j], grad);
    }
  CHECK_MESSAGE(wrong == 0, name, ": ", wrong, " values differ from the per-logit math");
}

}  // namespace

TEST_CASE("margin_logits: every head equals the per-logit math, float32 and float64, split over threads") {
  check_against_math<float>(DType::Float32, cosface(), "cosface f32");
  check_against_math<double>(DType::Float64, cosface(), "cosface f64");
  check_against_math<float>(DType::Float32, arcface(), "arcface f32");
  check_against_math<double>(DType::Float64, arcface(), "arcface f64");
  check_against_math<double>(DType::Float64, sphereface(), "sphereface f64");
}

TEST_CASE("margin_logits: hand-worked CosFace values, non-contiguous input") {
  // cos^T of [[0.6, 0.1], [0.2, 0.3]] given as a transposed view; labels 0 and -1
  Tensor base = tensor({0.6, 0.2, 0.1, 0.3}, {2, 2}, DType::Float64);
  Tensor cos = ops::transpose(base, 0, 1);  // [[0.6, 0.1], [0.2, 0.3]]
  Tensor y = ops::margin_logits(cos, tensor({0, -1}, {2}, DType::Int64), cosface());
  CHECK_CLOSE(y, tensor({64 * (0.6 - 0.35), 64 * 0.1, 64 * 0.2, 64 * 0.3}, {2, 2}, DType::Float64), 1e-12, 1e-12,
              "cosface");
}

TEST_CASE("margin_logits: bad arguments name the op and the problem") {
  Tensor cos = zeros({2, 3});
  CHECK_THROWS_WITH_AS(ops::margin_logits(cos, tensor({0, 3}, {2}, DType::Int64), cosface()),
                       "margin_logits: label 3 is outside [-1, 3)", Error);
  CHECK_THROWS_WITH_AS(ops::margin_logits(cos, tensor({0, 1, 2}, {3}, DType::Int64), cosface()),
                       doctest::Contains("margin_logits: labels must be int64 of shape [2]"), Error);
  CHECK_THROWS_WITH_AS(ops::margin_logits(zeros({6}), tensor({0}, {1}, DType::Int64), cosface()),
                       doctest::Contains("margin_logits: cos must be a float32/float64 (N, C) tensor"), Error);
  CHECK_THROWS_WITH_AS(ops::margin_logits_backward(zeros({2, 2}), cos, tensor({0, 1}, {2}, DType::Int64), cosface()),
                       doctest::Contains("margin_logits_backward: dlogits [2, 2] must have the shape of cos [2, 3]"),
                       Error);
}
