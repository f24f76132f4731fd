// The MTCNN detector (models/mtcnn/detector.h): its helpers (pyramid, both NMS flavours) on hand-made cases,
// and the whole detector against facenet-pytorch's own MTCNN on the photos of ../shared/data/faces
// (tests/fixtures/make_mtcnn_reference.py): same number of faces, box IoU >= 0.95, landmarks within
// 2 px, probabilities within 1e-3.
#include <doctest/doctest.h>

#include <limits>

#include "models/mtcnn/detector.h"
#include "test_util.h"

using namespace fk;
using models::mtcnn::Box;

TEST_CASE("mtcnn: pyramid scales follow facenet-pytorch (m = 12/min_face, times factor while >= 12 px)") {
  auto s = models::mtcnn::pyramid_scales(100, 20, 0.709);
  // minl = 60, 42.5, 30.2, 21.4, 15.2, 10.8 -> 5 scales
  REQUIRE(s.size() == 5);
  CHECK(s[0] == doctest::Approx(0.6));
  CHECK(s[4] == doctest::Approx(0.6 * std::pow(0.709, 4)));
  CHECK(models::mtcnn::pyramid_scales(19, 20, 0.709).empty());  // 19 * 0.6 < 12
  CHECK(models::mtcnn::pyramid_scales(20, 20, 0.709).size() == 1);
}

TEST_CASE("mtcnn: torchvision NMS keeps by score, suppresses IoU > threshold (areas without +1)") {
  std::vector<Box> b = {{0, 0, 10, 10, 0.5f}, {1, 0, 11, 10, 0.9f}, {20, 20, 30, 30, 0.7f}, {0, 0, 10, 10, 0.1f}};
  // 0 vs 1: inter 90, union 110 -> IoU 0.818
  CHECK(models::mtcnn::nms_torchvision(b, 0.5) == std::vector<int64_t>{1, 2});
  CHECK(models::mtcnn::nms_torchvision(b, 0.85) == std::vector<int64_t>{1, 2, 0});  // 0 and 3 identical: IoU 1
  CHECK(models::mtcnn::nms_torchvision({}, 0.5).empty());
}

TEST_CASE("mtcnn: NMS ranks a NaN score last and breaks score ties like the reference's stable sorts") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<Box> b = {{0, 0, 10, 10, nan}, {50, 50, 60, 60, 0.5f}, {100, 100, 110, 110, 0.5f}};
  CHECK(models::mtcnn::nms_torchvision(b, 0.5) == std::vector<int64_t>{1, 2, 0});  // ties: lower index first
  CHECK(models::mtcnn::nms_numpy(b, 0.5, false) == std::vector<int64_t>{2, 1, 0});  // ties: higher index first
  // one scratch reused for lists of different lengths
  models::mtcnn::NmsScratch s;
  auto box = [&](size_t i) -> const Box& { return b[i]; };
  models::mtcnn::nms(3, box, models::mtcnn::NmsKind::NumpyMin, 0.7, s);
  CHECK(s.keep == std::vector<uint32_t>{2, 1, 0});
  models::mtcnn::nms(1, box, models::mtcnn::NmsKind::Torchvision, 0.7, s);
  CHECK(s.keep == std::vector<uint32_t>{0});
}

TEST_CASE("mtcnn: numpy NMS with +1 areas, Min overlap") {
  // a small box inside a big one: IoU small, Min overlap 1
  std::vector<Box> b = {{0, 0, 99, 99, 0.8f}, {10, 10, 19, 19, 0.9f}};
  CHECK(models::mtcnn::nms_numpy(b, 0.7, false) == std::vector<int64_t>{1, 0});
  CHECK(models::mtcnn::nms_numpy(b, 0.7, true) == std::vector<int64_t>{1});
  // touching boxes overlap by one pixel column with the +1 convention
  std::vector<Box> t = {{0, 0, 9, 9, 0.8f}, {9, 0, 18, 9, 0.9f}};
  CHECK(models::mtcnn::nms_numpy(t, 0.2, true) == std::vector<int64_t>{1, 0});  // overlap 10/100 = 0.1
  CHECK(models::mtcnn::nms_numpy(t, 0.05, true) == std::vector<int64_t>{1});
}

// ---- against facenet-pytorch on real photos

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "data/image/image.h"

namespace {

double iou(const std::array<float, 4>& a, const std::vector<double>& b) {
  double iw = std::max(0.0, std::min<double>(a[2], b[2]) - std::max<double>(a[0], b[0]));
  double ih = std::max(0.0, std::min<double>(a[3], b[3]) - std::max<double>(a[1], b[1]));
  double inter = iw * ih;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

// Part `part` of `kParts` of the photos of ../shared/data/faces (every kParts-th photo), compared with
// what facenet-pytorch's MTCNN found (tests/fixtures/make_mtcnn_reference.py). The photos are split so
// that ctest -j runs the parts side by side.
constexpr size_t kParts = 4;

void same_faces_as_facenet_pytorch(size_t part) {
  namespace fs = std::filesystem;
  const fs::path faces_dir = fs::path(FK_SHARED_DATA_DIR) / "faces", weights = fs::path(FK_SHARED_DATA_DIR) / "mtcnn";
  if (!fs::exists(faces_dir) || !fs::exists(weights / "pnet.pt")) {
    FK_SKIP("../shared/data/faces or ../shared/data/mtcnn is absent");
  }
  models::mtcnn::Detector detector(weights.string());
  std::ifstream f(test::fixture_path("mtcnn_detect/reference.json"));
  auto reference = nlohmann::json::parse(f);
#ifdef FK_SANITIZED
  const size_t step = 16;  // the sanitizer build checks every 16th photo: the same code, a fraction of the time
#else
  const size_t step = 1;
#endif
  size_t images = 0, faces = 0;
  for (size_t i = step * part; i < reference.size(); i += step * kParts) {
    const auto& ref = reference[i];
    const std::string path = (faces_dir / ref["path"].get<std::string>()).string();
    data::Image img;
    try {
      img = data::read_image(path);
    } catch (const std::exception& e) {
      // deepface/img47.jpg is a WebP file with a .jpg name: PIL reads it, facekit reads JPEG/PNG/BMP only
      CHECK_MESSAGE(std::string(e.what()).find("WebP") != std::string::npos, e.what());
      continue;
    }
    CHECK(img.width == ref["width"].get<int64_t>());
    CHECK(img.height == ref["height"].get<int64_t>());
    auto got = detector.detect(data::image_to_tensor(img));
    const auto& want = ref["faces"];
    ++images;
    REQUIRE_MESSAGE(got.size() == want.size(), path << ": " << got.size() << " faces, facenet-pytorch finds " << want.size());
    for (size_t k = 0; k < got.size(); ++k, ++faces) {
      const auto& w = want[k];
      double overlap = iou(got[k].box, w["box"].get<std::vector<double>>());
      CHECK_MESSAGE(overlap >= 0.95, path << " face " << k << ": box IoU " << overlap);
      CHECK_MESSAGE(std::abs(got[k].prob - w["score"].get<double>()) <= 1e-3,
                    path << " face " << k << ": probability " << got[k].prob << " vs " << w["score"].get<double>());
      for (size_t p = 0; p < 5; ++p)
        for (size_t c = 0; c < 2; ++c)
          CHECK_MESSAGE(std::abs(got[k].landmarks[p][c] - w["landmarks"][p][c].get<double>()) <= 2.0,
                        path << " face " << k << " landmark " << p << ": " << got[k].landmarks[p][c] << " vs "
                             << w["landmarks"][p][c].get<double>());
    }
  }
  MESSAGE("compared " << images << " photos, " << faces << " faces with facenet-pytorch");
  CHECK(images > 0);
}

}  // namespace

TEST_CASE("mtcnn: the same faces as facenet-pytorch's MTCNN on the photos of ../shared/data/faces, part 1 of 4") {
  same_faces_as_facenet_pytorch(0);
}
TEST_CASE("mtcnn: the same faces as facenet-pytorch's MTCNN on the photos of ../shared/data/faces, part 2 of 4") {
  same_faces_as_facenet_pytorch(1);
}
TEST_CASE("mtcnn: the same faces as facenet-pytorch's MTCNN on the photos of ../shared/data/faces, part 3 of 4") {
  same_faces_as_facenet_pytorch(2);
}
TEST_CASE("mtcnn: the same faces as facenet-pytorch's MTCNN on the photos of ../shared/data/faces, part 4 of 4") {
  same_faces_as_facenet_pytorch(3);
}

TEST_CASE("mtcnn: a batch of images of different sizes gives what each image gives alone") {
  namespace fs = std::filesystem;
  const fs::path faces_dir = fs::path(FK_SHARED_DATA_DIR) / "faces", weights = fs::path(FK_SHARED_DATA_DIR) / "mtcnn";
  if (!fs::exists(faces_dir / "multiface.jpg") || !fs::exists(weights / "pnet.pt")) {
    FK_SKIP("../shared/data/faces or ../shared/data/mtcnn is absent");
  }
  models::mtcnn::Detector detector(weights.string());
  std::vector<Tensor> images;
  for (const char* rel : {"multiface.jpg", "openface/examples/lennon-1.jpg", "dlib/johns/John_Simm/000306_00470223.jpg"})
    images.push_back(data::image_to_tensor(data::read_image((faces_dir / rel).string())));
  images.push_back(zeros({3, 40, 50}));  // no face at all
  auto batched = detector.detect(images);
  REQUIRE(batched.size() == images.size());
  CHECK(batched[0].size() == 6);
  CHECK(batched[3].empty());
  for (size_t i = 0; i < images.size(); ++i) {
    auto alone = detector.detect(images[i]);
    REQUIRE(alone.size() == batched[i].size());
    for (size_t k = 0; k < alone.size(); ++k) {
      // equal up to rounding: GEMM blocking depends on how many crops share a batch
      CHECK(alone[k].prob == doctest::Approx(batched[i][k].prob).epsilon(1e-5));
      for (size_t c = 0; c < 4; ++c) CHECK(std::abs(alone[k].box[c] - batched[i][k].box[c]) < 1e-2);
    }
  }
  // a wrong layout is refused with what was expected
  CHECK_THROWS_WITH_AS(detector.detect(zeros({40, 50, 3})), doctest::Contains("expected a float32 (3, H, W) RGB image"),
                       std::invalid_argument);
}
