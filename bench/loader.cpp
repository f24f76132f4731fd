// bench_loader: the training data loader alone (data/loading/loader.h), images/s over whole epochs: JPEG
// decode, resize to the network's input, random horizontal flip, normalise, collate, in `workers`
// threads, with nothing else running. This is `facekit train`'s pipeline with its default
// augmentation (face crops, no --rotate / --color-jitter / --random-erasing); compare it with the
// training step rate of bench_train, and `facekit train`'s own "loader wait" share per epoch.
//   bench_loader DATA [batch] [workers] [width] [height] [epochs]    (default: 64 2 112 112 3)
// Output: {"data": DATA, "images": n per epoch, "batch": B, "workers": W, "size": [w, h],
//          "epochs": E, "images_per_s": x (all epochs), "first_epoch_images_per_s": y}
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>

#include "data/loading/dataset.h"
#include "data/loading/loader.h"
#include "data/loading/transforms.h"

using namespace fk;

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::fprintf(stderr, "usage: bench_loader DATA [batch] [workers] [width] [height] [epochs]\n"
                         "  DATA: a folder per identity, or a list file '<relative path> <label>'\n");
    return argc < 2 ? 2 : 0;
  }
  const std::string dir = argv[1];
  const int64_t batch = argc > 2 ? std::atoll(argv[2]) : 64;
  const int64_t workers = argc > 3 ? std::atoll(argv[3]) : 2;
  const int width = argc > 4 ? std::atoi(argv[4]) : 112, height = argc > 5 ? std::atoi(argv[5]) : 112;
  const int epochs = argc > 6 ? std::atoi(argv[6]) : 3;
  try {
    if (batch < 1 || workers < 0 || width < 1 || height < 1 || epochs < 1)
      throw Error("need batch >= 1, workers >= 0, width and height >= 1, epochs >= 1");
    auto dataset = data::open_dataset(dir);
    data::Pipeline p;
    p.image_ops.push_back(data::resize(width, height));
    p.image_ops.push_back(data::random_horizontal_flip(0.5));
    p.normalize.mean = {127.5, 127.5, 127.5};
    p.normalize.std = {128, 128, 128};
    p.normalize.scale_to_unit = false;
    data::LoaderOptions lo;
    lo.batch_size = batch, lo.num_workers = workers;
    data::DataLoader loader(dataset, p, lo);
    int64_t images = 0, first = 0;
    double first_s = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (int e = 0; e < epochs; ++e) {
      loader.start_epoch(e);
      data::Batch b;
      while (loader.next(b)) images += b.labels.size(0);
      loader.take_skipped();
      if (e == 0) {
        first = images;
        first_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      }
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("{\"data\": \"%s\", \"images\": %lld, \"batch\": %lld, \"workers\": %lld, \"size\": [%d, %d], "
                "\"epochs\": %d, \"images_per_s\": %.1f, \"first_epoch_images_per_s\": %.1f}\n",
                dir.c_str(), (long long)first, (long long)batch, (long long)workers, width, height, epochs,
                double(images) / s, double(first) / first_s);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_loader: %s\n", e.what());
    return 1;
  }
}
