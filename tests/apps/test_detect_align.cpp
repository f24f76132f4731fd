// `facekit detect` and `facekit align` on real photos (../shared/data/faces, MTCNN weights from
// ../shared/data/mtcnn; skipped with a message when absent): JSON layout, --draw images, per-file
// errors that leave the other files processed and exit 1 at the end, the folder layout and sizes of
// aligned crops for each template, --all, images without a face, and the missing-weights message.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "data/image.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using Run = fk::test::CliRun;

using fk::test::has;

const fs::path kShared = fs::path(FK_SHARED_DATA_DIR);
const std::string kWeights = " --weights " + (kShared / "mtcnn").string();

bool have_data() { return fs::exists(kShared / "faces" / "multiface.jpg") && fs::exists(kShared / "mtcnn" / "pnet.pt"); }

using fk::test::scratch;

nlohmann::json read_json(const fs::path& p) {
  std::ifstream f(p);
  return nlohmann::json::parse(f);
}

}  // namespace

TEST_CASE("detect/align: --help names the options") {
  Run d = fk::test::run_cli("detect --help");
  CHECK_MESSAGE(d.code == 0, d.out);
  for (const char* opt : {"--json", "--draw", "--min-face", "--thresholds", "--factor", "--weights"}) CHECK(has(d.out, opt));
  Run a = fk::test::run_cli("align --help");
  CHECK_MESSAGE(a.code == 0, a.out);
  for (const char* opt : {"--template", "--all", "arcface", "sphereface", "facenet"}) CHECK(has(a.out, opt));
}

TEST_CASE("detect: missing weights say how to fetch them") {
  fs::path d = scratch("noweights");
  Run r = fk::test::run_cli("detect x.jpg --weights " + d.string());
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, "MTCNN weights not found in " + d.string()), r.out);
  CHECK(has(r.out, "fetch-weights.sh"));
  fs::remove_all(d);
}

TEST_CASE("detect: the bytes of a hostile file never reach the terminal raw") {
  if (!have_data()) {
    FK_SKIP("../shared/data/faces or ../shared/data/mtcnn is absent");
  }
  fs::path d = scratch("detect_escape");
  // a PNG whose first chunk's type is ESC[2J and whose length runs past the end of the file
  std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + std::string("\x7f\xff\xff\xff", 4) + "\x1b[2J" + "rest";
  { std::ofstream(d / "clear.png", std::ios::binary) << png; }
  Run r = fk::test::run_cli("detect " + (d / "clear.png").string() + " --json " + (d / "out.json").string() + kWeights);
  CHECK(r.code == 1);
  CHECK_MESSAGE(r.out.find('\x1b') == std::string::npos, r.out);
  CHECK_MESSAGE(has(r.out, "chunk '\\x1b[2J'"), r.out);
  auto j = read_json(d / "out.json");
  REQUIRE(j.size() == 1);
  CHECK(j[0]["error"].get<std::string>().find('\x1b') == std::string::npos);
  fs::remove_all(d);
}

TEST_CASE("detect: JSON per image, --draw, and bad files reported while the others are processed") {
  if (!have_data()) {
    FK_SKIP("../shared/data/faces or ../shared/data/mtcnn is absent");
  }
  fs::path d = scratch("detect");
  { std::ofstream(d / "empty.jpg"); }
  { std::ofstream(d / "notes.png") << "this is not an image\n"; }
  const std::string photo = (kShared / "faces" / "multiface.jpg").string();
  Run r = fk::test::run_cli("detect " + (d / "empty.jpg").string() + " " + photo + " " + (d / "notes.png").string() +
                            " --json " + (d / "out.json").string() + " --draw " + (d / "drawn").string() + kWeights);
  CHECK(r.code == 1);  // two unreadable files
  CHECK_MESSAGE(has(r.out, "facekit: " + (d / "empty.jpg").string() + ": "), r.out);
  CHECK_MESSAGE(has(r.out, "facekit: " + (d / "notes.png").string() + ": "), r.out);
  auto j = read_json(d / "out.json");
  REQUIRE(j.size() == 3);
  CHECK(j[0].contains("error"));
  CHECK(j[2].contains("error"));
  CHECK(j[1]["path"] == photo);
  CHECK(j[1]["width"] == 1200);
  CHECK(j[1]["height"] == 630);
  REQUIRE(j[1]["faces"].size() == 6);
  for (const auto& f : j[1]["faces"]) {
    CHECK(f["box"].size() == 4);
    CHECK(f["score"].get<double>() > 0.7);
    CHECK(f["landmarks"].size() == 5);
  }
  // the drawn image: same size as the photo, changed where the first box's top edge is
  fk::data::Image drawn = fk::data::read_image((d / "drawn" / "multiface.png").string());
  fk::data::Image orig = fk::data::read_image(photo);
  REQUIRE(drawn.width == orig.width);
  REQUIRE(drawn.height == orig.height);
  int64_t x = int64_t(j[1]["faces"][0]["box"][0].get<double>() + 10), y = int64_t(j[1]["faces"][0]["box"][1].get<double>() + 0.5);
  CHECK(drawn.at(x, y)[1] == 255);  // green outline
  CHECK(drawn.at(x, y)[0] == 0);

  // stdout JSON when --json is not given; exit 0 when every file is fine
  Run ok = fk::test::run_cli("detect " + photo + kWeights + " --min-face 200 2>/dev/null");
  CHECK_MESSAGE(ok.code == 0, ok.out);
  auto k = nlohmann::json::parse(ok.out);
  CHECK(k[0]["faces"].size() < 6);  // the small faces are below 200 px
  fs::remove_all(d);
}

TEST_CASE("align: identity folders in, aligned crops out, for each template, --all, no-face images listed") {
  if (!have_data()) {
    FK_SKIP("../shared/data/faces or ../shared/data/mtcnn is absent");
  }
  fs::path d = scratch("align");
  fs::create_directories(d / "in" / "kate");
  fs::create_directories(d / "in" / "group");
  fs::copy_file(kShared / "faces" / "test_images" / "kate_siegel" / "1.jpg", d / "in" / "kate" / "1.jpg");
  fs::copy_file(kShared / "faces" / "multiface.jpg", d / "in" / "group" / "multi.jpg");
  fk::data::write_png((d / "in" / "group" / "blank.png").string(), fk::data::Image(64, 48));  // no face

  struct Case {
    std::string tmpl;
    int64_t w, h;
  };
  for (const Case& c : {Case{"arcface", 112, 112}, Case{"sphereface", 96, 112}, Case{"facenet", 160, 160}}) {
    fs::path out = d / ("out_" + c.tmpl);
    Run r = fk::test::run_cli("align " + (d / "in").string() + " " + out.string() + " --template " + c.tmpl + kWeights);
    CHECK_MESSAGE(r.code == 0, r.out);
    CHECK_MESSAGE(has(r.out, "aligned 2 faces from 3 images"), r.out);
    CHECK_MESSAGE(has(r.out, "no face: " + (d / "in" / "group" / "blank.png").string()), r.out);
    for (const char* rel : {"kate/1.png", "group/multi.png"}) {
      REQUIRE_MESSAGE(fs::exists(out / rel), rel);
      fk::data::Image crop = fk::data::read_image((out / rel).string());
      CHECK(crop.width == c.w);
      CHECK(crop.height == c.h);
    }
  }
  Run all = fk::test::run_cli("align " + (d / "in").string() + " " + (d / "all").string() + " --all" + kWeights);
  CHECK_MESSAGE(all.code == 0, all.out);
  CHECK_MESSAGE(has(all.out, "aligned 7 faces from 3 images"), all.out);
  CHECK(fs::exists(d / "all" / "group" / "multi_5.png"));
  CHECK(fs::exists(d / "all" / "kate" / "1_0.png"));
  fs::remove_all(d);
}
