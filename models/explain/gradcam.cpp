// Grad-CAM (models/explain/gradcam.h). How the gradient of the layer's output is obtained: a forward hook on
// the layer replaces its output A by a detached copy that requires grad, a leaf of its own; every
// parameter is frozen while the pass runs. The graph then starts at A, backward stops there, and A's
// .grad is dy/dA: nothing before the layer is differentiated and no parameter gradient is touched.
#include "models/explain/gradcam.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include "layers/activation.h"

namespace fk::models {

CamTarget CamTarget::logit(int64_t class_index) {
  CamTarget t;
  t.kind = Kind::Logit;
  t.class_index = class_index;
  return t;
}

CamTarget CamTarget::cosine(const Tensor& reference) {
  CamTarget t;
  t.kind = Kind::Cosine;
  t.reference = reference;
  return t;
}

namespace {

// Parameters' requires_grad switched off for the lifetime of this object, restored after (also when
// the pass throws).
class FrozenParameters {
 public:
  explicit FrozenParameters(const Module& m) {
    for (Tensor p : m.parameters()) {
      saved_.emplace_back(p, p.requires_grad());
      p.requires_grad_(false);
    }
  }
  ~FrozenParameters() {
    for (auto& [p, on] : saved_) p.requires_grad_(on);
  }
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  std::vector<std::pair<Tensor, bool>> saved_;
};

// Forward hooks removed when this object goes away.
class ScopedHooks {
 public:
  void add(Module& m, ForwardHook hook) { handles_.emplace_back(&m, m.register_forward_hook(std::move(hook))); }
  ~ScopedHooks() {
    for (auto& [m, handle] : handles_) m->remove_forward_hook(handle);
  }
  ScopedHooks() = default;
  ScopedHooks(const ScopedHooks&) = delete;
  ScopedHooks& operator=(const ScopedHooks&) = delete;

 private:
  std::vector<std::pair<Module*, int>> handles_;
};

// Every ReLU module under `m` (each once, even when registered under two names).
void collect_relus(Module& m, std::vector<Module*>& out) {
  if (dynamic_cast<ReLU*>(&m) && std::find(out.begin(), out.end(), &m) == out.end()) out.push_back(&m);
  for (auto& [name, child] : m.named_children()) collect_relus(*child, out);
}

// The named output `name` of a forward_outputs result, or an undefined Tensor.
Tensor output_named(const NamedOutputs& outs, const std::string& name) {
  for (const auto& [n, t] : outs)
    if (n == name) return t;
  return Tensor();
}

std::string output_names(const NamedOutputs& outs) {
  std::string s;
  for (const auto& [n, t] : outs) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// The scalar y the map explains, from the model's outputs; fills class_index and target_value.
Tensor target_scalar(const NamedOutputs& outs, const CamTarget& target, GradCamResult& r) {
  if (target.kind == CamTarget::Kind::Logit) {
    Tensor logits = output_named(outs, "logits");
    FK_CHECK(logits.defined(), "grad_cam: a class target needs a model with a classifier, this one outputs: ",
             output_names(outs), " (use a cosine target with a reference embedding)");
    logits = flatten(logits, 1);  // (1, classes)
    const int64_t classes = logits.size(1);
    int64_t c = target.class_index;
    if (c < 0) c = int64_t(ops::argmax(logits.detach()).item());
    FK_CHECK(c < classes, "grad_cam: class ", c, " is out of range (the model has ", classes, " classes)");
    r.class_index = c;
    return select(select(logits, 0, 0), 0, c);
  }
  Tensor e = output_named(outs, "embedding");
  if (!e.defined()) e = output_named(outs, "features");
  FK_CHECK(e.defined(), "grad_cam: a cosine target needs an embedding model, this one outputs: ", output_names(outs),
           " (use a class target)");
  e = flatten(e, 0);  // (D)
  FK_CHECK(target.reference.defined(), "grad_cam: the cosine target has no reference embedding");
  Tensor ref = flatten(target.reference.detach(), 0).to(e.dtype()).to(e.device());
  FK_CHECK(ref.numel() == e.numel(), "grad_cam: the reference embedding has ", ref.numel(),
           " values, the model's embedding ", e.numel());
  double ref_norm = std::sqrt(ops::sum(ops::mul(ref, ref)).item());
  FK_CHECK(ref_norm > 0, "grad_cam: the reference embedding is all zeros");
  // cos(e, ref) = <e, ref> / (|e| |ref|)
  return div(sum(mul(e, ref)), mul(sqrt(sum(mul(e, e))), ref_norm));
}

}  // namespace

GradCamResult grad_cam(Model& model, const Tensor& input, const std::string& layer, const CamTarget& target,
                       const GradCamOptions& opts) {
  FK_CHECK(input.dim() == 4 && input.size(0) == 1, "grad_cam: expected one input (1, C, H, W), got ",
           shape_str(input.shape()));
  FK_CHECK(autograd::grad_enabled(), "grad_cam: called inside a NoGrad scope; Grad-CAM needs a backward pass");
  std::shared_ptr<Module> hooked;
  try {
    hooked = model.find(layer);
  } catch (const Error& e) {  // "<Type>.find: no submodule "x"; closest: ..."
    throw Error(std::string("grad_cam: unknown layer; ") + e.what());
  }

  GradCamResult r;
  r.layer = layer;
  FrozenParameters frozen(model);
  ScopedHooks hooks;
  if (opts.guided_relu) {
    // Guided backprop's rule on every ReLU module: the gradient reaching its output is clamped at 0
    // before the ReLU's own mask (torch's hook clamps the masked input gradient: the same values).
    // Installed before the layer's hook, so a ReLU chosen as the layer keeps its own gradient unclamped.
    std::vector<Module*> relus;
    collect_relus(model, relus);
    for (Module* m : relus)
      hooks.add(*m, [](Module&, const Tensor&, const Tensor& y) {
        if (y.requires_grad()) {
          Tensor h = y;
          h.register_hook([](const Tensor& g) { return ops::clamp(g, 0.0, std::nullopt); });
        }
        return Tensor();
      });
  }
  int calls = 0;
  Tensor a;  // the layer's output, made a leaf
  hooks.add(*hooked, [&](Module&, const Tensor&, const Tensor& y) {
    ++calls;
    a = y.detach();
    a.requires_grad_(true);
    return a;
  });

  NamedOutputs outs = model.forward_outputs(input);
  FK_CHECK(calls == 1, "grad_cam: layer '", layer, "' ran ", calls,
           " times in one forward pass; pick a module that runs exactly once");
  FK_CHECK(a.dim() == 4, "grad_cam: layer '", layer, "' outputs ", a.str(), ", not a (1, K, h, w) feature map");
  Tensor y = target_scalar(outs, target, r);
  FK_CHECK(y.requires_grad(), "grad_cam: the target does not depend on layer '", layer, "'");
  r.target_value = y.item();
  y.backward();
  FK_CHECK(a.grad().defined(), "grad_cam: no gradient reached layer '", layer, "'");

  r.activation = select(a.detach(), 0, 0).to(Device::cpu()).contiguous();  // (K, h, w)
  r.gradient = select(a.grad(), 0, 0).to(Device::cpu()).contiguous();
  r.weights = cam_weights(r.activation, r.gradient, opts.method);
  r.raw_cam = weighted_cam(r.activation, r.weights, opts.method);
  r.cam = normalize_cam(r.raw_cam);
  const int64_t h = r.cam.size(0), w = r.cam.size(1);
  r.map = ops::reshape(ops::upsample_bilinear2d(ops::reshape(r.cam, {1, 1, h, w}), {input.size(2), input.size(3)}),
                       {input.size(2), input.size(3)});
  return r;
}

// ---- the cam from A and G, in float64 loops whatever their dtype (K * h * w is small)

Tensor cam_weights(const Tensor& activation, const Tensor& gradient, CamMethod method) {
  FK_CHECK(activation.dim() == 3 && gradient.shape() == activation.shape(),
           "cam_weights: expected activation and gradient (K, h, w) of one shape, got ", activation.str(), " and ",
           gradient.str());
  const int64_t K = gradient.size(0), HW = gradient.size(1) * gradient.size(2);
  std::vector<double> g = gradient.to_vector<double>();  // (K, h, w)
  std::vector<double> weights(size_t(K), 0.0);           // (K)
  for (int64_t k = 0; k < K; ++k) {
    const double* gk = g.data() + k * HW;
    if (method == CamMethod::GradCam) {
      // α_k = mean_hw G_k
      double s = 0;
      for (int64_t i = 0; i < HW; ++i) s += gk[i];
      weights[size_t(k)] = s / double(HW);
    } else {
      // Grad-CAM++ as implemented in §7.7: α = [g > 0] / Σ_hw g (0 when the sum is 0), w_k = Σ_hw g α
      double s = 0;
      for (int64_t i = 0; i < HW; ++i) s += std::max(gk[i], 0.0);
      const double norm = s > 0 ? 1.0 / s : 0.0;
      double wk = 0;
      for (int64_t i = 0; i < HW; ++i)
        if (gk[i] > 0) wk += gk[i] * norm;
      weights[size_t(k)] = wk;
    }
  }
  return fk::tensor(weights, {K}, gradient.dtype());
}

Tensor weighted_cam(const Tensor& activation, const Tensor& weights, CamMethod method) {
  FK_CHECK(activation.dim() == 3 && weights.dim() == 1 && weights.size(0) == activation.size(0),
           "weighted_cam: expected activation (K, h, w) and weights (K), got ", activation.str(), " and ",
           weights.str());
  const int64_t K = activation.size(0), h = activation.size(1), w = activation.size(2), HW = h * w;
  std::vector<double> a = activation.to_vector<double>(), alpha = weights.to_vector<double>();
  std::vector<double> cam(size_t(HW), 0.0);  // (h, w)
  for (int64_t k = 0; k < K; ++k)
    for (int64_t i = 0; i < HW; ++i) cam[size_t(i)] += alpha[size_t(k)] * a[size_t(k * HW + i)];
  if (method == CamMethod::GradCam)
    for (double& v : cam) v = std::max(v, 0.0);  // only what pushes the target up
  return fk::tensor(cam, {h, w}, activation.dtype());
}

Tensor normalize_cam(const Tensor& cam) {
  std::vector<double> v = cam.to_vector<double>();
  if (v.empty()) return cam.clone();
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  const double min = *lo, range = *hi - *lo;
  // A constant cam carries no location: zeros (the reference divides by 0 and gets NaN).
  for (double& x : v) x = range > 0 ? (x - min) / range : 0.0;
  return fk::tensor(v, cam.shape(), cam.dtype());
}

// ---- default layers

std::string default_layer(const std::string& arch) {
  find_architecture(arch);  // unknown names: the zoo's error listing every architecture
  if (arch == "resnet50_vggface2" || arch == "senet50_vggface2") return "layer4.2.conv3";
  if (arch == "ir_50" || arch == "ir_se_50") return "body.23";  // units [3, 4, 14, 3]
  if (arch == "ir_101") return "body.48";                       // units [3, 13, 30, 3]
  if (arch == "ir_small") return "body.3";                      // units [1, 1, 1, 1]
  if (arch == "iresnet18") return "layer4.1";                   // layers [2, 2, 2, 2]
  if (arch.rfind("iresnet", 0) == 0) return "layer4.2";         // 3 blocks in layer4 at the other depths
  if (arch == "mobilefacenet") return "conv2";
  if (arch == "inception_resnet_v1") return "block8";
  if (arch == "resnet50_torchvision") return "layer4";
  throw Error("grad_cam: architecture '" + arch + "' has no feature map to explain (use a recognition model)");
}

}  // namespace fk::models
