// Grad-CAM: which parts of the input a network's decision rests on (Selvaraju et al. 2017), as
// RuoyuChen10/VGGFace2-GradCAM computes it (reference pipelines.md §7):
//   A = the output of one layer (K channels, h x w), y = the target (a class logit, or the cosine of the
//   model's embedding with a reference embedding), G = dy/dA;
//   Grad-CAM:   α_k = mean_hw G_k,                    cam = ReLU(Σ_k α_k A_k)
//   Grad-CAM++: g = ReLU(G), α = [g > 0] / Σ_hw g_k,   w_k = Σ_hw g α,   cam = Σ_k w_k A_k (no ReLU)
//     (§7.7, as that project implements it: w_k is 1 for a channel with any positive gradient, else 0)
//   then min-max normalised to [0, 1] and resized bilinearly to the input size.
// Differences from the reference, all deliberate:
//  - a constant cam (e.g. all zero: no channel pushes the target up) normalises to zeros, not NaN;
//  - the resize is torch's interpolate(bilinear, align_corners=False); for upsampling it is the same
//    formula as cv2.resize's INTER_LINEAR on float images (half-pixel centres, clamped at the border),
//    which the fixture checks to 1e-6; for downsampling both skip antialiasing, as cv2 does.
// Tests: tests/models/explain/test_gradcam.cpp (fixtures from tests/fixtures/make_gradcam.py).
#pragma once

#include <cstdint>
#include <string>

#include "models/zoo/zoo.h"

namespace fk::models {

// What the map explains.
struct CamTarget {
  enum class Kind { Logit, Cosine };
  Kind kind = Kind::Logit;
  int64_t class_index = -1;  // Logit: the class; -1 picks the arg max of the logits
  Tensor reference;          // Cosine: a reference embedding, (D) or (1, D)

  // The raw logit of `class_index` (no softmax), from the model's "logits" output.
  static CamTarget logit(int64_t class_index = -1);
  // cos(e, reference), e the model's "embedding" output (or "features" for the VGGFace2 nets built with
  // features=true). The reference is detached: only e carries a gradient.
  static CamTarget cosine(const Tensor& reference);
};

enum class CamMethod { GradCam, GradCamPlusPlus };

struct GradCamOptions {
  CamMethod method = CamMethod::GradCam;
  // §7.10: the reference's scripts install guided backprop's ReLU rule before running Grad-CAM, so the
  // gradient flowing back through every ReLU module (torch's nn.ReLU; not the relu function, not PReLU)
  // is also clamped at 0. Off: the textbook Grad-CAM. On: the reference project's images.
  bool guided_relu = false;
};

struct GradCamResult {
  std::string layer;
  int64_t class_index = -1;  // Logit targets: the class explained (the arg max when none was given)
  double target_value = 0;   // the logit, or the cosine
  // All CPU, in the input's dtype (float32, or float64 for a float64 model).
  Tensor activation;  // A: (K, h, w), the layer's output
  Tensor gradient;    // dy/dA: (K, h, w)
  Tensor weights;     // (K): α_k (Grad-CAM) or w_k (Grad-CAM++)
  Tensor raw_cam;     // (h, w): the weighted sum before normalisation (after the ReLU for Grad-CAM)
  Tensor cam;         // (h, w): raw_cam min-max normalised to [0, 1]
  Tensor map;         // (H, W): cam resized to the input's size, in [0, 1]
};

// Grad-CAM of `target` at the module named `layer` (dotted, as named_modules() lists them, e.g.
// "layer4.2.conv3") for one input (1, C, H, W). The model runs in the mode it is in (call eval() first)
// and must not be inside a NoGrad scope. Parameters are left untouched (their .grad included): the
// gradient is taken with respect to the layer's output only. Throws one line for an unknown layer
// (with the closest names), a layer the forward pass does not run exactly once, a model without the
// output the target needs, or a class out of range.
GradCamResult grad_cam(Model& model, const Tensor& input, const std::string& layer, const CamTarget& target,
                       const GradCamOptions& opts = {});

// The layer each zoo architecture is explained at: its last convolutional stage, whose map still has
// a spatial extent. resnet50_vggface2 and senet50_vggface2: "layer4.2.conv3" (§7.4; for the SE net the
// reference's "last Conv2d" rule would pick the 1x1 SE conv); ir_50, ir_se_50, ir_101: the last body
// unit ("body.23", "body.48"); iresnet*: the last layer4 block ("layer4.1" for iresnet18, else
// "layer4.2"); mobilefacenet: "conv2"; inception_resnet_v1: "block8"; resnet50_torchvision: "layer4".
// Throws for an unknown architecture or one without a map (the MTCNN nets).
std::string default_layer(const std::string& arch);

// The pieces, for tests and for callers with their own A and G (K, h, w):
// the channel weights of `method` (K), ...
Tensor cam_weights(const Tensor& activation, const Tensor& gradient, CamMethod method);
// ... Σ_k weights_k A_k (ReLU'd for Grad-CAM) (h, w), ...
Tensor weighted_cam(const Tensor& activation, const Tensor& weights, CamMethod method);
// ... and (cam - min) / (max - min); zeros when the cam is constant.
Tensor normalize_cam(const Tensor& cam);

}  // namespace fk::models
