// Training losses and margin heads for face recognition (reference: docs/reference/losses.md).
//   focal_loss              batch-level focal loss of egcode/KIT/tutorial: (1 - exp(-CE))^gamma * CE  (§2)
//   focal_loss_per_sample   Lin et al.'s form: mean_i alpha * (1 - p_i)^gamma * (-log p_i)
//   ArcFace                 additive angular margin s*cos(theta_y + m): insightface (§3b) or egcode (§3a)
//   CosFace                 additive cosine margin s*(cos theta_y - m) (insightface/tutorial, §4)
//   SphereFace              multiplicative angular margin cos(m theta_y) (A-Softmax, sphereface_pytorch)
//   CenterLoss              mean_i ||x_i - c_{y_i}||^2 (egcode §6) with Wen et al.'s centre update rule
// Every head is a Module whose forward(x, labels) returns margin logits (N, C) for cross_entropy;
// forward(x) alone, or a label -1, applies no margin to that row (only the scaling). Everything is
// composed from the differentiable ops of autograd/ops.h, except the margin transform of the target
// logits: one fused op, margin_logits (CPU loops, CUDA kernels in cuda/heads.cu, the per-logit formula
// and its derivative in tensor/cpu/margin_math.h). Parameters and inputs may live on a GPU; labels may be
// on the CPU or on the inputs' device.
// Tests: tests/layers/test_heads.cpp (PyTorch fixtures from tests/fixtures/make_heads.py),
// tests/layers/test_cuda_kernels_optim_heads.cpp, tests/cuda/test_heads.cpp (GPU vs CPU).
#pragma once

#include <string>

#include "layers/module.h"
#include "tensor/cpu/margin_math.h"

namespace fk {

// ---- the fused margin transform ---------------------------------------------------------------

// Differentiable: logits (N, C) = s * phi(cos) at each row's label and s * cos elsewhere (phi and its
// derivative per head in tensor/cpu/margin_math.h). cos (N, C) float32/float64 on any device; labels (N)
// int64 in [-1, C) (-1: no target) on the CPU or cos' device, or undefined (all -1).
Tensor margin_logits(const Tensor& cos, const Tensor& labels, const MarginParams& p);

// ---- focal losses ---------------------------------------------------------------------------

// The reference's "batch-level" focal loss (egcode FocalLoss, KIT FocalLoss, tutorial FocalLoss):
//   ce = cross_entropy(input, target)  (or nll_loss(input, target) when log_probs: KIT's models end
//        in LogSoftmax), already the batch mean
//   loss = (1 - exp(-ce))^gamma * ce
// The modulating factor uses the batch-mean loss, not per-sample probabilities; gamma = 0 is plain CE.
// input (N, C) logits (or log-probabilities), target (N) int64 in [0, C).
Tensor focal_loss(const Tensor& input, const Tensor& target, double gamma = 2.0, bool log_probs = false);

// The standard per-sample focal loss (Lin et al. 2017, multi-class with a scalar alpha):
//   log p_i = log_softmax(input)_{i, y_i}   (input itself when log_probs)
//   loss = mean_i alpha * (1 - p_i)^gamma * (-log p_i)
Tensor focal_loss_per_sample(const Tensor& input, const Tensor& target, double gamma = 2.0, double alpha = 1.0,
                             bool log_probs = false);

// ---- margin heads ---------------------------------------------------------------------------

// The base of the heads: forward(x, labels) -> logits (N, C). x (N, d) features, labels (N) int64 in
// [0, C) or -1 ("no target": the row is only scaled, as insightface). An undefined `labels` means
// every row is -1 (inference: the scaled cosines, whose argmax is the prediction).
class MarginHead : public Module {
 public:
  virtual Tensor forward(const Tensor& x, const Tensor& labels) = 0;
  Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
};

struct ArcFaceOptions {
  double s = 64.0;  // scale (insightface ArcFace default; egcode trains with 32)
  double m = 0.5;   // additive angular margin in radians
  bool easy_margin = false;
  // "insightface" (§3b): phi = cos(theta + m) from the sin/cos identity, with the fallback
  //   phi = cos - sin(pi - m)*m where cos <= cos(pi - m) (or phi = cos where cos <= 0 with easy_margin);
  //   weight `weight` ~ normal(0, 0.01) (arcface_torch's PartialFC).
  // "egcode" (§3a, egcode ArcFaceLossMargin): c = clamp(cos, -1+1e-4, 1-1e-4), s*cos(acos(c) + m),
  //   no fallback (easy_margin not allowed); weight `weights` ~ randn, as egcode's state-dict key.
  std::string variant = "insightface";
};

// ArcFace (Deng et al. 2019), insightface's formulas (§3b):
//   cos = linear(normalize(x), normalize(W))            (N, C)
//   sin = sqrt(1 - cos^2);  phi = cos*cos(m) - sin*sin(m)  = cos(theta + m)
//   phi = cos > cos(pi - m) ? phi : cos - sin(pi - m)*m     (keeps the logit monotonic past theta = pi - m)
//   logits = s * (onehot*phi + (1 - onehot)*cos)
// sqrt's argument is clamped to [1e-12, 1]: rounding can push |cos| to 1 or beyond, where PyTorch
// gives NaN gradients; forward values differ from PyTorch's only when sin < 1e-6.
class ArcFace : public MarginHead {
 public:
  ArcFace(int64_t in_features, int64_t num_classes, ArcFaceOptions opts = {});
  using MarginHead::forward;
  Tensor forward(const Tensor& x, const Tensor& labels) override;
  std::string extra_repr() const override;

  int64_t in_features, num_classes;
  ArcFaceOptions opts;
  Tensor weight;  // (C, d), state-dict key "weight" (insightface) or "weights" (egcode)
};

// CosFace / LMCL (Wang et al. 2018), insightface/tutorial form (§4):
//   logits = s * (cos - m*onehot),  cos = linear(normalize(x), normalize(W))
// Defaults s = 64 and m = 0.40 are insightface's CosFace (egcode uses m = 0.35 and a PReLU on the
// features first; that variant is not provided). Weight `weight` (C, d) ~ normal(0, 0.01).
class CosFace : public MarginHead {
 public:
  CosFace(int64_t in_features, int64_t num_classes, double s = 64.0, double m = 0.40);
  using MarginHead::forward;
  Tensor forward(const Tensor& x, const Tensor& labels) override;
  std::string extra_repr() const override;

  int64_t in_features, num_classes;
  double s, m;
  Tensor weight;  // (C, d)
};

struct SphereFaceOptions {
  int64_t m = 4;  // multiplicative margin, 1..5 as sphereface_pytorch's mlambda table
  // lambda = max(lambda_min, base * (1 + gamma*iteration)^(-power)): the original SphereFace (Caffe)
  // schedule. sphereface_pytorch's AngleLoss uses base 1500, gamma 0.1, power 1, lambda_min 5.
  double base = 1000.0;
  double gamma = 0.12;
  double power = 1.0;
  double lambda_min = 5.0;
};

// SphereFace / A-Softmax (Liu et al. 2017), following clcarwin/sphereface_pytorch AngleLinear +
// AngleLoss (no project in the reference has SphereFace):
//   cos = normalize(x) . normalize(W, dim 0), clamped to [-1, 1]; theta = acos(cos)
//   cos(m theta) = T_m(cos), the Chebyshev polynomial (T_0 = 1, T_1 = c, T_{n+1} = 2c T_n - T_{n-1})
//   k = floor(m theta / pi) (no gradient);  psi = (-1)^k cos(m theta) - 2k  (monotonic in theta)
//   logits = ||x|| cos                                 for non-targets and label -1 rows
//          = ||x|| (lambda*cos + psi) / (1 + lambda)    for the target
// Each forward with labels in training mode first increments `iteration`, then lambda = max(lambda_min,
// base*(1 + gamma*iteration)^-power) (AngleLoss counts `it += 1` before use); eval mode leaves it.
// Weight `weight` is (in_features, num_classes) as sphereface_pytorch, initialised uniform(-1, 1)
// with unit-norm columns (its renorm_(2, 1, 1e-5).mul_(1e5)).
class SphereFace : public MarginHead {
 public:
  SphereFace(int64_t in_features, int64_t num_classes, SphereFaceOptions opts = {});
  using MarginHead::forward;
  Tensor forward(const Tensor& x, const Tensor& labels) override;
  std::string extra_repr() const override;
  double lambda() const;  // the blending weight for the current `iteration`

  int64_t in_features, num_classes;
  SphereFaceOptions opts;
  int64_t iteration = 0;  // training forwards so far (set it when resuming)
  Tensor weight;          // (d, C)
};

// Center loss (Wen et al. 2016), egcode's CenterLoss (§6) without its built-in PReLU + fc3 softmax head:
//   loss = mean_i clamp(||x_i - c_{y_i}||^2, 1e-12, 1e12)   (no 1/2, as egcode)
// Two ways to move the centres:
//  - let the optimiser update `centers` through this gradient (egcode: same optimiser and lr), or
//  - Wen et al.'s own rule, update_centers(x, labels), with the centre update rate `alpha`:
//      delta_c_j = sum_{i: y_i = j} (c_j - x_i) / (1 + n_j);   c_j -= alpha * delta_c_j
//    (then keep `centers` out of the optimiser). Parameter `centers` (C, d) ~ randn.
class CenterLoss : public Module {
 public:
  CenterLoss(int64_t num_classes, int64_t feat_dim, double alpha = 0.5);
  Tensor forward(const Tensor& x, const Tensor& labels);
  Tensor forward(const Tensor& x) override;  // throws: center loss needs labels
  // In place, no graph: Wen et al.'s update above. x (N, d), labels (N) in [0, C).
  void update_centers(const Tensor& x, const Tensor& labels);
  std::string extra_repr() const override;

  int64_t num_classes, feat_dim;
  double alpha;     // centre update rate of update_centers (Wen et al.'s alpha; 0.5 in their paper)
  Tensor centers;   // (C, d)
};

}  // namespace fk
