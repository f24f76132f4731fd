// `facekit identify` and `facekit lookalike` on real photos with the real MobileFaceNet (CASIA) weights
// and MTCNN (../shared/data; skipped with a message when absent). The gallery is face_recognition's
// knn_examples/train (alex_lacamoire, biden, kit_harington, obama, rose_leslie), made once by
// `facekit embed --flip concat`. Detection runs with --min-face 60 to keep the tests fast (every face
// that matters is >= 76 px wide).
// Scores measured (nearest match, min-face 60; min-face 20 gives the same to +-0.03):
//   obama_and_biden.jpg  biden 0.752, obama 0.791; a child (best: biden) 0.283, two false detections 0.05
//   kit_with_rose.jpg    rose_leslie 0.713, kit_harington 0.805
//   two_people.jpg       obama 0.771, biden 0.978
//   Jackie_Chan/jackie_chan_2008_vj.jpg   Jackie Chan 0.172 (best: obama), the man beside him 0.044
// and with min-face 20 on the other photos: known 0.54 (alex-lacamoire.png) to 0.98, Lin-Manuel
// Miranda 0.10. identify's default threshold 0.4 sits in the gap 0.28 .. 0.54.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "data/image/image.h"
#include "models/recognition/gallery.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using Run = fk::test::CliRun;
using nlohmann::json;

using fk::test::has;

const fs::path kShared = fs::path(FK_SHARED_DATA_DIR);
const fs::path kFr = kShared / "faces" / "face_recognition";
const fs::path kCkpt = kShared / "weights" / "mobilefacenet_casia" / "068.ckpt";
const std::string kWeights = " --weights " + kCkpt.string() + " --weights-key net_state_dict";
const std::string kDetector = " --mtcnn-weights " + (kShared / "mtcnn").string() + " --min-face 60";

bool have_data() {
  return fs::exists(kFr / "knn_examples" / "train" / "obama") && fs::exists(kCkpt) &&
         fs::exists(kShared / "mtcnn" / "pnet.pt");
}

using fk::test::scratch;

json read_json(const fs::path& p) {
  std::ifstream f(p);
  return json::parse(f);
}

// The knn_examples/train gallery, embedded once per test run.
const fs::path& gallery() {
  static const fs::path g = [] {
    fs::path d = scratch("identify_gallery");
    Run r = fk::test::run_cli("embed " + (kFr / "knn_examples" / "train").string() + " --arch mobilefacenet" + kWeights +
                              " --flip concat --out " + (d / "g.npz").string() + kDetector);
    REQUIRE_MESSAGE(r.code == 0, r.out);
    return d / "g.npz";
  }();
  return g;
}

// The faces of one photo of identify's JSON, left to right.
std::vector<json> faces_by_x(const json& photo) {
  std::vector<json> f(photo["faces"].begin(), photo["faces"].end());
  std::sort(f.begin(), f.end(), [](const json& a, const json& b) { return a["box"][0] < b["box"][0]; });
  return f;
}

// The face whose box contains the point (x, y); fails the test when there is none.
json face_at(const json& photo, double x, double y) {
  for (const auto& f : photo["faces"])
    if (double(f["box"][0]) <= x && x <= double(f["box"][2]) && double(f["box"][1]) <= y && y <= double(f["box"][3]))
      return f;
  FAIL("no face at (" << x << ", " << y << ") in " << photo.dump());
  return {};
}

void check_named(const json& face, const std::string& who) {
  CAPTURE(face.dump());
  CHECK(face["identity"] == who);
  CHECK(face["best"] == who);
  CHECK(double(face["score"]) >= 0.5);
  CHECK(double(face["runner_up"]["score"]) < 0.3);
  CHECK(face["runner_up"]["identity"] != who);
}

}  // namespace

TEST_CASE("identify/lookalike: --help names the options") {
  Run i = fk::test::run_cli("identify --help");
  CHECK_MESSAGE(i.code == 0, i.out);
  for (const char* opt : {"--gallery", "--weights", "--weights-key", "--threshold", "--match", "centroid", "--draw",
                          "--json", "--mtcnn-weights", "--min-face"})
    CHECK_MESSAGE(has(i.out, opt), opt);
  Run l = fk::test::run_cli("lookalike --help");
  CHECK_MESSAGE(l.code == 0, l.out);
  for (const char* opt : {"--gallery", "--weights", "--top", "--out", "--json", "--mtcnn-weights"})
    CHECK_MESSAGE(has(l.out, opt), opt);
}

TEST_CASE("identify: both people of each group photo are named and a stranger is unknown") {
  if (!have_data()) {
    FK_SKIP("../shared/data (face_recognition photos, MobileFaceNet weights, MTCNN) is absent");
  }
  fs::path d = scratch("identify");
  const fs::path jackie = kShared / "faces" / "wikimedia_commons" / "Jackie_Chan" / "jackie_chan_2008_vj.jpg";
  std::string photos = (kFr / "examples" / "two_people.jpg").string() + " " + jackie.string();
#ifndef FK_SANITIZED
  photos = (kFr / "knn_examples" / "test" / "obama_and_biden.jpg").string() + " " +
           (kFr / "knn_examples" / "test" / "kit_with_rose.jpg").string() + " " + photos;
#endif
  Run r = fk::test::run_cli("identify " + photos + " --gallery " + gallery().string() + kWeights + kDetector +
                            " --json " + (d / "out.json").string() + " --draw " + (d / "drawn").string());
  REQUIRE_MESSAGE(r.code == 0, r.out);
  json j = read_json(d / "out.json");
  CHECK(j["threshold"] == 0.4);
  CHECK(j["match"] == "nearest");
  std::map<std::string, json> by_name;
  for (const auto& p : j["photos"]) by_name[fs::path(std::string(p["path"])).filename().string()] = p;

  // two_people.jpg: Obama on the left (box x ~231), Biden on the right (x ~791).
  auto two = faces_by_x(by_name.at("two_people.jpg"));
  REQUIRE(two.size() == 2);
  check_named(two[0], "obama");
  check_named(two[1], "biden");
  CHECK(two[0]["best_image"].get<std::string>().find("/obama/") != std::string::npos);

  // Jackie Chan (right, x ~295) and the man beside him (left) are not in the gallery: unknown, with the
  // raw score of their nearest identity still reported.
  auto jc = faces_by_x(by_name.at("jackie_chan_2008_vj.jpg"));
  REQUIRE(jc.size() == 2);
  for (const auto& f : jc) {
    CAPTURE(f.dump());
    CHECK(f["identity"].is_null());
    CHECK(double(f["score"]) < 0.3);
    CHECK(double(f["score"]) > -0.3);
    CHECK(f["best"].is_string());
  }

  // The annotated image: a green box on Obama, a red one on Jackie Chan.
  auto pixel = [](const fk::data::Image& img, double x, double y) {
    const uint8_t* p = img.at(int64_t(std::lround(x)), int64_t(std::lround(y)));
    return std::array<int, 3>{p[0], p[1], p[2]};
  };
  auto drawn_two = fk::data::read_image((d / "drawn" / "two_people.png").string());
  CHECK(drawn_two.width == 1126);
  CHECK(pixel(drawn_two, (double(two[0]["box"][0]) + double(two[0]["box"][2])) / 2, double(two[0]["box"][3])) ==
        std::array<int, 3>{0, 200, 0});
  auto drawn_jc = fk::data::read_image((d / "drawn" / "jackie_chan_2008_vj.png").string());
  CHECK(pixel(drawn_jc, (double(jc[1]["box"][0]) + double(jc[1]["box"][2])) / 2, double(jc[1]["box"][3])) ==
        std::array<int, 3>{220, 0, 0});

#ifndef FK_SANITIZED
  // obama_and_biden.jpg (2000x1428): Biden's face is around (842, 516), Obama's around (1237, 475); the
  // other detections (a child at the right edge, false detections) are unknown.
  const json& ob = by_name.at("obama_and_biden.jpg");
  json biden = face_at(ob, 842, 516), obama = face_at(ob, 1237, 475);
  check_named(biden, "biden");
  check_named(obama, "obama");
  CHECK(ob["faces"].size() >= 3);
  for (const auto& f : ob["faces"])
    if (f != biden && f != obama) CHECK_MESSAGE(f["identity"].is_null(), f.dump());
  // kit_with_rose.jpg: Rose Leslie left (x ~82), Kit Harington right (x ~260).
  auto kr = faces_by_x(by_name.at("kit_with_rose.jpg"));
  REQUIRE(kr.size() == 2);
  check_named(kr[0], "rose_leslie");
  check_named(kr[1], "kit_harington");
#endif

  fs::remove_all(d);
}

TEST_CASE("identify: a query made with other weights or another flip is refused, naming the difference") {
  if (!have_data()) {
    FK_SKIP("../shared/data (face_recognition photos, MobileFaceNet weights, MTCNN) is absent");
  }
  fs::path d = scratch("identify_refused");
  const std::string photo = (kFr / "examples" / "obama_small.jpg").string();
  Run flip = fk::test::run_cli("identify " + photo + " --flip none --gallery " + gallery().string() + kWeights + kDetector);
  CHECK(flip.code == 1);
  CHECK_MESSAGE(has(flip.out, "facekit: " + gallery().string() + " was made with other settings than this query"), flip.out);
  CHECK_MESSAGE(has(flip.out, "flip: gallery 'concat', query 'none'"), flip.out);
  CHECK_MESSAGE(!has(flip.out, "weights_sha256"), flip.out);

  // A gallery recording other weights (its SHA-256 changed) refuses the real weights.
  fk::models::Gallery g = fk::models::load_gallery(gallery().string());
  g.meta.weights_sha256 = std::string(64, '0');
  fk::models::save_gallery((d / "other.npz").string(), g);
  Run w = fk::test::run_cli("identify " + photo + " --gallery " + (d / "other.npz").string() + kWeights + kDetector);
  CHECK(w.code == 1);
  CHECK_MESSAGE(has(w.out, "weights_sha256: gallery '" + std::string(64, '0') + "', query 'e839247c"), w.out);
  Run lw = fk::test::run_cli("lookalike " + photo + " --gallery " + (d / "other.npz").string() + kWeights + kDetector);
  CHECK(lw.code == 1);
  CHECK_MESSAGE(has(lw.out, "weights_sha256: gallery '"), lw.out);

  // A gallery made with another architecture: one short line naming it, not every missing key.
  g = fk::models::load_gallery(gallery().string());
  g.meta.arch = "ir_50";
  fk::models::save_gallery((d / "ir50.npz").string(), g);
  for (const char* cmd : {"identify ", "lookalike "}) {
    Run a = fk::test::run_cli(cmd + photo + " --gallery " + (d / "ir50.npz").string() + kWeights + kDetector);
    CHECK(a.code == 1);
    CHECK_MESSAGE(has(a.out, "facekit: " + (d / "ir50.npz").string() + " was made with ir_50; " + kCkpt.string() +
                                 ": weights do not fit ir_50: "),
                  a.out);
    CHECK_MESSAGE(has(a.out, " more"), a.out);   // the key lists cut short
    CHECK_MESSAGE(a.out.size() < 2000, a.out);   // was 12 KB
  }

  // A gallery holding NaN: refused naming the count and the first row's image, unless --allow-nonfinite.
  g = fk::models::load_gallery(gallery().string());
  g.embeddings = g.embeddings.clone();
  g.embeddings.data<float>()[g.embeddings.size(1) + 3] = NAN;  // row 1
  fk::models::save_gallery((d / "nan.npz").string(), g);
  Run n = fk::test::run_cli("identify " + photo + " --gallery " + (d / "nan.npz").string() + kWeights + kDetector);
  CHECK(n.code == 1);
  CHECK_MESSAGE(has(n.out, (d / "nan.npz").string() + ": 1 non-finite value (NaN or Inf) in the embeddings, the first in "
                               "the row of '" + g.paths[1] + "'; --allow-nonfinite uses the gallery anyway"),
                n.out);
  Run na = fk::test::run_cli("identify " + photo + " --allow-nonfinite --gallery " + (d / "nan.npz").string() + kWeights +
                             kDetector);
  CHECK_MESSAGE(!has(na.out, "non-finite"), na.out);
  CHECK_MESSAGE(na.code == 0, na.out);
  fs::remove_all(d);
}

TEST_CASE("identify: a corrupt photo is listed, the others are processed, exit code 1 (centroid matching)") {
  if (!have_data()) {
    FK_SKIP("../shared/data (face_recognition photos, MobileFaceNet weights, MTCNN) is absent");
  }
  fs::path d = scratch("identify_corrupt");
  { std::ofstream(d / "broken.jpg") << "\xff\xd8\xff\xe0 this is not really a JPEG"; }
  Run r = fk::test::run_cli("identify " + (d / "broken.jpg").string() + " " + (kFr / "examples" / "obama_small.jpg").string() +
                            " --match centroid --gallery " + gallery().string() + kWeights + kDetector + " --json " +
                            (d / "out.json").string());
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, "facekit: " + (d / "broken.jpg").string() + ": "), r.out);
  CHECK_MESSAGE(has(r.out, "1 of 2 photos could not be read"), r.out);
  json j = read_json(d / "out.json");
  REQUIRE(j["photos"].size() == 2);
  CHECK(j["photos"][0].contains("error"));
  REQUIRE(j["photos"][1]["faces"].size() == 1);
  // Centroid matching: the cosine to the re-normalised mean embedding of each identity.
  CHECK(j["match"] == "centroid");
  check_named(j["photos"][1]["faces"][0], "obama");
  CHECK(j["photos"][1]["faces"][0]["best_image"].is_null());  // a centroid is no gallery image
  fs::remove_all(d);
}

TEST_CASE("lookalike: a gallery person's photo finds that person first, side-by-side PNG") {
  if (!have_data()) {
    FK_SKIP("../shared/data (face_recognition photos, MobileFaceNet weights, MTCNN) is absent");
  }
  fs::path d = scratch("lookalike");
  const std::string photo = (kFr / "knn_examples" / "test" / "johnsnow_test1.jpg").string();  // Kit Harington
  Run r = fk::test::run_cli("lookalike " + photo + " --gallery " + gallery().string() + kWeights + kDetector +
                            " --top 3 --json --out " + (d / "side.png").string());
  REQUIRE_MESSAGE(r.code == 0, r.out);
  json j = json::parse(r.out);  // --json: only the JSON on stdout, nothing on stderr
  REQUIRE(j["top"].size() == 3);
  CHECK(j["top"][0]["identity"] == "kit_harington");
  CHECK(double(j["top"][0]["score"]) > 0.6);
  CHECK(double(j["top"][1]["score"]) < 0.3);
  CHECK(double(j["top"][0]["score"]) >= double(j["top"][1]["score"]));
  CHECK(double(j["top"][1]["score"]) >= double(j["top"][2]["score"]));
  CHECK(j["top"][0]["image"].get<std::string>().find("/kit_harington/") != std::string::npos);
  // The PNG: query + 3 tiles of 160 px with 12 px gaps side by side, the bar chart below.
  auto side = fk::data::read_image((d / "side.png").string());
  CHECK(side.width == 4 * 160 + 5 * 12);
  CHECK(side.height > 160 + 60);

  fs::remove_all(d);
}
