// bench_ops: times facekit's hot CPU ops on fixed shapes and prints one JSON line per case
// ({"name":..., "ms":...}, median of repeats after warm-up). bench/ops.py runs the same cases in
// PyTorch and prints the ratios; threads are set by OMP_NUM_THREADS / OPENBLAS_NUM_THREADS.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "tensor/random.h"

using namespace fk;

static double median_ms(const std::function<void()>& fn, int repeats) {
  fn();
  fn();  // warm-up: page in buffers, wake threads
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    auto a = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

static void report(const std::string& name, double ms) {
  std::printf("{\"name\": \"%s\", \"ms\": %.3f}\n", name.c_str(), ms);
  std::fflush(stdout);
}

int main(int argc, char** argv) {
  int repeats = argc > 1 ? std::atoi(argv[1]) : 10;
  manual_seed(0);
  {  // ResNet-50 layer1 3x3 conv: 64 -> 64 channels, 56x56, batch 8
    Tensor x = randn({8, 64, 56, 56}), w = randn({64, 64, 3, 3});
    Conv2dOptions o;
    o.padding = {1, 1};
    report("conv2d 3x3 64->64 56x56 b8", median_ms([&] { ops::conv2d(x, w, Tensor(), o); }, repeats));
    Tensor dy = randn({8, 64, 56, 56});
    report("conv2d 3x3 64->64 56x56 b8 backward",
           median_ms([&] { ops::conv2d_backward(dy, x, w, false, o); }, repeats));
  }
  {  // ResNet-50 layer1 1x1 conv: 256 -> 64 channels, 56x56, batch 8
    Tensor x = randn({8, 256, 56, 56}), w = randn({64, 256, 1, 1});
    report("conv2d 1x1 256->64 56x56 b8", median_ms([&] { ops::conv2d(x, w, Tensor(), {}); }, repeats));
  }
  {  // ResNet-50 layer2 strided 3x3: 128 -> 128, 56x56 -> 28x28
    Tensor x = randn({8, 128, 56, 56}), w = randn({128, 128, 3, 3});
    Conv2dOptions o;
    o.padding = {1, 1};
    o.stride = {2, 2};
    report("conv2d 3x3/2 128->128 56x56 b8", median_ms([&] { ops::conv2d(x, w, Tensor(), o); }, repeats));
  }
  {
    Tensor a = randn({1024, 1024}), b = randn({1024, 1024});
    report("matmul 1024^3", median_ms([&] { ops::matmul(a, b); }, repeats));
  }
  {
    Tensor x = randn({8, 256, 56, 56});
    Tensor g = ones({256}), be = zeros({256}), rm = zeros({256}), rv = ones({256});
    report("batch_norm train 8x256x56x56",
           median_ms([&] { ops::batch_norm(x, g, be, rm, rv, true, 0.1, 1e-5); }, repeats));
    report("batch_norm eval 8x256x56x56",
           median_ms([&] { ops::batch_norm(x, g, be, rm, rv, false, 0.1, 1e-5); }, repeats));
  }
  return 0;
}
