// `facekit cluster` (dataset clean-up, models/evaluation/cluster.h) on a small real dataset made in a temp folder
// from ../shared/data/faces/face_recognition (skipped with a message when absent): an "obama" identity
// holding five photos of Obama, two of Biden (the intruders) and a blank image without a face, and a
// "rose_leslie" identity with one image. Embedded with the real MobileFaceNet (CASIA) weights, flip
// concat; the clean-up must keep the Obama photos, reject the intruders (cluster) and the blank image
// (no face), copy the single image unchanged, leave the originals alone, and do the same from a gallery.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "data/image/image.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using Run = fk::test::CliRun;
using nlohmann::json;
using Names = std::set<std::string>;

using fk::test::has;

const fs::path kShared = fs::path(FK_SHARED_DATA_DIR);
const fs::path kFr = kShared / "faces" / "face_recognition";
const fs::path kCkpt = kShared / "weights" / "mobilefacenet_casia" / "068.ckpt";
const std::string kEmbedder =
    " --arch mobilefacenet --weights " + kCkpt.string() + " --weights-key net_state_dict --flip concat";
const std::string kDetector = " --mtcnn-weights " + (kShared / "mtcnn").string() + " --min-face 60";

bool have_data() {
  return fs::exists(kFr / "knn_examples" / "train" / "obama") && fs::exists(kCkpt) &&
         fs::exists(kShared / "mtcnn" / "pnet.pt");
}

using fk::test::scratch;

Names files_in(const fs::path& dir) {
  Names out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

std::string read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("cluster command: --help names the options, and bad inputs and outputs are refused") {
  Run r = fk::test::run_cli("cluster --help");
  CHECK_MESSAGE(r.code == 0, r.out);
  for (const char* opt : {"--threshold", "--linkage", "--metric", "--clean", "--rejected", "--report", "--arch",
                          "--weights", "--flip", "--mtcnn-weights", "average", "complete", "single", "euclidean"})
    CHECK_MESSAGE(has(r.out, opt), opt);
  Run bad = fk::test::run_cli("cluster /nonexistent/folder --clean /tmp/x");
  CHECK(bad.code == 1);
  CHECK_MESSAGE(has(bad.out, "facekit: /nonexistent/folder: no such file or folder"), bad.out);
  fs::path d = scratch("cluster_inside");
  Run inside = fk::test::run_cli("cluster " + d.string() + " --clean " + (d / "clean").string());
  CHECK(inside.code == 1);
  CHECK_MESSAGE(has(inside.out, "facekit: " + (d / "clean").string() + ": the output folder is inside the input folder"),
                inside.out);
  Run no_arch = fk::test::run_cli("cluster " + d.string() + " --clean " + (d.string() + "_clean"));
  CHECK(no_arch.code == 1);
  CHECK_MESSAGE(has(no_arch.out, "give --arch and --weights"), no_arch.out);
  fs::remove_all(d);
}

TEST_CASE("cluster command: Obama's folder keeps Obama and rejects the intruders and the faceless image") {
  if (!have_data()) {
    FK_SKIP("../shared/data (face_recognition photos, MobileFaceNet weights, MTCNN) is absent");
  }
  fs::path d = scratch("cluster");
  fs::path ds = d / "dataset";
  fs::create_directories(ds / "obama");
  fs::create_directories(ds / "rose_leslie");
  // Obama: the two training photos and three more; the intruders are named to sort among them.
  Names obama = {"obama.jpg", "obama2.jpg", "obama_small.jpg", "obama1.jpg"};
  fs::copy_file(kFr / "knn_examples" / "train" / "obama" / "obama.jpg", ds / "obama" / "obama.jpg");
  fs::copy_file(kFr / "knn_examples" / "train" / "obama" / "obama2.jpg", ds / "obama" / "obama2.jpg");
  fs::copy_file(kFr / "examples" / "obama_small.jpg", ds / "obama" / "obama_small.jpg");
  fs::copy_file(kFr / "knn_examples" / "test" / "obama1.jpg", ds / "obama" / "obama1.jpg");
#ifndef FK_SANITIZED
  obama.insert("obama-240p.jpg");
  fs::copy_file(kFr / "examples" / "obama-240p.jpg", ds / "obama" / "obama-240p.jpg");
#endif
  fs::copy_file(kFr / "knn_examples" / "train" / "biden" / "biden2.jpg", ds / "obama" / "a_intruder.jpg");
  fs::copy_file(kFr / "knn_examples" / "train" / "biden" / "biden.jpg", ds / "obama" / "m_intruder.jpg");
  fk::data::Image blank(120, 90);
  std::fill(blank.pixels.begin(), blank.pixels.end(), uint8_t(128));
  fk::data::write_png((ds / "obama" / "blank.png").string(), blank);
  fs::copy_file(kFr / "knn_examples" / "train" / "rose_leslie" / "img1.jpg", ds / "rose_leslie" / "img1.jpg");

  Run r = fk::test::run_cli("cluster " + ds.string() + kEmbedder + kDetector + " --clean " + (d / "clean").string() +
                            " --rejected " + (d / "rejected").string() + " --report " + (d / "report.json").string());
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK_MESSAGE(files_in(d / "clean" / "obama") == obama, r.out);
  CHECK_MESSAGE(files_in(d / "rejected" / "obama") == (Names{"a_intruder.jpg", "m_intruder.jpg", "blank.png"}), r.out);
  CHECK(files_in(d / "clean" / "rose_leslie") == Names{"img1.jpg"});
  CHECK(files_in(d / "rejected" / "rose_leslie").empty());
  // Copies are byte-identical, and the originals are all still there.
  CHECK(read_bytes(d / "clean" / "obama" / "obama.jpg") == read_bytes(ds / "obama" / "obama.jpg"));
  CHECK(files_in(ds / "obama").size() == obama.size() + 3);
  // Summary on stdout.
  CHECK_MESSAGE(has(r.out, "kept   " + std::to_string(obama.size()) + " of   " + std::to_string(obama.size() + 3)), r.out);
  CHECK_MESSAGE(has(r.out, "(1 without a usable face)"), r.out);

  json rep = json::parse(read_bytes(d / "report.json"));
  CHECK(rep["threshold"] == 0.7);
  CHECK(rep["linkage"] == "average");
  CHECK(rep["kept"] == obama.size() + 1);
  CHECK(rep["rejected"] == 3);
  const json& o = rep["identities"]["obama"];
  CHECK(o["images"] == obama.size() + 3);
  CHECK(o["kept"].size() == obama.size());
  std::map<std::string, std::string> reasons;
  for (const auto& x : o["rejected"]) reasons[fs::path(std::string(x["path"])).filename().string()] = x["reason"];
  CHECK(reasons == std::map<std::string, std::string>{{"a_intruder.jpg", "cluster"}, {"m_intruder.jpg", "cluster"}, {"blank.png", "no face"}});
  // The two Biden photos form one cluster, Obama's another.
  auto sizes = o["cluster_sizes"].get<std::vector<int64_t>>();
  std::sort(sizes.begin(), sizes.end());
  CHECK(sizes == std::vector<int64_t>{2, int64_t(obama.size())});
  CHECK(rep["identities"]["rose_leslie"]["cluster_sizes"] == std::vector<int64_t>{1});

  // The same from a gallery of the dataset (the faceless image is not in it).
  Run e = fk::test::run_cli("embed " + ds.string() + kEmbedder + kDetector + " --out " + (d / "g.npz").string());
  REQUIRE_MESSAGE(e.code == 0, e.out);
  Run g = fk::test::run_cli("cluster " + (d / "g.npz").string() + " --clean " + (d / "clean_g").string() + " --report " +
                            (d / "report_g.json").string());
  REQUIRE_MESSAGE(g.code == 0, g.out);
  CHECK(files_in(d / "clean_g" / "obama") == obama);
  CHECK(files_in(d / "clean_g" / "rose_leslie") == Names{"img1.jpg"});
  json rep_g = json::parse(read_bytes(d / "report_g.json"));
  CHECK(rep_g["rejected"] == 2);  // no --rejected folder: the rejected images are only listed
  CHECK(rep_g["identities"]["obama"]["rejected"][0]["reason"] == "cluster");
  // A threshold of 1.5 (cosine distance; 2 is the largest possible) merges everyone: nothing rejected.
  Run all = fk::test::run_cli("cluster " + (d / "g.npz").string() + " --threshold 1.5 --clean " + (d / "clean_all").string());
  REQUIRE_MESSAGE(all.code == 0, all.out);
  CHECK(files_in(d / "clean_all" / "obama").size() == obama.size() + 2);
  fs::remove_all(d);
}
