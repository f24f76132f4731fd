// bench_ops: times facekit's hot CPU ops on fixed shapes and prints one JSON line per case
// ({"name":..., "ms":..., "threads":..., "blas_threads":...}, median of repeats after warm-up). bench/ops.py
// runs the same cases in PyTorch and prints the ratios; threads are set by OMP_NUM_THREADS /
// OPENBLAS_NUM_THREADS, and each line reports the counts used (omp_get_max_threads(), OpenBLAS's own,
// -1 when OpenBLAS is not in the process).
//   bench_ops [repeats]                    the fixed cases below
//   bench_ops [--repeats R] --conv N,C,H,W,K,R,S,stride,pad [--conv ...]
//                                          forward convolutions of x (N,C,H,W) with w (K,C,R,S), random
//                                          values, no bias; each line also gives "conv" (the 9 numbers)
//                                          and "gflop" (2 N K Ho Wo C R S / 1e9); then the same conv in the
//                                          inference engine (name + " engine": layers/fuse.h's FusedConv
//                                          on the blocked input, its kernel chosen as in a model), the
//                                          training backward (name + " backward": ops::conv2d_backward,
//                                          dx and dw, NCHW as in training) and the weight-gradient kernel
//                                          alone on blocked x and dy (name + " weight grad engine"); the
//                                          gflop of each is the forward's (one of the backward's two products)
#include <dlfcn.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "layers/conv.h"
#include "layers/fuse.h"
#include "tensor/blocked.h"
#include "tensor/cpu/conv_weight_grad.h"
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

// OpenBLAS's own thread count, looked up at run time (the library links OpenBLAS privately)
static int blas_threads() {
  auto fn = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return fn ? fn() : -1;
}

static void report(const std::string& name, double ms, const std::string& extra = "") {
  std::printf("{\"name\": \"%s\", \"ms\": %.3f, \"threads\": %d, \"blas_threads\": %d%s}\n", name.c_str(), ms,
              omp_get_max_threads(), blas_threads(), extra.c_str());
  std::fflush(stdout);
}

// --conv N,C,H,W,K,R,S,stride,pad
static int run_convs(const std::vector<std::string>& specs, int repeats) {
  for (const auto& spec : specs) {
    std::vector<int64_t> v;
    std::stringstream ss(spec);
    for (std::string item; std::getline(ss, item, ',');) v.push_back(std::atoll(item.c_str()));
    if (v.size() != 9) {
      std::fprintf(stderr, "bench_ops: --conv wants N,C,H,W,K,R,S,stride,pad, got %s\n", spec.c_str());
      return 2;
    }
    const int64_t n = v[0], c = v[1], h = v[2], w = v[3], k = v[4], r = v[5], s = v[6], stride = v[7], pad = v[8];
    Tensor x = randn({n, c, h, w}), wt = randn({k, c, r, s});
    Conv2dOptions o;
    o.stride = {stride, stride};
    o.padding = {pad, pad};
    const int64_t ho = (h + 2 * pad - r) / stride + 1, wo = (w + 2 * pad - s) / stride + 1;
    const double gflop = 2.0 * double(n * k * ho * wo) * double(c * r * s) / 1e9;
    char name[128], extra[160];
    std::snprintf(name, sizeof name, "conv2d %lldx%lld/%lld %lld->%lld %lldx%lld b%lld", (long long)r, (long long)s,
                  (long long)stride, (long long)c, (long long)k, (long long)h, (long long)w, (long long)n);
    std::snprintf(extra, sizeof extra, ", \"conv\": [%s], \"gflop\": %.6f", spec.c_str(), gflop);
    report(name, median_ms([&] { ops::conv2d(x, wt, Tensor(), o); }, repeats), extra);
    if (s == r) {  // square kernels: as a zoo model's Conv2d
      Conv2d conv(c, k, r, stride, pad, 1, 1, false);
      conv.weight = wt;
      conv.eval();
      fuse::FusedConv fused(fuse::ConvParts{&conv});
      const BlockedTensor xb = to_blocked(x);
      autograd::NoGrad ng;
      report(std::string(name) + " engine", median_ms([&] { fused(xb); }, repeats), extra);
    }
    Tensor dy = randn({n, k, ho, wo});
    report(std::string(name) + " backward", median_ms([&] { ops::conv2d_backward(dy, x, wt, false, o); }, repeats),
           extra);
    cpu::BlockedConvGeometry g;
    g.N = n, g.C = c, g.H = h, g.W = w, g.OC = k, g.KH = r, g.KW = s, g.OH = ho, g.OW = wo;
    g.SH = g.SW = stride, g.PH = g.PW = pad;
    const BlockedTensor xb = to_blocked(x), dyb = to_blocked(dy);
    Tensor dw = empty({k, c, r, s});
    report(std::string(name) + " weight grad engine", median_ms([&] {
             cpu::conv2d_weight_grad_blocked(g, xb.data.data<float>(), dyb.data.data<float>(), dw.data<float>());
           }, repeats), extra);
    if (r == 3 && s == 3 && stride == 1)
      report(std::string(name) + " weight grad winograd", median_ms([&] {
               cpu::conv2d_weight_grad_winograd(g, xb.data.data<float>(), dyb.data.data<float>(), dw.data<float>());
             }, repeats), extra);
  }
  return 0;
}

int main(int argc, char** argv) {
  int repeats = 10;
  std::vector<std::string> convs;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--conv" || a == "--repeats") && i + 1 < argc) {
      if (a == "--conv") convs.push_back(argv[++i]);
      else repeats = std::atoi(argv[++i]);
    } else if (i == 1 && !a.empty() && a[0] != '-') {
      repeats = std::atoi(argv[1]);  // bench_ops [repeats]
    } else {
      std::fprintf(stderr, "usage: bench_ops [repeats] | bench_ops [--repeats R] --conv N,C,H,W,K,R,S,stride,pad ..\n");
      return 2;
    }
  }
  if (repeats < 1) repeats = 1;
  manual_seed(0);
  if (!convs.empty()) return run_convs(convs, repeats);
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
