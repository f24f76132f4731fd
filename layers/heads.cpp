// Losses and margin heads (see heads.h): each forward composes differentiable ops of autograd/ops.h,
// except the margin transform of the target logits, one fused op whose derivative is recorded here
// (fk::margin_logits over ops::margin_logits, tensor/margin.h: CPU loops and CUDA kernels), the
// functional form of insightface's in-place `logits[index, labels] = ...`.
#include "layers/heads.h"

#include <cmath>
#include <numbers>

#include "tensor/creation.h"
#include "tensor/margin.h"

namespace fk {

namespace {

// Checks labels (N) int64 (on any device) with values in [min_label, C) and returns them contiguous on
// `device`; undefined labels mean every row is -1 ("no target").
Tensor checked_labels(const Tensor& labels, int64_t N, int64_t C, int64_t min_label, const std::string& who,
                      Device device) {
  Tensor lab = labels.defined() ? labels : full({N}, -1.0, DType::Int64);
  FK_CHECK(lab.dtype() == DType::Int64 && lab.dim() == 1 && lab.size(0) == N, who, ": labels must be int64 of shape [",
           N, "], got ", dtype_name(lab.dtype()), " ", shape_str(lab.shape()));
  for (int64_t y : lab.to_vector<int64_t>())
    FK_CHECK(y >= min_label && y < C, who, ": label ", y, " is outside [", min_label, ", ", C, ")");
  return lab.to(device).contiguous();
}

// The Bool (N, C) mask onehot[i][j] = (labels[i] == j) on `device`, after checked_labels; a -1 label
// gives a row of false.
Tensor target_mask(const Tensor& labels, int64_t N, int64_t C, int64_t min_label, const std::string& who,
                   Device device) {
  Tensor lab = checked_labels(labels, N, C, min_label, who, device);
  Tensor classes = ops::reshape(arange(0.0, double(C), 1.0, DType::Int64).to(device), {1, C});
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
  // labels may sit on the CPU while the logits are on a GPU
  Tensor t = target.defined() && input.defined() ? target.to(input.device()) : target;
  Tensor ce = log_probs ? nll_loss(input, t) : cross_entropy(input, t);
  if (gamma == 0) return ce;  // (1 - p)^0 = 1; skips pow's 0 * x^-1 gradient at p = 1
  Tensor p = exp(neg(ce));    // the "probability" of the batch-mean loss
  return mul(pow(sub(1.0, p), gamma), ce);
}

Tensor focal_loss_per_sample(const Tensor& input, const Tensor& target, double gamma, double alpha, bool log_probs) {
  FK_CHECK(gamma >= 0, "focal_loss_per_sample: gamma must be >= 0, got ", gamma);
  FK_CHECK(input.dim() == 2, "focal_loss_per_sample: input must be (N, C), got ", shape_str(input.shape()));
  const int64_t N = input.size(0), C = input.size(1);
  Tensor onehot = target_mask(target, N, C, 0, "focal_loss_per_sample", input.device());
  Tensor logp = log_probs ? input : log_softmax(input, 1);
  Tensor logp_y = squeeze(target_column(logp, onehot), 1);  // (N): log p_i
  Tensor nll = neg(logp_y);
  if (gamma != 0) nll = mul(pow(sub(1.0, exp(logp_y)), gamma), nll);  // (1 - p_i)^gamma * (-log p_i)
  return mul(mean(nll), alpha);
}

// ---- the fused margin transform

Tensor margin_logits(const Tensor& cos, const Tensor& labels, const MarginParams& p) {
  FK_CHECK(cos.defined() && cos.dim() == 2 && is_compute_float(cos.dtype()),
           "margin_logits: cos must be a float32/float64 (N, C) tensor, got ", cos.defined() ? cos.str() : "undefined");
  // ops::margin_logits checks the labels (int64, shape (N), each in [-1, C)) where it reads them; undefined
  // labels mean no target in any row
  const Tensor given = labels.defined() ? labels : full({cos.size(0)}, -1.0, DType::Int64);
  const Tensor lab = given.to(cos.device()).contiguous();
  Tensor c = cos.detach().contiguous();
  Tensor y = ops::margin_logits(c, lab, p);
  // dcos = dlogits * s * (phi'(cos) at the label, 1 elsewhere)
  return autograd::record("margin_logits", y, {cos}, [c, lab, p](const Tensor& dy) {
    return autograd::Grads{ops::margin_logits_backward(dy, c, lab, p)};
  });
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
  Tensor lab = checked_labels(labels, x.size(0), num_classes, -1, "ArcFace", x.device());
  Tensor cos_all = linear(normalize(x, 1), normalize(weight, 1));  // (N, C): cos theta_ij
  MarginParams p;
  p.s = opts.s;
  p.m = opts.m;
  if (opts.variant == "egcode") {
    p.kind = MarginKind::ArcFaceEgcode;  // s*cos(acos(c) + m), c kept off +-1 where acos' slope is infinite
  } else {
    // cos(theta + m) = cos*cos(m) - sin*sin(m); past theta = pi - m it would rise again, so the linear
    // cos - sin(pi - m)*m takes over (or cos itself where cos <= 0 with easy_margin)
    p.kind = MarginKind::ArcFace;
    p.easy_margin = opts.easy_margin;
    p.cos_m = std::cos(opts.m);
    p.sin_m = std::sin(opts.m);
    p.th = std::cos(std::numbers::pi - opts.m);
    p.mm = std::sin(std::numbers::pi - opts.m) * opts.m;
  }
  return margin_logits(cos_all, lab, p);
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
  Tensor lab = checked_labels(labels, x.size(0), num_classes, -1, "CosFace", x.device());
  Tensor cos_all = linear(normalize(x, 1), normalize(weight, 1));  // (N, C)
  // s * (cos - m*onehot)
  MarginParams p;
  p.kind = MarginKind::CosFace;
  p.s = s;
  p.m = m;
  return margin_logits(cos_all, lab, p);
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
  Tensor lab = checked_labels(labels, x.size(0), num_classes, -1, "SphereFace", x.device());
  if (labels.defined() && is_training()) ++iteration;  // AngleLoss: it += 1, then lambda
  Tensor xlen = sqrt(sum(mul(x, x), {1}, true));                                       // (N, 1): ||x||
  Tensor cos_all = clamp(matmul(normalize(x, 1), normalize(weight, 0)), -1.0, 1.0);  // (N, C)
  // target logit (lambda cos + psi) / (1 + lambda) with psi = (-1)^k cos(m theta) - 2k (tensor/cpu/margin_math.h),
  // others cos; both then scaled by ||x||
  MarginParams p;
  p.kind = MarginKind::SphereFace;
  p.s = 1.0;
  p.m = double(opts.m);
  p.lambda = lambda();
  return mul(margin_logits(cos_all, lab, p), xlen);
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
  Tensor lab = checked_labels(labels, x.size(0), num_classes, 0, "CenterLoss", centers.device());
  Tensor c = index_select(centers, 0, lab);  // (N, d): c_{y_i}
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
  const Device dev = centers.device();
  Tensor lab = checked_labels(labels, x_in.size(0), num_classes, 0, "CenterLoss.update_centers", dev);
  autograd::NoGrad no_grad;
  Tensor x = x_in.detach().to(centers.dtype());
  Tensor diff = ops::sub(ops::index_select(centers.detach(), 0, lab), x);  // (N, d): c_{y_i} - x_i
  // per class: sum of its diffs (C, d) and its count n_j (C)
  Tensor sums = ops::index_add(zeros({num_classes, feat_dim}, centers.dtype(), dev), 0, lab, diff);
  Tensor counts = ops::index_add(zeros({num_classes}, centers.dtype(), dev), 0, lab,
                                 full({x.size(0)}, 1.0, centers.dtype(), dev));
  Tensor delta = ops::div(sums, ops::reshape(ops::add(counts, 1.0), {num_classes, 1}));  // delta_c_j
  ops::add_(centers, delta, -alpha);  // c_j -= alpha * delta_c_j
}

std::string CenterLoss::extra_repr() const {
  return "num_classes=" + std::to_string(num_classes) + ", feat_dim=" + std::to_string(feat_dim) +
         ", alpha=" + py_float(alpha);
}

}  // namespace fk
