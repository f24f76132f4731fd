// `facekit detect` and `facekit align` on real photos (../shared/data/faces, MTCNN weights from
// ../shared/data/mtcnn; skipped with a message when absent): JSON layout, --draw images, per-file
// errors that leave the other files processed and exit 1 at the end, the folder layout and sizes of
// aligned crops for each template, --all, images without a face, and the missing-weights message;
// empty and unreadable folders, output folders that cannot be made, crops that cannot be written.
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "data/image/image.h"
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

TEST_CASE("detect: an empty folder is an error naming it, an unreadable sub-folder is reported like an unreadable file") {
  if (!have_data()) {
    FK_SKIP("../shared/data/faces or ../shared/data/mtcnn is absent");
  }
  fs::path d = scratch("detect_folders");
  fs::create_directories(d / "empty" / "deeper");
  { std::ofstream(d / "empty" / "notes.txt") << "not an image\n"; }
  Run e = fk::test::run_cli("detect " + (d / "empty").string() + kWeights);
  CHECK(e.code == 1);
  CHECK_MESSAGE(has(e.out, (d / "empty").string() + ": no images found (.jpg, .jpeg, .png, .bmp)"), e.out);

  // photos/a.jpg readable, photos/locked/ not listable (mode 000; root reads anything, so the command
  // runs as nobody through setpriv then)
  fs::create_directories(d / "photos" / "locked");
  fs::copy_file(kShared / "faces" / "multiface.jpg", d / "photos" / "a.jpg");
  fs::copy_file(kShared / "faces" / "multiface.jpg", d / "photos" / "locked" / "b.jpg");
  fs::permissions(d / "photos" / "locked", fs::perms::none);
  const std::string as_user = ::geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "";
  if (!as_user.empty() && std::system("setpriv --version > /dev/null 2>&1") != 0) {
    fs::permissions(d / "photos" / "locked", fs::perms::owner_all);
    fs::remove_all(d);
    FK_SKIP("running as root without setpriv: a mode-000 folder cannot be made unreadable");
  }
  fs::create_directories(d / "json");
  fs::permissions(d / "json", fs::perms::all);  // writable by the user the command runs as
  const Run r = fk::test::run_shell(as_user + fk::test::cli_path() + " detect " + (d / "photos").string() + kWeights +
                                    " --json " + (d / "json" / "out.json").string() + " 2>&1");
  const std::string& out = r.out;
  fs::permissions(d / "photos" / "locked", fs::perms::owner_all);
  CHECK_MESSAGE(r.code == 1, out);
  CHECK_MESSAGE(has(out, "facekit: " + (d / "photos" / "locked").string() + ": cannot read folder: Permission denied"), out);
  CHECK_MESSAGE(has(out, "1 of 2 files could not be read"), out);
  auto j = read_json(d / "json" / "out.json");
  REQUIRE(j.size() == 2);
  CHECK(j[0]["faces"].size() == 6);
  CHECK(j[1]["path"] == (d / "photos" / "locked").string());
  CHECK(has(j[1]["error"].get<std::string>(), "cannot read folder"));
  fs::remove_all(d);
}

TEST_CASE("align: an output folder that cannot be created stops at once, a crop that cannot be written is counted as such") {
  if (!have_data()) {
    FK_SKIP("../shared/data/faces or ../shared/data/mtcnn is absent");
  }
  fs::path d = scratch("align_unwritable");
  fs::create_directories(d / "in" / "x");
  fs::create_directories(d / "in" / "y");
  for (const char* who : {"x", "y"})
    for (const char* name : {"1.jpg", "2.jpg"}) fs::copy_file(kShared / "faces" / "multiface.jpg", d / "in" / who / name);
  // the output folder is a file: one line, before any image is read
  { std::ofstream(d / "out_file") << "in the way\n"; }
  Run f = fk::test::run_cli("align " + (d / "in").string() + " " + (d / "out_file").string() + kWeights);
  CHECK(f.code == 1);
  CHECK_MESSAGE(has(f.out, (d / "out_file").string() + ": cannot create the output folder"), f.out);
  CHECK_MESSAGE(!has(f.out, "1.jpg"), f.out);
  // an identity's output folder blocked by a file: the run stops there, not once per image
  fs::create_directories(d / "out");
  { std::ofstream(d / "out" / "y") << "in the way\n"; }
  Run b = fk::test::run_cli("align " + (d / "in").string() + " " + (d / "out").string() + kWeights);
  CHECK(b.code == 1);
  CHECK_MESSAGE(has(b.out, (d / "out" / "y").string() + ": cannot create the output folder"), b.out);
  const std::string once = (d / "out" / "y").string() + ": cannot create";
  CHECK_MESSAGE(b.out.find(once) == b.out.rfind(once), b.out);
  // a crop's path taken by a folder: that write fails and is counted as not written, the others go on
  fs::remove(d / "out" / "y");
  fs::remove(d / "out" / "x" / "1.png");  // written by the run above
  fs::create_directories(d / "out" / "x" / "1.png");
  Run w = fk::test::run_cli("align " + (d / "in").string() + " " + (d / "out").string() + kWeights);
  CHECK(w.code == 1);
  CHECK_MESSAGE(has(w.out, "aligned 3 faces from 4 images"), w.out);
  CHECK_MESSAGE(has(w.out, "0 unreadable, 1 not written"), w.out);
  CHECK(fs::exists(d / "out" / "y" / "2.png"));
  fs::remove_all(d);
}
