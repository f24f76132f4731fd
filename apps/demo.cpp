// `facekit demo`: trains a small CNN from scratch on a synthetic image dataset generated in code,
// printing the loss falling epoch by epoch and the final held-out accuracy. It exercises the whole
// engine (layers, conv2d, batch norm, ReLU, max pooling, linear, cross-entropy, backward, SGD) in seconds.
//
// The data: 16x16 grey images of six shapes (horizontal bar, vertical bar, diagonal, anti-diagonal,
// square outline, cross) at random positions, sizes and contrasts, under heavy Gaussian noise: hard
// enough that the loss falls over several epochs rather than in the first few steps. The net: conv3x3(1->8)-BN-ReLU-maxpool2,
// conv3x3(8->16)-BN-ReLU-maxpool2, linear(16*4*4 -> 6).
#include <chrono>
#include <cmath>
#include <cstdio>

#include "apps/commands.h"
#include <iostream>

#include "autograd/ops.h"
#include "layers/layers.h"
#include "tensor/random.h"

namespace fk::apps {

namespace {

constexpr int64_t kSize = 16, kClasses = 6;
const char* const kClassNames[kClasses] = {"horizontal bar", "vertical bar", "diagonal", "anti-diagonal", "square",
                                           "cross"};

// One image of class `label` drawn into img (kSize*kSize floats).
void draw_shape(float* img, int64_t label, Generator& g) {
  float fg = float(0.3 + 0.5 * g.uniform());
  int64_t cx = g.randint(4, kSize - 4), cy = g.randint(4, kSize - 4), r = g.randint(2, 4);
  auto put = [&](int64_t y, int64_t x) {
    if (y >= 0 && y < kSize && x >= 0 && x < kSize) img[y * kSize + x] = fg;
  };
  for (int64_t t = -r; t <= r; ++t) {
    switch (label) {
      case 0: put(cy, cx + t), put(cy + 1, cx + t); break;  // horizontal bar, 2 px thick
      case 1: put(cy + t, cx), put(cy + t, cx + 1); break;  // vertical bar
      case 2: put(cy + t, cx + t); break;                   // diagonal
      case 3: put(cy + t, cx - t); break;                   // anti-diagonal
      case 4: put(cy - r, cx + t), put(cy + r, cx + t), put(cy + t, cx - r), put(cy + t, cx + r); break;
      default: put(cy, cx + t), put(cy + t, cx); break;  // cross
    }
  }
  for (int64_t i = 0; i < kSize * kSize; ++i) img[i] += float(0.3 * g.normal());
}

struct ShapesData {
  Tensor images;  // (N, 1, 16, 16) float32
  Tensor labels;  // (N) int64
};

ShapesData make_dataset(int64_t n, Generator& g) {
  ShapesData d{zeros({n, 1, kSize, kSize}), zeros({n}, DType::Int64)};
  for (int64_t i = 0; i < n; ++i) {
    int64_t label = i % kClasses;
    d.labels.data<int64_t>()[i] = label;
    draw_shape(d.images.data<float>() + i * kSize * kSize, label, g);
  }
  return d;
}

// The demo CNN as a Sequential of facekit layers (PyTorch's default initialisation).
std::shared_ptr<Sequential> make_cnn() {
  return std::make_shared<Sequential>(
      std::make_shared<Conv2d>(1, 8, 3, 1, 1), std::make_shared<BatchNorm2d>(8), std::make_shared<ReLU>(),
      std::make_shared<MaxPool2d>(2),  // (N, 8, 8, 8)
      std::make_shared<Conv2d>(8, 16, 3, 1, 1), std::make_shared<BatchNorm2d>(16), std::make_shared<ReLU>(),
      std::make_shared<MaxPool2d>(2),  // (N, 16, 4, 4)
      std::make_shared<Flatten>(), std::make_shared<Linear>(16 * 4 * 4, kClasses));
}

double accuracy(Module& net, const ShapesData& d) {
  autograd::NoGrad no_grad;
  net.eval();
  Tensor pred = ops::argmax(net(d.images), 1);
  net.train();
  return ops::mean(ops::eq(pred, d.labels).to(DType::Float64)).item();
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("demo", "Train a small CNN on a synthetic shapes dataset (a quick end-to-end check)");
  struct Opts {
    int epochs = 10;
    int64_t train = 4096, test = 1024, batch = 32;
    double lr = 0.02, momentum = 0.9;
    uint64_t seed = 0;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--epochs", o->epochs, "Training epochs")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--train", o->train, "Training images")->capture_default_str()->check(CLI::Range(32, 1000000));
  cmd->add_option("--test", o->test, "Held-out images")->capture_default_str()->check(CLI::Range(4, 1000000));
  cmd->add_option("--batch", o->batch, "Batch size")->capture_default_str()->check(CLI::Range(2, 4096));
  cmd->add_option("--lr", o->lr, "SGD learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o->seed, "Seed for data, initialisation and shuffling")->capture_default_str();
  on_run(cmd, [o]() {
    manual_seed(o->seed);
    Generator data_gen(o->seed + 1);
    ShapesData train = make_dataset(o->train, data_gen), test = make_dataset(o->test, data_gen);
    auto net = make_cnn();
    std::vector<Tensor> params = net->parameters();
    std::vector<Tensor> velocity;
    for (const Tensor& p : params) velocity.push_back(zeros_like(p));
    std::printf("facekit demo: %lld training / %lld held-out 16x16 images of %lld shapes (", (long long)o->train,
                (long long)o->test, (long long)kClasses);
    for (int64_t c = 0; c < kClasses; ++c) std::printf("%s%s", kClassNames[c], c + 1 < kClasses ? ", " : ")\n");
    std::printf("model (%lld parameters):\n", (long long)net->num_parameters());
    std::cout << *net << "\n";
    std::printf("chance accuracy %.1f %%, before training %.1f %%\n", 100.0 / kClasses, 100 * accuracy(*net, test));
    auto t0 = std::chrono::steady_clock::now();
    int64_t steps = o->train / o->batch;
    for (int epoch = 1; epoch <= o->epochs; ++epoch) {
      Tensor order = randint(0, 1 << 30, {o->train});  // a random permutation: argsort of random keys
      std::vector<int64_t> perm(size_t(o->train));
      for (int64_t i = 0; i < o->train; ++i) perm[size_t(i)] = i;
      const int64_t* keys = order.data<int64_t>();
      std::sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) { return keys[a] < keys[b]; });
      double loss_sum = 0;
      for (int64_t s = 0; s < steps; ++s) {
        std::vector<double> idx(perm.begin() + s * o->batch, perm.begin() + (s + 1) * o->batch);
        Tensor index = tensor(idx, DType::Int64);
        Tensor x = ops::index_select(train.images, 0, index);
        Tensor y = ops::index_select(train.labels, 0, index);
        Tensor loss = cross_entropy((*net)(x), y);
        FK_CHECK(std::isfinite(loss.item()), "demo: loss became ", loss.item(), " at epoch ", epoch, " step ", s);
        net->zero_grad();
        loss.backward();
        // SGD with momentum: v = m v + g; p -= lr v
        for (size_t i = 0; i < params.size(); ++i) {
          ops::mul_(velocity[i], o->momentum);
          ops::add_(velocity[i], params[i].grad());
          ops::add_(params[i], velocity[i], -o->lr);
        }
        loss_sum += loss.item();
      }
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("epoch %2d  loss %.4f  held-out accuracy %5.1f %%  (%.1f s)\n", epoch, loss_sum / double(steps),
                  100 * accuracy(*net, test), secs);
      std::fflush(stdout);
    }
    std::printf("final held-out accuracy: %.1f %%\n", 100 * accuracy(*net, test));
    return 0;
  });
}

}  // namespace fk::apps
