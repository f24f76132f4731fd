// bench_detect: MTCNN detection time (models/mtcnn/detector.h, default parameters) on photos, median of
// repeats after a warm-up, one JSON line per photo: {"name", "image", "width", "height", "faces",
// "boxes" ([x1, y1, x2, y2, prob] per face), "ms", "threads" (OpenMP's)}. bench/detect.py runs
// facenet-pytorch's MTCNN on the same photos and prints the ratio.
//   bench_detect WEIGHTS_DIR REPEATS IMAGE...
//   bench_detect WEIGHTS_DIR IMAGE [repeats]          (the older form: one photo)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "data/image/image.h"
#include "models/mtcnn/detector.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_detect WEIGHTS_DIR REPEATS IMAGE...\n       bench_detect WEIGHTS_DIR IMAGE [repeats]\n");
    return 2;
  }
  const bool old_form = std::string(argv[2]).find_first_not_of("0123456789") != std::string::npos;
  const int repeats = old_form ? (argc > 3 ? std::atoi(argv[3]) : 10) : std::atoi(argv[2]);
  std::vector<std::string> images;
  if (old_form) images.push_back(argv[2]);
  else
    for (int i = 3; i < argc; ++i) images.push_back(argv[i]);
  int threads = 1;
#ifdef _OPENMP
  threads = omp_get_max_threads();
#endif
  try {
    fk::models::mtcnn::Detector detector(argv[1]);
    for (const std::string& path : images) {
      fk::data::Image img = fk::data::read_image(path);
      fk::Tensor x = fk::data::image_to_tensor(img);
      const std::vector<fk::models::mtcnn::Face> faces = detector.detect(x);  // warm-up
      std::vector<double> ms;
      for (int i = 0; i < std::max(1, repeats); ++i) {
        auto t0 = std::chrono::steady_clock::now();
        detector.detect(x);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(ms.begin(), ms.end());
      std::string boxes = "[";
      for (size_t f = 0; f < faces.size(); ++f) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "%s[%.3f, %.3f, %.3f, %.3f, %.6f]", f ? ", " : "", faces[f].box[0],
                      faces[f].box[1], faces[f].box[2], faces[f].box[3], faces[f].prob);
        boxes += buf;
      }
      boxes += "]";
      std::printf("{\"name\": \"mtcnn detect\", \"image\": \"%s\", \"width\": %lld, \"height\": %lld, \"faces\": %zu, "
                  "\"boxes\": %s, \"ms\": %.3f, \"threads\": %d}\n",
                  path.c_str(), (long long)img.width, (long long)img.height, faces.size(), boxes.c_str(),
                  ms[ms.size() / 2], threads);
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_detect: %s\n", e.what());
    return 1;
  }
}
