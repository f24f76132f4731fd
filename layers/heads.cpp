// Losses and margin heads (see heads.h): each forward composes differentiable ops of autograd/ops.h.
// The target column is picked with a one-hot mask, target_cos = sum(cos * onehot, dim 1), and the
// margin logit is put back with where(onehot, margin, cos), the functional form of insightface's
// in-place `logits[index, labels] = ...`.
#include "layers/heads.h"

#include <cmath>
#include <numbers>

#include "tensor/creation.h"

namespace fk {

namespace {

// Checks labels (N) int64 with values in [min_label, C) and returns the Bool (N, C) mask
// onehot[i][j] = (labels[i] == j); a -1 label gives a row of false. Undefined labels mean all -1.
Tensor target_mask(const Tensor& labels, int64_t N, int64_t C, int64_t min_label, const std::string& who) {
  Tensor lab = labels.defined() ? labels : full({N}, -1.0, DType::Int64);
  FK_CHECK(lab.dtype() == DType::Int64 && lab.dim() == 1 && lab.size(0) == N, who, ": labels must be int64 of shape [",
           N, "], got ", dtype_name(lab.dtype()), " ", shape_str(lab.shape()));
  for (int64_t y : lab.to_vector<int64_t>())
    FK_CHECK(y >= min_label && y < C, who, ": label ", y, " is outside [", min_label, ", ", C, ")");
  Tensor classes = ops::reshape(arange(0.0, double(C), 1.0, DType::Int64).to(lab.device()), {1, C});
  return ops::eq(ops::reshape(lab, {N, 1}), classes);
}

// x must be (N, in_features)
void check_features(const Tensor& x, int64_t in_features, const std::string& who) {
  FK_CHECK(x.dim() == 2 && x.size(1) == in_features, who, ": features must be (N, ", in_features, "), got ",
           shape_str(x.shape()));
}

// The cosine of each row's target class, (N, 1); 0 for label -1 rows (never used there).
Tensor target_column(const Tensor& cos, const Tensor& onehot) {
  return sum(mul(cos, onehot.to(cos.dtype())), {1}, true);
}

// A (rows, cols) float32 tensor ~ normal(0, std) from fk::default_generator()
Tensor normal_init(int64_t rows, int64_t cols, double std) { return ops::mul(randn({rows, cols}), std); }

void check_sizes(int64_t in_features, int64_t num_classes, const std::string& who) {
  FK_CHECK(in_features > 0 && num_classes > 0, who, ": in_features and num_classes must be positive, got ",
           in_features, " and ", num_classes);
}

std::string head_sizes(int64_t in_features, int64_t num_classes) {
  return "in_features=" + std::to_string(in_features) + ", out_features=" + std::to_string(num_classes);
}

}  // namespace

// ---- focal losses

Tensor focal_loss(const Tensor& input, const Tensor& target, double gamma, bool log_probs) {
  FK_CHECK(gamma >= 0, "focal_loss: gamma must be >= 0, got ", gamma);
  Tensor ce = log_probs ? nll_loss(input, target) : cross_entropy(input, target);
  if (gamma == 0) return ce;  // (1 - p)^0 = 1; skips pow's 0 * x^-1 gradient at p = 1
  Tensor p = exp(neg(ce));    // the "probability" of the batch-mean loss
  return mul(pow(sub(1.0, p), gamma), ce);
}

Tensor focal_loss_per_sample(const Tensor& input, const Tensor& target, double gamma, double alpha, bool log_probs) {
  FK_CHECK(gamma >= 0, "focal_loss_per_sample: gamma must be >= 0, got ", gamma);
  FK_CHECK(input.dim() == 2, "focal_loss_per_sample: input must be (N, C), got ", shape_str(input.shape()));
  const int64_t N = input.size(0), C = input.size(1);
  Tensor onehot = target_mask(target, N, C, 0, "focal_loss_per_sample");
  Tensor logp = log_probs ? input : log_softmax(input, 1);
  Tensor logp_y = squeeze(target_column(logp, onehot), 1);  // (N): log p_i
  Tensor nll = neg(logp_y);
  if (gamma != 0) nll = mul(pow(sub(1.0, exp(logp_y)), gamma), nll);  // (1 - p_i)^gamma * (-log p_i)
  return mul(mean(nll), alpha);
}

// ---- ArcFace

ArcFace::ArcFace(int64_t in_features_, int64_t num_classes_, ArcFaceOptions opts_)
    : in_features(in_features_), num_classes(num_classes_), opts(std::move(opts_)) {
  check_sizes(in_features, num_classes, "ArcFace");
  FK_CHECK(opts.variant == "insightface" || opts.variant == "egcode",
           "ArcFace: variant must be \"insightface\" or \"egcode\", got \"", opts.variant, "\"");
  FK_CHECK(!(opts.variant == "egcode" && opts.easy_margin), "ArcFace: the egcode variant has no easy_margin");
  FK_CHECK(opts.m >= 0 && opts.m < std::numbers::pi, "ArcFace: margin m must be in [0, pi), got ", opts.m);
  if (opts.variant == "egcode")
    weight = register_parameter("weights", randn({num_classes, in_features}));  // egcode: torch.randn
  else
    weight = register_parameter("weight", normal_init(num_classes, in_features, 0.01));  // normal(0, 0.01)
}

Tensor ArcFace::forward(const Tensor& x, const Tensor& labels) {
  check_features(x, in_features, "ArcFace");
  const double s = opts.s, m = opts.m;
  Tensor onehot = target_mask(labels, x.size(0), num_classes, -1, "ArcFace");
  Tensor cos_all = linear(normalize(x, 1), normalize(weight, 1));  // (N, C): cos theta_ij
  Tensor c = target_column(cos_all, onehot);                        // (N, 1): cos theta_{i, y_i}
  Tensor phi;                                                       // (N, 1): the target's margin cosine
  if (opts.variant == "egcode") {
    // s*cos(acos(c) + m) with c kept off +-1, where acos' derivative -1/sqrt(1 - c^2) is infinite
    Tensor cc = clamp(c, -1.0 + 1e-4, 1.0 - 1e-4);
    phi = cos(add(acos(cc), m));
  } else {
    // cos(theta + m) = cos*cos(m) - sin*sin(m); the clamp keeps sqrt's argument in [1e-12, 1]
    Tensor sin_t = sqrt(clamp(sub(1.0, mul(c, c)), 1e-12, 1.0));
    phi = sub(mul(c, std::cos(m)), mul(sin_t, std::sin(m)));
    if (opts.easy_margin) {
      phi = where(gt(c, 0.0), phi, c);
    } else {
      // past theta = pi - m, cos(theta + m) would rise again: use the linear cos - sin(pi - m)*m instead
      const double th = std::cos(std::numbers::pi - m), mm = std::sin(std::numbers::pi - m) * m;
      phi = where(gt(c, th), phi, sub(c, mm));
    }
  }
  return mul(where(onehot, phi, cos_all), s);
}

std::string ArcFace::extra_repr() const {
  std::string r = head_sizes(in_features, num_classes) + ", s=" + py_float(opts.s) + ", m=" + py_float(opts.m);
  if (opts.variant == "egcode") return r + ", variant='egcode'";
  return r + ", easy_margin=" + py_bool(opts.easy_margin);
}

// ---- CosFace

CosFace::CosFace(int64_t in_features_, int64_t num_classes_, double s_, double m_)
    : in_features(in_features_), num_classes(num_classes_), s(s_), m(m_) {
  check_sizes(in_features, num_classes, "CosFace");
  weight = register_parameter("weight", normal_init(num_classes, in_features, 0.01));
}

Tensor CosFace::forward(const Tensor& x, const Tensor& labels) {
  check_features(x, in_features, "CosFace");
  Tensor onehot = target_mask(labels, x.size(0), num_classes, -1, "CosFace");
  Tensor cos_all = linear(normalize(x, 1), normalize(weight, 1));  // (N, C)
  // s * (cos - m*onehot)
  return mul(sub(cos_all, mul(onehot.to(cos_all.dtype()), m)), s);
}

std::string CosFace::extra_repr() const {
  return head_sizes(in_features, num_classes) + ", s=" + py_float(s) + ", m=" + py_float(m);
}

// ---- SphereFace

SphereFace::SphereFace(int64_t in_features_, int64_t num_classes_, SphereFaceOptions opts_)
    : in_features(in_features_), num_classes(num_classes_), opts(opts_) {
  check_sizes(in_features, num_classes, "SphereFace");
  FK_CHECK(opts.m >= 1, "SphereFace: margin m must be a positive integer, got ", opts.m);
  FK_CHECK(opts.lambda_min >= 0 && opts.base >= 0, "SphereFace: base and lambda_min must be >= 0");
  // sphereface_pytorch: uniform_(-1, 1).renorm_(2, 1, 1e-5).mul_(1e5), i.e. unit-norm columns
  Tensor w = empty({in_features, num_classes});
  init::uniform_(w, -1.0, 1.0);
  {
    autograd::NoGrad no_grad;
    w = normalize(w, 0).contiguous();
  }
  weight = register_parameter("weight", w);
}

double SphereFace::lambda() const {
  return std::max(opts.lambda_min, opts.base * std::pow(1.0 + opts.gamma * double(iteration), -opts.power));
}

Tensor SphereFace::forward(const Tensor& x, const Tensor& labels) {
  check_features(x, in_features, "SphereFace");
  Tensor onehot = target_mask(labels, x.size(0), num_classes, -1, "SphereFace");
  if (labels.defined() && is_training()) ++iteration;  // AngleLoss: it += 1, then lambda
  const double lam = lambda();
  const int64_t m = opts.m;

  Tensor xlen = sqrt(sum(mul(x, x), {1}, true));                                       // (N, 1): ||x||
  Tensor cos_all = clamp(matmul(normalize(x, 1), normalize(weight, 0)), -1.0, 1.0);  // (N, C)
  Tensor c = target_column(cos_all, onehot);                                           // (N, 1)

  // cos(m theta) = T_m(c), by the Chebyshev recurrence T_{n+1} = 2c T_n - T_{n-1}
  Tensor t_prev = ones_like(c), t_cur = c;
  for (int64_t n = 1; n < m; ++n) {
    Tensor t_next = sub(mul(mul(c, t_cur), 2.0), t_prev);
    t_prev = t_cur;
    t_cur = t_next;
  }
  // k = floor(m theta / pi) = #{j in 1..m : m theta / pi >= j} and (-1)^k, both constants (no gradient)
  Tensor k = zeros_like(c), sign = ones_like(c);
  {
    autograd::NoGrad no_grad;
    Tensor mt = ops::mul(ops::acos(c.detach()), double(m) / std::numbers::pi);  // m theta / pi
    for (int64_t j = 1; j <= m; ++j) {
      Tensor passed = ops::ge(mt, double(j)).to(c.dtype());
      k = ops::add(k, passed);
      sign = ops::mul(sign, ops::sub(1.0, ops::mul(passed, 2.0)));
    }
  }
  Tensor psi = sub(mul(t_cur, sign), mul(k, 2.0));  // (-1)^k cos(m theta) - 2k
  // target logit (lambda cos + psi) / (1 + lambda); both then scaled by ||x||
  Tensor target = div(add(mul(c, lam), psi), 1.0 + lam);
  return mul(where(onehot, target, cos_all), xlen);
}

std::string SphereFace::extra_repr() const {
  return head_sizes(in_features, num_classes) + ", m=" + std::to_string(opts.m);
}

// ---- CenterLoss

CenterLoss::CenterLoss(int64_t num_classes_, int64_t feat_dim_, double alpha_)
    : num_classes(num_classes_), feat_dim(feat_dim_), alpha(alpha_) {
  check_sizes(feat_dim, num_classes, "CenterLoss");
  centers = register_parameter("centers", randn({num_classes, feat_dim}));  // egcode: torch.randn
}

Tensor CenterLoss::forward(const Tensor& x, const Tensor& labels) {
  check_features(x, feat_dim, "CenterLoss");
  target_mask(labels, x.size(0), num_classes, 0, "CenterLoss");  // checks labels
  Tensor c = index_select(centers, 0, labels);                    // (N, d): c_{y_i}
  Tensor diff = sub(x, c);
  Tensor dist = sum(mul(diff, diff), {1});  // (N): ||x_i - c_{y_i}||^2
  // egcode clamps to [1e-12, 1e12] (a zero distance then passes no gradient)
  return mean(clamp(dist, 1e-12, 1e12));
}

Tensor CenterLoss::forward(const Tensor&) {
  throw Error("CenterLoss: forward needs labels, call forward(x, labels)");
}

void CenterLoss::update_centers(const Tensor& x_in, const Tensor& labels) {
  check_features(x_in, feat_dim, "CenterLoss.update_centers");
  target_mask(labels, x_in.size(0), num_classes, 0, "CenterLoss.update_centers");
  autograd::NoGrad no_grad;
  Tensor x = x_in.detach().to(centers.dtype());
  Tensor diff = ops::sub(ops::index_select(centers.detach(), 0, labels), x);  // (N, d): c_{y_i} - x_i
  // per class: sum of its diffs (C, d) and its count n_j (C)
  Tensor sums = ops::index_add(zeros({num_classes, feat_dim}, centers.dtype()), 0, labels, diff);
  Tensor counts = ops::index_add(zeros({num_classes}, centers.dtype()), 0, labels, ones({x.size(0)}, centers.dtype()));
  Tensor delta = ops::div(sums, ops::reshape(ops::add(counts, 1.0), {num_classes, 1}));  // delta_c_j
  ops::add_(centers, delta, -alpha);  // c_j -= alpha * delta_c_j
}

std::string CenterLoss::extra_repr() const {
  return "num_classes=" + std::to_string(num_classes) + ", feat_dim=" + std::to_string(feat_dim) +
         ", alpha=" + py_float(alpha);
}

}  // namespace fk
