// bench_train: training throughput (images/s) of zoo models, one JSON line per model. A training step
// is what `facekit train` does per batch, on random data: zero_grad, forward in train mode, insightface
// ArcFace head (s 64, m 0.5), cross-entropy, backward, SGD step (lr 0.1, momentum 0.9, egcode's
// sgd_bn groups: weight decay 5e-4 except on BatchNorm parameters). The first `warmup` steps are not
// timed; images/s = batch * steps / (time of the timed steps). bench/train.py runs the same steps in
// PyTorch and prints the table with the ratios; threads: OMP_NUM_THREADS / OPENBLAS_NUM_THREADS.
//   bench_train [steps] [warmup] [classes] [arch:batch ...]     (default: 10 2 1000 ir_50:8 mobilefacenet:32)
// Output: {"name":..., "batch":B, "input":[B,C,H,W], "classes":C, "steps":N, "images_per_s":x, "ms_per_step":t,
//          "threads": omp_get_max_threads(), "blas_threads": openblas_get_num_threads() or -1,
//          "rss_mb": the process's peak resident memory so far (MiB; one case per process to compare),
//          "optimizer_ms": the part of ms_per_step spent in zero_grad and the SGD step}
#include <dlfcn.h>
#include <omp.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "autograd/node.h"
#include "layers/heads.h"
#include "layers/optim.h"
#include "models/zoo/zoo.h"
#include "tensor/creation.h"
#include "tensor/random.h"

using namespace fk;

namespace {

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;  // Linux: KiB
}

// OpenBLAS's own thread count, looked up at run time (the library links OpenBLAS privately)
int blas_threads() {
  auto fn = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return fn ? fn() : -1;
}

struct Case {
  std::string arch;
  int64_t batch;
};

// "ir_50:8" -> {"ir_50", 8}; a bare name gets batch 8
Case parse_case(const std::string& s) {
  auto colon = s.find(':');
  if (colon == std::string::npos) return {s, 8};
  return {s.substr(0, colon), std::atoll(s.c_str() + colon + 1)};
}

void run_case(const Case& c, int steps, int warmup, int64_t classes) {
  const auto& arch = models::find_architecture(c.arch);
  FK_CHECK(arch.height > 0 && arch.width > 0, c.arch, " has no fixed input size");
  FK_CHECK(c.batch >= 2, "batch must be >= 2 (train-mode BatchNorm1d), got ", c.batch);
  auto model = arch.make({});
  const Shape input{c.batch, arch.channels, arch.height, arch.width};

  // the embedding size, from one forward without a graph
  int64_t dim;
  {
    autograd::NoGrad no_grad;
    model->eval();
    dim = model->forward(randn({2, arch.channels, arch.height, arch.width})).size(1);
  }
  auto head = std::make_shared<ArcFace>(dim, classes, ArcFaceOptions{.s = 64.0, .m = 0.5});
  auto groups = optim::sgd_bn_groups(*model, 5e-4);
  for (const auto& [name, p] : head->named_parameters()) groups[0].params.emplace_back("head." + name, p);
  optim::SGD opt(groups, optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
  model->train();

  Tensor x = randn(input);
  Tensor labels = randint(0, classes, {c.batch});
  double timed_s = 0, optimizer_s = 0;
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); };
  for (int i = 0; i < warmup + steps; ++i) {
    auto t0 = Clock::now();
    opt.zero_grad(/*set_to_none=*/true);
    auto t1 = Clock::now();
    Tensor loss = cross_entropy(head->forward(model->forward(x), labels), labels);
    loss.backward();
    auto t2 = Clock::now();
    opt.step();
    auto t3 = Clock::now();
    if (i >= warmup) {
      timed_s += seconds(t0, t3);
      optimizer_s += seconds(t0, t1) + seconds(t2, t3);
    }
  }
  std::printf("{\"name\": \"%s\", \"batch\": %lld, \"input\": [%lld, %lld, %lld, %lld], \"classes\": %lld, "
              "\"steps\": %d, \"images_per_s\": %.3f, \"ms_per_step\": %.3f, \"threads\": %d, "
              "\"blas_threads\": %d, \"rss_mb\": %.0f, \"optimizer_ms\": %.3f}\n",
              c.arch.c_str(), (long long)c.batch, (long long)input[0], (long long)input[1], (long long)input[2],
              (long long)input[3], (long long)classes, steps, double(c.batch) * steps / timed_s,
              1e3 * timed_s / steps, omp_get_max_threads(), blas_threads(), peak_rss_mb(), 1e3 * optimizer_s / steps);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int steps = argc > 1 ? std::atoi(argv[1]) : 10;
  int warmup = argc > 2 ? std::atoi(argv[2]) : 2;
  int64_t classes = argc > 3 ? std::atoll(argv[3]) : 1000;
  std::vector<Case> cases;
  for (int i = 4; i < argc; ++i) cases.push_back(parse_case(argv[i]));
  if (cases.empty()) cases = {{"ir_50", 8}, {"mobilefacenet", 32}};
  try {
    if (steps < 1 || warmup < 0 || classes < 2) throw Error("need steps >= 1, warmup >= 0, classes >= 2");
    manual_seed(0);
    for (const auto& c : cases) run_case(c, steps, warmup, classes);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_train: %s\n", e.what());
    return 1;
  }
}
