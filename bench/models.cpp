// bench_models: forward time of every zoo architecture at full size, batch 1, eval mode, no grad
// (what `facekit run` and the apps pay per face), one JSON line per model
// ({"name":..., "input":[...], "ms":...}, median of repeats after warm-up). bench/models.py runs the
// same models in PyTorch and prints the ratios; threads: OMP_NUM_THREADS / OPENBLAS_NUM_THREADS.
//   bench_models [repeats] [arch ...]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "autograd/node.h"
#include "models/zoo.h"
#include "tensor/random.h"

using namespace fk;

int main(int argc, char** argv) {
  int repeats = argc > 1 ? std::atoi(argv[1]) : 5;
  std::vector<std::string> only(argv + std::min(argc, 2), argv + argc);
  manual_seed(0);
  autograd::NoGrad no_grad;
  for (const auto& arch : models::architectures()) {
    if (!only.empty() && std::find(only.begin(), only.end(), arch.name) == only.end()) continue;
    auto model = arch.make({});
    model->eval();
    // PNet takes any size: time it on a 640x480 photo's first pyramid level (scale 0.6)
    int64_t h = arch.height ? arch.height : 288, w = arch.width ? arch.width : 384;
    Tensor x = randn({1, arch.channels, h, w});
    std::vector<double> ms;
    for (int i = 0; i < repeats + 1; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      model->forward_outputs(x);
      double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (i > 0) ms.push_back(t);  // the first run is warm-up
    }
    std::sort(ms.begin(), ms.end());
    std::printf("{\"name\": \"%s\", \"input\": [1, %lld, %lld, %lld], \"ms\": %.3f}\n", arch.name.c_str(),
                (long long)arch.channels, (long long)h, (long long)w, ms[ms.size() / 2]);
    std::fflush(stdout);
  }
}
