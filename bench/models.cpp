// bench_models: forward time of zoo architectures at full size, eval mode, no grad (what `facekit run`
// and the apps pay per batch of faces), one JSON line per model and input. bench/models.py runs the same
// models, weights and inputs in PyTorch and ONNX Runtime and prints the table.
//
//   bench_models [repeats] [arch ...]      every (or each named) architecture on a random batch of 1,
//                                          facekit's own initial weights; `repeats` timed runs after one
//                                          warm-up (default 5)
//   bench_models --arch NAME [--weights FILE] [--input X.npy ...] [--repeats R] [--warmup W]
//                                          one architecture, its weights from FILE (any format
//                                          `facekit run --weights` reads), timed on each input in turn
//   bench_models --list                    {"name", "input": [C, H, W]} per architecture (0: any size)
//
// Output per input: {"name", "input": [N, C, H, W], "batch", "ms" (median), "times" (every timed run),
// "threads" (omp_get_max_threads()), "blas_threads" (openblas_get_num_threads(), -1 when OpenBLAS is not
// in the process), "rss_mb" (the process's peak resident set so far, MiB)}. Threads: OMP_NUM_THREADS /
// OPENBLAS_NUM_THREADS.
#include <dlfcn.h>
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/node.h"
#include "data/formats/npy.h"
#include "models/recognition/face_embedder.h"
#include "models/zoo/zoo.h"
#include "tensor/error.h"
#include "tensor/random.h"

using namespace fk;

namespace {

// OpenBLAS's own thread count, looked up at run time: the library links OpenBLAS privately, so the
// symbol is in the process but not necessarily visible to this executable's link.
int blas_threads() {
  using Fn = int (*)();
  auto fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return fn ? fn() : -1;
}

std::string shape_json(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

void time_model(const std::string& name, models::Model& model, const Tensor& x, int repeats, int warmup) {
  std::vector<double> ms;
  for (int i = 0; i < warmup + repeats; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    model.forward_outputs(x);
    double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (i >= warmup) ms.push_back(t);
  }
  std::string times = "[";
  for (size_t i = 0; i < ms.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.3f", i ? ", " : "", ms[i]);
    times += buf;
  }
  times += "]";
  std::sort(ms.begin(), ms.end());
  double median = ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);  // the process's peak so far (Linux: KiB)
  std::printf("{\"name\": \"%s\", \"input\": %s, \"batch\": %lld, \"ms\": %.3f, \"times\": %s, \"threads\": %d, "
              "\"blas_threads\": %d, \"rss_mb\": %.1f}\n",
              name.c_str(), shape_json(x.shape()).c_str(), (long long)x.size(0), median, times.c_str(),
              omp_get_max_threads(), blas_threads(), double(usage.ru_maxrss) / 1024.0);
  std::fflush(stdout);
}

int usage() {
  std::fprintf(stderr,
               "usage: bench_models [repeats] [arch ...]\n"
               "       bench_models --arch NAME [--weights FILE] [--input X.npy ...] [--repeats R] [--warmup W]\n"
               "       bench_models --list\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string arch_name, weights;
  std::vector<std::string> inputs, only;
  int repeats = 5, warmup = 1;
  bool list = false, options = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw std::runtime_error(a + " needs a value");
      return args[++i];
    };
    try {
      if (a == "--list") list = true;
      else if (a == "--arch") arch_name = value(), options = true;
      else if (a == "--weights") weights = value(), options = true;
      else if (a == "--input") inputs.push_back(value()), options = true;
      else if (a == "--repeats") repeats = std::stoi(value());
      else if (a == "--warmup") warmup = std::stoi(value());
      else if (a == "-h" || a == "--help") return usage(), 0;
      else if (a.rfind("--", 0) == 0) return usage();
      else if (i == 0 && !a.empty() && std::isdigit((unsigned char)a[0])) repeats = std::stoi(a);  // old form
      else only.push_back(a);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_models: %s\n", e.what());
      return usage();
    }
  }
  if (repeats < 1 || warmup < 0) return usage();

  try {
    if (list) {
      for (const auto& arch : models::architectures())
        std::printf("{\"name\": \"%s\", \"input\": [%lld, %lld, %lld]}\n", arch.name.c_str(), (long long)arch.channels,
                    (long long)arch.height, (long long)arch.width);
      return 0;
    }
    manual_seed(0);
    autograd::NoGrad no_grad;
    if (options) {
      if (arch_name.empty() || !only.empty()) return usage();
      const auto& arch = models::find_architecture(arch_name);
      auto model = weights.empty() ? arch.make({}) : models::load_model(arch_name, weights);
      model->eval();
      std::vector<Tensor> xs;
      for (const auto& path : inputs) {
        Tensor x = data::read_npy(path);
        FK_CHECK(x.dim() == 4 && x.size(1) == arch.channels && (!arch.height || x.size(2) == arch.height) &&
                     (!arch.width || x.size(3) == arch.width),
                 path, ": shape ", shape_json(x.shape()), " does not fit ", arch_name);
        xs.push_back(x.to(DType::Float32));
      }
      if (xs.empty())
        xs.push_back(randn({1, arch.channels, arch.height ? arch.height : 288, arch.width ? arch.width : 384}));
      for (const auto& x : xs) time_model(arch_name, *model, x, repeats, warmup);
      return 0;
    }
    for (const auto& arch : models::architectures()) {
      if (!only.empty() && std::find(only.begin(), only.end(), arch.name) == only.end()) continue;
      auto model = arch.make({});
      model->eval();
      // PNet takes any size: time it on a 640x480 photo's first pyramid level (scale 0.6)
      int64_t h = arch.height ? arch.height : 288, w = arch.width ? arch.width : 384;
      time_model(arch.name, *model, randn({1, arch.channels, h, w}), repeats, warmup);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_models: %s\n", e.what());
    return 1;
  }
  return 0;
}
