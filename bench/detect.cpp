// bench_detect: MTCNN detection time (models/mtcnn.h, default parameters) on one photo, median of
// repeats after a warm-up, as one JSON line {"name", "width", "height", "faces", "ms"}.
// bench/detect.py runs facenet-pytorch's MTCNN on the same photo and prints the ratio.
//   bench_detect WEIGHTS_DIR IMAGE [repeats]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "data/image.h"
#include "models/mtcnn.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_detect WEIGHTS_DIR IMAGE [repeats]\n");
    return 2;
  }
  int repeats = argc > 3 ? std::atoi(argv[3]) : 10;
  fk::models::mtcnn::Detector detector(argv[1]);
  fk::data::Image img = fk::data::read_image(argv[2]);
  fk::Tensor x = fk::data::image_to_tensor(img);
  size_t faces = detector.detect(x).size();  // warm-up
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    detector.detect(x);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("{\"name\": \"mtcnn detect\", \"width\": %lld, \"height\": %lld, \"faces\": %zu, \"ms\": %.3f}\n",
              (long long)img.width, (long long)img.height, faces, ms[ms.size() / 2]);
}
