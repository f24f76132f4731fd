// The model zoo: every architecture facekit ships, by the name users type (`facekit run --arch NAME`),
// and the interface they share. Each architecture is a Module whose state-dict keys are exactly those
// of its public PyTorch release, so published weights load unchanged (docs/reference/models.md,
// mtcnn.md). One family per file: vggface2.cpp, resnet_torchvision.cpp, inception_resnet_v1.cpp,
// irse.cpp, iresnet.cpp, mobilefacenet.cpp, models/mtcnn/nets.cpp; registry.cpp collects their entries.
// Tests: tests/models/.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "layers/module.h"
#include "tensor/state_dict.h"

namespace fk::models {

// A model's outputs by name, in the order `facekit run` writes them to its .npz:
// "embedding", "logits", "features", "prob", "reg", "landmarks".
using NamedOutputs = std::vector<std::pair<std::string, Tensor>>;

// A zoo model: a Module whose forward() returns the main output (what PyTorch's forward returns, or
// its first element for the MTCNN nets' tuples: see each class), plus every output by name.
class Model : public Module {
 public:
  virtual NamedOutputs forward_outputs(const Tensor& x) = 0;
};

// Construction choices the architectures understand; each ignores the ones that do not apply.
struct ArchOptions {
  // Classifier size. 0: the architecture's default (8631 for the VGGFace2 nets, 1000 for
  // torchvision's ResNet-50; Inception-ResNet-V1 then has no classifier and returns the embedding).
  int64_t num_classes = 0;
  // VGGFace2 nets: return the 2048-d pooled feature instead of the logits (include_top=False).
  bool features = false;
  // resnet50_torchvision's head: "fc" (torchvision's Linear), "linear" (KIT models 2-5:
  // fc = Sequential(fc Linear, output LogSoftmax)) or "mlp" (KIT model 1: fc1, relu, dropout 0.2, fc2,
  // output LogSoftmax). Empty: "fc", or in models::load_model the head the weights hold; a head
  // the user names is kept, and weights of another head are then refused.
  std::string head = {};
};

// One architecture of the zoo.
struct ArchInfo {
  std::string name;         // "ir_50"
  std::string description;  // one line for --help and error messages
  // Expected input (N, C, H, W): 0 for "any size" (PNet). The run command checks it.
  int64_t channels = 3, height = 0, width = 0;
  std::string preprocessing;  // e.g. "RGB, (x - 127.5) / 128"
  std::function<std::shared_ptr<Model>(const ArchOptions&)> make;
  // Optional: fills options a weights file implies (classifier size, head layout) before `make`,
  // for the options the user left at their defaults.
  std::function<void(const StateDict& weights, ArchOptions& opts)> infer_options;
};

// Every architecture, in a stable order.
const std::vector<ArchInfo>& architectures();
// The architecture called `name`; throws "unknown architecture 'x' (expected one of: ...)".
const ArchInfo& find_architecture(const std::string& name);
// find_architecture(name).make(opts)
std::shared_ptr<Model> create(const std::string& name, const ArchOptions& opts = {});

// The state dict a weights file holds for a model: `key` picks a nested state dict (a training
// checkpoint's "net_state_dict": its entries keep the rest of their names), then a leading "module."
// (nn.DataParallel) is stripped from every key that has it. Throws naming the keys found when `key`
// matches nothing.
StateDict select_weights(const StateDict& file_contents, const std::string& key = "");

// Each family file registers its architectures here (called once, by architectures()).
void add_vggface2_archs(std::vector<ArchInfo>& out);
void add_resnet_torchvision_archs(std::vector<ArchInfo>& out);
void add_inception_resnet_v1_archs(std::vector<ArchInfo>& out);
void add_irse_archs(std::vector<ArchInfo>& out);
void add_iresnet_archs(std::vector<ArchInfo>& out);
void add_mobilefacenet_archs(std::vector<ArchInfo>& out);
void add_mtcnn_archs(std::vector<ArchInfo>& out);

}  // namespace fk::models
