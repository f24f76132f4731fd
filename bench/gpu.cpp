// bench_gpu: GPU throughput (images/s) of zoo models on CUDA, one JSON line per case, under the
// convolution backend FK_CONV selects (cudnn, the default, or native im2col + cuBLAS).
//   forward  eval mode, no graph: model(x) on one random batch already on the GPU
//   train    what `facekit train` does per batch (as bench/train.cpp): zero_grad, forward in train
//            mode, insightface ArcFace head (s 64, m 0.5) on the model's output, cross-entropy,
//            backward, SGD step (lr 0.1, momentum 0.9, egcode's sgd_bn groups: weight decay 5e-4 except
//            on BatchNorm parameters)
// The first `warmup` steps are not timed (cuDNN algorithm search, allocator warm-up); the timed steps
// run between two cuda::synchronize() calls, so the clock sees the finished GPU work:
// images/s = batch * steps / seconds. bench/gpu.py runs this under both backends, then the same work
// in PyTorch, and prints the table with the ratios.
//   bench_gpu [steps] [warmup] [classes] [work:arch:batch ...]
//   (default: 20 5 1000 forward:ir_50:64 forward:resnet50_torchvision:64 forward:resnet50_vggface2:64
//             train:ir_50:64 train:resnet50_torchvision:32 train:resnet50_vggface2:32)
// Output: {"name":..., "work":"forward"|"train", "backend":"cudnn"|"native", "batch":B,
//          "input":[B,C,H,W], "classes":C, "steps":N, "images_per_s":x, "ms_per_step":t, "device":"..."}
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "autograd/node.h"
#include "cuda/runtime.h"
#include "layers/heads.h"
#include "layers/optim.h"
#include "models/zoo/zoo.h"
#include "tensor/creation.h"
#include "tensor/random.h"

#if defined(FK_WITH_CUDA)
#include "cuda/conv.h"
#endif

using namespace fk;

namespace {

struct Case {
  std::string work;  // "forward" or "train"
  std::string arch;
  int64_t batch;
};

// "train:ir_50:64" -> {"train", "ir_50", 64}
Case parse_case(const std::string& s) {
  const auto a = s.find(':'), b = s.rfind(':');
  FK_CHECK(a != std::string::npos && b != a, "case '", s, "' is not work:arch:batch (e.g. train:ir_50:64)");
  Case c{s.substr(0, a), s.substr(a + 1, b - a - 1), std::atoll(s.c_str() + b + 1)};
  FK_CHECK(c.work == "forward" || c.work == "train", "case '", s, "': work must be forward or train");
  FK_CHECK(c.batch >= 2, "case '", s, "': batch must be >= 2 (train-mode BatchNorm1d)");
  return c;
}

std::string backend_name() {
#if defined(FK_WITH_CUDA)
  return cuda::conv_backend() == cuda::ConvBackend::Native ? "native" : "cudnn";
#else
  return "none";
#endif
}

using Clock = std::chrono::steady_clock;

// Runs `step` warmup times, then `steps` times between two synchronize() calls; returns seconds.
template <class F>
double time_steps(int steps, int warmup, F step) {
  for (int i = 0; i < warmup; ++i) step();
  cuda::synchronize();
  const auto t0 = Clock::now();
  for (int i = 0; i < steps; ++i) step();
  cuda::synchronize();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void run_case(const Case& c, int steps, int warmup, int64_t classes) {
  const Device gpu = Device::cuda();
  const auto& arch = models::find_architecture(c.arch);
  FK_CHECK(arch.height > 0 && arch.width > 0, c.arch, " has no fixed input size");
  auto model = arch.make({});
  model->to(gpu);
  const Shape input{c.batch, arch.channels, arch.height, arch.width};
  const Tensor x = randn(input).to(gpu);

  double seconds = 0;
  if (c.work == "forward") {
    model->eval();
    autograd::NoGrad no_grad;
    seconds = time_steps(steps, warmup, [&] { model->forward(x); });
  } else {
    // the embedding size, from one forward without a graph
    int64_t dim;
    {
      autograd::NoGrad no_grad;
      model->eval();
      dim = flatten(model->forward(x), 1).size(1);
    }
    auto head = std::make_shared<ArcFace>(dim, classes, ArcFaceOptions{.s = 64.0, .m = 0.5});
    head->to(gpu);
    auto groups = optim::sgd_bn_groups(*model, 5e-4);
    for (const auto& [name, p] : head->named_parameters()) groups[0].params.emplace_back("head." + name, p);
    optim::SGD opt(groups, optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
    model->train();
    const Tensor labels = randint(0, classes, {c.batch}).to(gpu);
    seconds = time_steps(steps, warmup, [&] {
      opt.zero_grad(/*set_to_none=*/true);
      Tensor loss = cross_entropy(head->forward(flatten(model->forward(x), 1), labels), labels);
      loss.backward();
      opt.step();
    });
  }
  std::printf("{\"name\": \"%s\", \"work\": \"%s\", \"backend\": \"%s\", \"batch\": %lld, \"input\": [%lld, %lld, "
              "%lld, %lld], \"classes\": %lld, \"steps\": %d, \"images_per_s\": %.3f, \"ms_per_step\": %.3f, "
              "\"device\": \"%s\"}\n",
              c.arch.c_str(), c.work.c_str(), backend_name().c_str(), (long long)c.batch, (long long)input[0],
              (long long)input[1], (long long)input[2], (long long)input[3], (long long)classes, steps,
              double(c.batch) * steps / seconds, 1e3 * seconds / steps, cuda::describe());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const int steps = argc > 1 ? std::atoi(argv[1]) : 20;
    const int warmup = argc > 2 ? std::atoi(argv[2]) : 5;
    const int64_t classes = argc > 3 ? std::atoll(argv[3]) : 1000;
    std::vector<Case> cases;
    for (int i = 4; i < argc; ++i) cases.push_back(parse_case(argv[i]));
    if (cases.empty())
      for (const char* s : {"forward:ir_50:64", "forward:resnet50_torchvision:64", "forward:resnet50_vggface2:64",
                            "train:ir_50:64", "train:resnet50_torchvision:32", "train:resnet50_vggface2:32"})
        cases.push_back(parse_case(s));
    if (steps < 1 || warmup < 0 || classes < 2) throw Error("need steps >= 1, warmup >= 0, classes >= 2");
    FK_CHECK(cuda::device_count() > 0, "needs a CUDA device (", cuda::describe(), ")");
    manual_seed(0);
    for (const auto& c : cases) run_case(c, steps, warmup, classes);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_gpu: %s\n", e.what());
    return 1;
  }
}
