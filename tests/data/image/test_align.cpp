// data/align: the similarity fit against skimage's SimilarityTransform.estimate (incl. a mirrored face,
// where Umeyama's sign fix matters), the affine warp against a float64 numpy reference, alignment to the
// ArcFace template, and facenet-pytorch's extract_face against its PIL path bit for bit.
// Fixtures: tests/fixtures/make_image_align.py -> tests/fixtures/image_align/.
#include <cmath>

#include "data/image/align.h"
#include "tests/data/image/image_fixtures.h"
#include "test_util.h"

using fk::data::Affine;
using fk::data::Image;
using fk::data::Point2;
using fk::test::npy_image;

namespace {

// Row i of an (n, 2) float64 fixture block starting at flat offset `at`, as points.
std::vector<Point2> points(const std::vector<double>& v, size_t at, size_t n) {
  std::vector<Point2> p;
  for (size_t i = 0; i < n; ++i) p.push_back({v[at + 2 * i], v[at + 2 * i + 1]});
  return p;
}

fk::data::Landmarks5 landmarks5(const std::vector<Point2>& p) {
  REQUIRE(p.size() == 5);
  return {p[0], p[1], p[2], p[3], p[4]};
}

// max |a - b| over the six entries
double affine_diff(const Affine& a, const double* b) {
  double worst = 0;
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 3; ++c) worst = std::max(worst, std::abs(a.m[r][c] - b[r * 3 + c]));
  return worst;
}

Affine affine_from(const double* m) {
  Affine a;
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 3; ++c) a.m[r][c] = m[r * 3 + c];
  return a;
}

}  // namespace

TEST_CASE("similarity_transform: matches skimage SimilarityTransform.estimate (Umeyama) to 1e-6") {
  auto src = fk::test::fixture("image_align/sim_src.npy").to_vector<double>();  // (5 cases, 5, 2)
  auto dst = fk::test::fixture("image_align/sim_dst.npy").to_vector<double>();
  auto params = fk::test::fixture("image_align/sim_params.npy").to_vector<double>();  // (5 cases, 2, 3)
  const char* names[] = {"face_noisy", "exact_similarity", "mirrored_face", "random_points", "small_face_sphereface"};
  for (size_t k = 0; k < 5; ++k) {
    CAPTURE(names[k]);
    Affine M = fk::data::similarity_transform(points(src, k * 10, 5), points(dst, k * 10, 5));
    CHECK(affine_diff(M, &params[k * 6]) < 1e-6);
    CHECK(M.m[0][0] == doctest::Approx(M.m[1][1]));  // a similarity: [a -b; b a]
    CHECK(M.m[0][1] == doctest::Approx(-M.m[1][0]));
  }
}

TEST_CASE("similarity_transform: a hand-worked exact similarity is recovered") {
  // dst = 2 * rot90 * src + (10, -3): rot90 (x, y) -> (-y, x), so a = 0, b = 2
  std::vector<Point2> src = {{0, 0}, {1, 0}, {0, 1}, {3, 2}}, dst;
  for (Point2 p : src) dst.push_back({-2 * p.y + 10, 2 * p.x - 3});
  Affine M = fk::data::similarity_transform(src, dst);
  const double want[6] = {0, -2, 10, 2, 0, -3};
  CHECK(affine_diff(M, want) < 1e-12);
  for (size_t i = 0; i < src.size(); ++i) {
    CHECK(M.apply(src[i]).x == doctest::Approx(dst[i].x));
    CHECK(M.apply(src[i]).y == doctest::Approx(dst[i].y));
  }
  CHECK_THROWS_WITH_AS(fk::data::similarity_transform({{1, 1}, {1, 1}}, {{0, 0}, {1, 1}}),
                       doctest::Contains("coincide"), fk::Error);
  CHECK_THROWS_WITH_AS(fk::data::similarity_transform({{1, 1}, {2, 1}}, {{3, 3}, {3, 3}}),
                       doctest::Contains("scale is 0"), fk::Error);
  CHECK_THROWS_AS(fk::data::similarity_transform({{1, 1}}, {{0, 0}}), fk::Error);
  CHECK_THROWS_AS(fk::data::similarity_transform({{NAN, 1}, {2, 1}}, {{0, 0}, {1, 1}}), fk::Error);
}

TEST_CASE("invert_affine: M * M^-1 is the identity, singular matrices are refused") {
  Affine M;
  const double m[6] = {0.9, 0.25, 1.3, -0.15, 1.1, -2.7};
  M = affine_from(m);
  Affine inv = fk::data::invert_affine(M);
  for (Point2 p : {Point2{0, 0}, Point2{5, -7}, Point2{100, 3}}) {
    Point2 q = inv.apply(M.apply(p));
    CHECK(q.x == doctest::Approx(p.x));
    CHECK(q.y == doctest::Approx(p.y));
  }
  const double singular[6] = {1, 2, 0, 2, 4, 0};
  CHECK_THROWS_WITH_AS(fk::data::invert_affine(affine_from(singular)), doctest::Contains("singular"), fk::Error);
}

TEST_CASE("warp_affine: a hand-worked half-pixel shift and the identity") {
  Image img(2, 1);
  img.pixels = {10, 100, 200, 20, 0, 201};
  Affine shift;  // source x -> x + 0.5: output x samples the source at x - 0.5
  shift.m[0][2] = 0.5;
  Image y = fk::data::warp_affine(img, shift, 2, 1);
  // out(0) = 0.5*black + 0.5*px0 (border), out(1) = (px0 + px1)/2, rounded half up
  CHECK(std::vector<int>(y.pixels.begin(), y.pixels.end()) == std::vector<int>{5, 50, 100, 15, 50, 201});
  Image src = npy_image("warp_src");
  CHECK(fk::data::warp_affine(src, Affine(), src.width, src.height) == src);
}

TEST_CASE("warp_affine: matches the float64 bilinear reference (black border)") {
  Image src = npy_image("warp_src");  // 40 x 30
  auto ms = fk::test::fixture("image_align/warp_m.npy").to_vector<double>();  // (3, 2, 3)
  const char* names[] = {"rotate_shrink", "zoom_out_of_bounds", "general_affine"};
  for (size_t k = 0; k < 3; ++k) {
    CAPTURE(names[k]);
    Image want = npy_image(std::string("warp_") + names[k]);
    Image got = fk::data::warp_affine(src, affine_from(&ms[k * 6]), 32, 24);
    // same formula in the same precision; a value exactly at .5 may round either way after a
    // different summation order, so allow 1 grey level on at most a few values
    CHECK_IMAGE(got, want, 1, names[k]);
    size_t differ = 0;
    for (size_t i = 0; i < got.pixels.size(); ++i) differ += got.pixels[i] != want.pixels[i];
    CHECK(differ <= got.pixels.size() / 100);
  }
}

TEST_CASE("align: landmarks onto the ArcFace template (skimage fit + warp), template geometry") {
  Image src = npy_image("warp_src");
  auto lm = landmarks5(points(fk::test::fixture("image_align/align_landmarks.npy").to_vector<double>(), 0, 5));
  auto params = fk::test::fixture("image_align/align_params.npy").to_vector<double>();
  // a 28x28 output scales the 112x112 template by 1/4
  Affine M = fk::data::alignment_transform(lm, fk::data::arcface_112, 28, 28);
  CHECK(affine_diff(M, params.data()) < 1e-6);
  CHECK_IMAGE(fk::data::align(src, lm, fk::data::arcface_112, 28, 28), npy_image("align_arcface_28"), 1,
              "align arcface 28x28");

  // ArcFace's template is SphereFace's shifted by 8 px to the right (pipelines.md §1a)
  for (size_t i = 0; i < 5; ++i) {
    CHECK(fk::data::arcface_112.points[i].x == doctest::Approx(fk::data::sphereface_96x112.points[i].x + 8));
    CHECK(fk::data::arcface_112.points[i].y == fk::data::sphereface_96x112.points[i].y);
  }
  // landmarks already on the template: the transform is the identity and align() with the template's
  // own size returns the top-left 96x112 of the image
  Image big = fk::data::resize_bilinear(src, 120, 130);
  Image aligned = fk::data::align(big, fk::data::sphereface_96x112.points, fk::data::sphereface_96x112);
  CHECK(aligned.width == 96);
  CHECK(aligned.height == 112);
  CHECK_IMAGE(aligned, fk::data::crop(big, 0, 0, 96, 112), 0, "identity alignment");
  // a face twice as large maps onto the same template at half scale
  fk::data::Landmarks5 doubled;
  for (size_t i = 0; i < 5; ++i)
    doubled[i] = {2 * fk::data::arcface_112.points[i].x + 3, 2 * fk::data::arcface_112.points[i].y - 1};
  Affine half = fk::data::alignment_transform(doubled, fk::data::arcface_112, 112, 112);
  const double want[6] = {0.5, 0, -1.5, 0, 0.5, 0.5};
  CHECK(affine_diff(half, want) < 1e-9);
}

TEST_CASE("extract_face: facenet-pytorch's extract_face on a PIL image, bit for bit") {
  Image src = npy_image("extract_src");  // 60 x 50
  auto boxes = fk::test::fixture("image_align/extract_boxes.npy").to_vector<float>();    // (6, 4) float32
  auto params = fk::test::fixture("image_align/extract_params.npy").to_vector<int64_t>();  // (6, 2): size, margin
  for (size_t k = 0; k < 6; ++k) {
    CAPTURE(k);
    std::array<float, 4> box = {boxes[4 * k], boxes[4 * k + 1], boxes[4 * k + 2], boxes[4 * k + 3]};
    Image got = fk::data::extract_face(src, box, params[2 * k], params[2 * k + 1]);
    CHECK_IMAGE(got, npy_image("extract_" + std::to_string(k)), 0, "extract_face case " + std::to_string(k));
  }
  CHECK_THROWS_WITH_AS(fk::data::extract_face(src, {70, 60, 80, 70}, 160, 0), doctest::Contains("leaves nothing"),
                       fk::Error);
  CHECK_THROWS_AS(fk::data::extract_face(src, {0, 0, 10, 10}, 32, 32), fk::Error);
  CHECK_THROWS_AS(fk::data::extract_face(src, {NAN, 0, 10, 10}, 32, 0), fk::Error);
}
