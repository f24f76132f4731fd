// `facekit verify` (apps/verify.cpp): options, one-line errors for bad pairs files, --no-face skip vs
// wrong on a small CSV mixing LFW images with a blank one, and the real benchmarks with MobileFaceNet
// trained on CASIA (../shared/data, skipped with a message when absent): lfw_dev's 280 pairs (10-fold
// accuracy >= 99 % with the default stratified folds and middle threshold rule; PyTorch's pipeline
// reached 99.29 % best accuracy; facenet's first-threshold rule gives 98.57 %, see the case) and
// deepface's master.csv (exact AUC >= 0.99, PyTorch 1.000), their JSON and ROC PNG. Under the sanitizers only a 20-pair sample of lfw_dev runs,
// checking facts that do not depend on the accuracy. insightface's .bin sets: `verify --bin` on a set
// that tests/fixtures/make_verification_bin.py packs from the crops `facekit align --format jpg` wrote
// for a sample of lfw_dev equals `verify --pairs --aligned` on those crops.
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "data/image/image.h"
#include "models/evaluation/verification.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using Run = fk::test::CliRun;

using fk::test::has;

const fs::path kShared = fs::path(FK_SHARED_DATA_DIR);
const fs::path kLfw = kShared / "faces" / "lfw_dev";
const std::string kModel = " --arch mobilefacenet --weights " +
                           (kShared / "weights" / "mobilefacenet_casia" / "068.ckpt").string() +
                           " --weights-key net_state_dict --flip concat --mtcnn-weights " + (kShared / "mtcnn").string();

bool have_data() {
  return fs::exists(kLfw / "dev_pairs.txt") && fs::exists(kShared / "faces" / "deepface" / "master.csv") &&
         fs::exists(kShared / "mtcnn" / "pnet.pt") && fs::exists(kShared / "weights" / "mobilefacenet_casia" / "068.ckpt");
}

using fk::test::scratch;

// lfw_dev's dev_pairs.txt line by line: line 0 is its header ("1 140"), 1..140 the same pairs, 141..280
// the different ones.
std::vector<std::string> dev_pairs_lines() {
  std::ifstream in(kLfw / "dev_pairs.txt");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  REQUIRE(lines.size() >= 281);
  return lines;
}

// The two images of a pairs.txt line ('name i j' or 'name1 i name2 j') as <name>/<name>_%04d.jpg, and
// whether the pair is a same pair.
struct LinePair {
  std::string file1, file2;
  bool same = false;
};
LinePair line_pair(const std::string& line) {
  std::istringstream f(line);
  std::vector<std::string> w{std::istream_iterator<std::string>(f), {}};
  REQUIRE_MESSAGE((w.size() == 3 || w.size() == 4), line);
  auto file = [](const std::string& name, const std::string& i) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s/%s_%04d.jpg", name.c_str(), name.c_str(), std::stoi(i));
    return std::string(buf);
  };
  const bool same = w.size() == 3;
  return {file(w[0], w[1]), same ? file(w[0], w[2]) : file(w[2], w[3]), same};
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream f(p);
  return nlohmann::json::parse(f);
}

// Runs `facekit verify` and reports its wall time.
Run verify(const std::string& args, const char* what) {
  auto t0 = std::chrono::steady_clock::now();
  Run r = fk::test::run_cli("verify " + args);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE(std::string(what), ": facekit verify took ", s, " s");
  return r;
}

// The facts every result JSON must hold whatever the accuracy: sizes, consistent counts, scores of
// used pairs in [-1, 1], a decision for every evaluated pair that agrees with its fold's threshold, and
// each fold's size, kinds and accuracy recomputed from the per-pair fold indices and decisions.
void check_json_shape(const nlohmann::json& j, size_t n_pairs, int64_t folds,
                      const std::string& mode = "stratified") {
  CHECK(j["counts"]["pairs"] == n_pairs);
  CHECK(j["folds_mode"] == mode);
  REQUIRE(j["pairs"].size() == n_pairs);
  REQUIRE(j["per_fold"].size() == size_t(folds));
  std::vector<int64_t> fold_pairs(static_cast<size_t>(folds), 0), fold_same = fold_pairs, fold_correct = fold_pairs;
  CHECK(j["roc"]["tpr"].size() == 400);
  CHECK(j["roc"]["fpr"].size() == 400);
  int64_t evaluated = j["counts"]["evaluated"], skipped = j["counts"]["skipped"], wrong = j["counts"]["forced_wrong"];
  CHECK(evaluated + skipped == int64_t(n_pairs));
  int64_t used = 0;
  for (const auto& p : j["pairs"]) {
    if (p["status"] == "skipped") {
      CHECK_FALSE(p.contains("fold"));
      continue;
    }
    if (p["status"] == "used") {
      ++used;
      double s = p["score"].get<double>();
      CHECK(s >= -1.0001);
      CHECK(s <= 1.0001);
      const auto& f = j["per_fold"][p["fold"].get<size_t>()];
      CHECK(p["predicted_same"].get<bool>() == (2.0 - 2.0 * s < f["threshold_distance"].get<double>()));
    } else {
      CHECK(p["score"].is_null());
      CHECK(p["correct"] == false);
    }
    int64_t f = p["fold"].get<int64_t>();
    REQUIRE(f >= 0);
    REQUIRE(f < folds);
    ++fold_pairs[size_t(f)];
    fold_same[size_t(f)] += p["same"].get<bool>() ? 1 : 0;
    fold_correct[size_t(f)] += p["correct"].get<bool>() ? 1 : 0;
  }
  CHECK(used + wrong == evaluated);
  // each fold's numbers, recomputed from the per-pair fold indices and decisions
  double mean = 0;
  for (int64_t f = 0; f < folds; ++f) {
    const auto& pf = j["per_fold"][size_t(f)];
    CAPTURE(f);
    CHECK(pf["pairs"] == fold_pairs[size_t(f)]);
    CHECK(pf["same"] == fold_same[size_t(f)]);
    CHECK(pf["different"] == fold_pairs[size_t(f)] - fold_same[size_t(f)]);
    CHECK(pf["accuracy"].get<double>() ==
          doctest::Approx(double(fold_correct[size_t(f)]) / double(fold_pairs[size_t(f)])).epsilon(1e-12));
    mean += pf["accuracy"].get<double>() / double(folds);
  }
  CHECK(j["accuracy"]["mean"].get<double>() == doctest::Approx(mean).epsilon(1e-12));
}

// The protocol rerun on the JSON's scores of the used pairs with another fold mode (unused in the
// sanitizer build).
[[maybe_unused]] fk::models::VerificationResult rerun(const nlohmann::json& j, const std::string& mode,
                                                     const std::string& rule) {
  std::vector<double> scores;
  std::vector<bool> same;
  for (const auto& p : j["pairs"]) {
    if (p["status"] != "used") continue;  // --no-face skip: left out
    scores.push_back(p["score"].get<double>());
    same.push_back(p["same"].get<bool>());
  }
  fk::models::VerificationOptions opts;
  opts.folds_mode = mode;
  opts.threshold_rule = rule;
  return fk::models::evaluate_verification(scores, same, opts);
}

// The mean score of the used same (or different) pairs (unused in the sanitizer build).
[[maybe_unused]] double mean_score(const nlohmann::json& j, bool same) {
  double sum = 0;
  int64_t n = 0;
  for (const auto& p : j["pairs"])
    if (p["status"] == "used" && p["same"] == same) sum += p["score"].get<double>(), ++n;
  return n ? sum / double(n) : 0.0;
}

}  // namespace

TEST_CASE("verify: --help names the options") {
  Run r = fk::test::run_cli("verify --help");
  CHECK_MESSAGE(r.code == 0, r.out);
  for (const char* opt : {"--pairs", "--bin", "--aligned", "lfw.bin", "cfp_fp.bin", "--images", "--arch", "--weights", "--weights-key", "--flip", "--crop", "--folds",
                          "--folds-mode", "stratified", "contiguous", "official LFW pairs.txt", "--no-face", "--face", "--json", "--roc", "--mtcnn-weights", "--min-face", "skip", "wrong", "center",
                          "largest"})
    CHECK_MESSAGE(has(r.out, opt), opt);
}

TEST_CASE("verify: bad pairs files give one line with the file and line") {
  fs::path d = scratch("verify_bad");
  Run missing = fk::test::run_cli("verify --pairs " + (d / "nope.txt").string() + " --arch mobilefacenet --weights w.pt");
  CHECK(missing.code == 1);
  CHECK_MESSAGE(has(missing.out, "facekit: " + (d / "nope.txt").string() + ": cannot open"), missing.out);
  std::ofstream(d / "pairs.txt") << "1 2\nBo 1 2\nBo 1 Al 2 x\n";
  Run bad = fk::test::run_cli("verify --pairs " + (d / "pairs.txt").string() + " --arch mobilefacenet --weights w.pt");
  CHECK(bad.code == 1);
  CHECK_MESSAGE(has(bad.out, "facekit: " + (d / "pairs.txt").string() + ":3: expected 'name i j'"), bad.out);
  CHECK(std::count(bad.out.begin(), bad.out.end(), '\n') == 1);
  Run usage = fk::test::run_cli("verify --pairs x.csv --arch a --weights w --no-face maybe");
  CHECK(usage.code == 2);
  Run mode = fk::test::run_cli("verify --pairs x.csv --arch a --weights w --folds-mode shuffled");
  CHECK(mode.code == 2);
  // the source: a pairs file or a .bin, exactly one; --aligned only with a pairs file
  Run neither = fk::test::run_cli("verify --arch a --weights w");
  CHECK(neither.code == 1);
  CHECK_MESSAGE(has(neither.out, "facekit: verify: give --pairs FILE or --bin FILE.bin"), neither.out);
  Run both = fk::test::run_cli("verify --pairs x.csv --bin x.bin --arch a --weights w");
  CHECK(both.code == 2);
  Run aligned = fk::test::run_cli("verify --bin x.bin --aligned --arch a --weights w");
  CHECK(aligned.code == 2);
  Run no_bin = fk::test::run_cli("verify --bin " + (d / "lfw.bin").string() + " --arch mobilefacenet --weights w.pt");
  CHECK(no_bin.code == 1);
  CHECK_MESSAGE(has(no_bin.out, "facekit: " + (d / "lfw.bin").string() + ": cannot open"), no_bin.out);
  std::ofstream(d / "text.bin") << "this is not a pickle\n";
  Run text = fk::test::run_cli("verify --bin " + (d / "text.bin").string() + " --arch mobilefacenet --weights w.pt");
  CHECK(text.code == 1);
  CHECK_MESSAGE(has(text.out, (d / "text.bin").string() + ": not an insightface verification .bin"), text.out);
  fs::remove_all(d);
}

TEST_CASE("verify: --bin on lfw_dev crops equals --pairs --aligned on the same crops") {
  if (!have_data()) {
    FK_SKIP("../shared/data (lfw_dev, deepface, mtcnn, mobilefacenet_casia) is absent");
  }
  if (!fs::exists("/usr/bin/python3")) {
    FK_SKIP("/usr/bin/python3 is absent (it runs tests/fixtures/make_verification_bin.py)");
  }
#ifdef FK_SANITIZED
  const size_t every = 14;  // 20 pairs
#else
  const size_t every = 4;  // 70 pairs: 35 same, then 35 different
#endif
  // every `every`-th pair of dev_pairs.txt, and their images copied alone, so align runs on those only
  fs::path d = scratch("verify_bin");
  const std::vector<std::string> lines = dev_pairs_lines();
  {
    std::ofstream out(d / "pairs.txt");
    out << lines[0] << "\n";
    for (size_t k = 0; k + 1 < lines.size(); ++k) {
      if (k % every != 0 || lines[k + 1].empty()) continue;
      out << lines[k + 1] << "\n";
      const LinePair p = line_pair(lines[k + 1]);
      for (const std::string& file : {p.file1, p.file2}) {
        fs::create_directories((d / "in" / file).parent_path());
        fs::copy_file(kLfw / file, d / "in" / file, fs::copy_options::skip_existing);
      }
    }
  }
  const std::string mtcnn = " --weights " + (kShared / "mtcnn").string();
  Run a = fk::test::run_cli("align " + (d / "in").string() + " " + (d / "crops").string() +
                            " --template sphereface --format jpg" + mtcnn);
  REQUIRE_MESSAGE(a.code == 0, a.out);
  Run pack = fk::test::run_shell("/usr/bin/python3 " + fk::test::fixture_path("make_verification_bin.py") +
                                 " --pairs " + (d / "pairs.txt").string() + " --crops " + (d / "crops").string() +
                                 " --out " + (d / "dev.bin").string() + " --pairs-out " +
                                 (d / "kept.txt").string() + " 2>&1");
  REQUIRE_MESSAGE(pack.code == 0, pack.out);
  MESSAGE(pack.out);

  const std::string model = " --arch mobilefacenet --weights " +
                            (kShared / "weights" / "mobilefacenet_casia" / "068.ckpt").string() +
                            " --weights-key net_state_dict";
  Run b = verify("--bin " + (d / "dev.bin").string() + model + " --json " + (d / "bin.json").string(), "--bin");
  REQUIRE_MESSAGE(b.code == 0, b.out);
  CHECK_MESSAGE(has(b.out, "aligned crops of the .bin"), b.out);
  Run p = verify("--pairs " + (d / "kept.txt").string() + " --images " + (d / "crops").string() +
                     " --aligned --flip sum --folds-mode contiguous --threshold-rule first" + model + " --json " +
                     (d / "pairs.json").string(),
                 "--pairs --aligned");
  REQUIRE_MESSAGE(p.code == 0, p.out);
  CHECK_MESSAGE(has(p.out, "aligned crops (no detection)"), p.out);
  auto jb = read_json(d / "bin.json"), jp = read_json(d / "pairs.json");
  // --bin takes insightface's protocol by default
  CHECK(jb["flip"] == "sum");
  CHECK(jb["folds_mode"] == "contiguous");
  CHECK(jb["threshold_rule"] == "first");
  CHECK(jb["detection"] == false);
  CHECK(jb["bin"] == (d / "dev.bin").string());
  CHECK(jp["detection"] == false);
  const size_t n = jp["counts"]["pairs"].get<size_t>();
  CHECK(n >= 280 / every - 2);  // MTCNN may miss a face: its pairs are left out of both
  check_json_shape(jb, n, 10, "contiguous");
  check_json_shape(jp, n, 10, "contiguous");
  CHECK(jb["counts"]["images"] == 2 * n);  // every image of every pair, repeated ones included
  // the same crops, the same embeddings: every pair's score, then the protocol's numbers
  for (size_t k = 0; k < n; ++k) {
    CHECK(jb["pairs"][k]["same"] == jp["pairs"][k]["same"]);
    CHECK_MESSAGE(std::abs(jb["pairs"][k]["score"].get<double>() - jp["pairs"][k]["score"].get<double>()) < 1e-5,
                  "pair ", k);
  }
  CHECK(jb["accuracy"]["mean"] == jp["accuracy"]["mean"]);
  CHECK(jb["accuracy"]["std"] == jp["accuracy"]["std"]);
  CHECK(jb["threshold"]["accuracy_all_pairs"] == jp["threshold"]["accuracy_all_pairs"]);
  MESSAGE("lfw_dev sample as a .bin: ", n, " pairs, 10-fold accuracy ", jb["accuracy"]["mean"].get<double>(),
          ", best accuracy ", jb["threshold"]["accuracy_all_pairs"].get<double>());
  CHECK(jb["threshold"]["accuracy_all_pairs"].get<double>() >= 0.95);  // MobileFaceNet on lfw_dev: 99.3 %
  fs::remove_all(d);
}

TEST_CASE("verify: images without a face are skipped or counted wrong") {
  if (!have_data()) {
    FK_SKIP("../shared/data (lfw_dev, mtcnn, mobilefacenet_casia) is absent");
  }
  fs::path d = scratch("verify_noface");
  fk::data::write_png((d / "blank.png").string(), fk::data::Image(120, 120));  // no face in it
  auto img = [&](const char* name, int i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "_%04d.jpg", i);
    return (kLfw / name / (std::string(name) + buf)).string();
  };
  // 4 good pairs (2 same, 2 different) and 2 with the blank image (one of each kind); CSV, absolute paths
  std::ofstream(d / "pairs.csv") << "image1,image2,label\n"
                                 << img("Adel_Al-Jubeir", 1) << "," << img("Adel_Al-Jubeir", 2) << ",yes\n"
                                 << img("Adel_Al-Jubeir", 1) << "," << (d / "blank.png").string() << ",yes\n"
                                 << img("Adel_Al-Jubeir", 1) << "," << img("Abdullatif_Sener", 1) << ",no\n"
                                 << img("Abdullatif_Sener", 1) << "," << img("Abdullatif_Sener", 2) << ",1\n"
                                 << (d / "blank.png").string() << "," << img("Abdullatif_Sener", 2) << ",0\n"
                                 << img("Adel_Al-Jubeir", 3) << "," << img("Abdullatif_Sener", 2) << ",no\n";
  std::string base = "--pairs " + (d / "pairs.csv").string() + kModel + " --folds 2";

  Run skip = verify(base + " --json " + (d / "skip.json").string(), "6 pairs, --no-face skip");
  CHECK_MESSAGE(skip.code == 0, skip.out);
  CHECK_MESSAGE(has(skip.out, "1 without a face"), skip.out);
  CHECK_MESSAGE(has(skip.out, "--no-face skip: 2 pairs with such an image left out"), skip.out);
  CHECK_MESSAGE(has(skip.out, "no face: " + (d / "blank.png").string()), skip.out);
  auto js = read_json(d / "skip.json");
  check_json_shape(js, 6, 2);
  CHECK(js["counts"]["evaluated"] == 4);
  CHECK(js["counts"]["skipped"] == 2);
  CHECK(js["images_without_face"] == nlohmann::json::array({(d / "blank.png").string()}));
  CHECK(js["pairs"][1]["status"] == "skipped");
  CHECK(js["pairs"][4]["status"] == "skipped");
  CHECK(js["counts"]["images"] == 6);  // distinct images, each embedded once

  Run wrong = verify(base + " --no-face wrong --json " + (d / "wrong.json").string(), "6 pairs, --no-face wrong");
  CHECK_MESSAGE(wrong.code == 0, wrong.out);
  CHECK_MESSAGE(has(wrong.out, "--no-face wrong: 2 pairs with such an image counted as misclassified"), wrong.out);
  auto jw = read_json(d / "wrong.json");
  check_json_shape(jw, 6, 2);
  CHECK(jw["counts"]["evaluated"] == 6);
  CHECK(jw["counts"]["forced_wrong"] == 2);
  CHECK(jw["pairs"][1]["status"] == "forced_wrong");
  // the good pairs score the same either way
  for (int k : {0, 2, 3, 5}) CHECK(jw["pairs"][k]["score"].get<double>() == js["pairs"][k]["score"].get<double>());
  // two of six pairs are wrong whatever the threshold
  CHECK(jw["threshold"]["accuracy_all_pairs"].get<double>() <= 4.0 / 6.0 + 1e-12);

  // an unreadable image is listed with its error and makes the exit code 1, results still written
  std::ofstream(d / "pairs2.csv") << img("Adel_Al-Jubeir", 1) << "," << (d / "missing.jpg").string() << ",yes\n"
                                  << img("Adel_Al-Jubeir", 1) << "," << img("Adel_Al-Jubeir", 2) << ",yes\n"
                                  << img("Adel_Al-Jubeir", 3) << "," << img("Abdullatif_Sener", 2) << ",no\n";
  // 1 same and 1 different pair are left: stratified folds cannot make 2 non-empty folds of them
  Run bad = verify("--pairs " + (d / "pairs2.csv").string() + kModel + " --folds 2 --folds-mode contiguous --json " +
                       (d / "bad.json").string(),
                   "3 pairs, one image missing");
  CHECK_MESSAGE(bad.code == 1, bad.out);
  CHECK_MESSAGE(has(bad.out, "facekit: " + (d / "missing.jpg").string()), bad.out);
  auto jb = read_json(d / "bad.json");
  REQUIRE(jb["images_unreadable"].size() == 1);
  CHECK(jb["images_unreadable"][0]["path"] == (d / "missing.jpg").string());
  CHECK(jb["counts"]["skipped"] == 1);
  CHECK(jb["folds_mode"] == "contiguous");
  CHECK(jb["per_fold"][0]["pairs"] == 1);  // contiguous blocks of the 2 evaluated pairs
  CHECK(jb["pairs"][2]["fold"] == 1);
  fs::remove_all(d);
}

TEST_CASE("verify: CFP's protocol folder gives its splits as the folds, and the scores of the same pairs as pairs.txt") {
  if (!have_data()) {
    FK_SKIP("../shared/data (lfw_dev, deepface, mtcnn, mobilefacenet_casia) is absent");
  }
  // 20 lfw_dev pairs laid out as CFP's Protocol: split k holds same pair k and different pair k
  const std::vector<std::string> lines = dev_pairs_lines();
  fs::path d = scratch("verify_cfp");
  const fs::path protocol = d / "Protocol";
  fs::create_directories(protocol);
  std::ofstream list(protocol / "Pair_list_F.txt"), pairs(d / "pairs.txt");
  pairs << "1\t20\n";
  int64_t index = 0;
  auto add = [&](const std::string& file) {
    list << ++index << " " << (kLfw / file).string() << "\n";
    return index;
  };
  for (int k = 0; k < 10; ++k) {
    char fold[8];
    std::snprintf(fold, sizeof fold, "%02d", k + 1);
    fs::create_directories(protocol / "Split" / "FF" / fold);
    for (const std::string& line : {lines[size_t(1 + 14 * k)], lines[size_t(141 + 14 * k)]}) {
      const LinePair p = line_pair(line);
      const int64_t a = add(p.file1), b = add(p.file2);
      std::ofstream(protocol / "Split" / "FF" / fold / (p.same ? "same.txt" : "diff.txt")) << a << "," << b << "\n";
      pairs << line << "\n";
    }
  }
  list.close(), pairs.close();
  Run c = verify("--pairs " + (protocol / "Split" / "FF").string() + kModel + " --json " + (d / "cfp.json").string(),
                 "CFP layout, 20 pairs");
  REQUIRE_MESSAGE(c.code == 0, c.out);
  Run p = verify("--pairs " + (d / "pairs.txt").string() + " --images " + kLfw.string() + kModel + " --json " +
                     (d / "lfw.json").string(),
                 "pairs.txt, the same 20 pairs");
  REQUIRE_MESSAGE(p.code == 0, p.out);
  auto jc = read_json(d / "cfp.json"), jp = read_json(d / "lfw.json");
  check_json_shape(jc, 20, 10);
  for (const auto& f : jc["per_fold"]) {  // the official splits: one same and one different pair each
    CHECK(f["same"] == 1);
    CHECK(f["different"] == 1);
  }
  // split by split (same, then different), as pairs.txt was written: the same images, the same scores
  for (size_t k = 0; k < 20; ++k) {
    CHECK(jc["pairs"][k]["score"] == jp["pairs"][k]["score"]);
    CHECK(jc["pairs"][k]["same"] == (k % 2 == 0));
    CHECK(jc["pairs"][k]["fold"] == k / 2);
  }
  fs::remove_all(d);
}

#ifdef FK_SANITIZED
TEST_CASE("verify: lfw_dev sample of 20 pairs (sanitizer build)") {
  if (!have_data()) {
    FK_SKIP("../shared/data (lfw_dev, deepface, mtcnn, mobilefacenet_casia) is absent");
  }
  // the first 10 same and the first 10 different pairs of dev_pairs.txt
  const std::vector<std::string> lines = dev_pairs_lines();
  fs::path d = scratch("verify_lfw_sample");
  {
    std::ofstream out(d / "pairs.txt");
    out << "1\t10\n";
    for (size_t i = 1; i <= 10; ++i) out << lines[i] << "\n";
    for (size_t i = 141; i <= 150; ++i) out << lines[i] << "\n";
  }
  Run r = verify("--pairs " + (d / "pairs.txt").string() + " --images " + kLfw.string() + kModel + " --json " +
                     (d / "out.json").string() + " --roc " + (d / "roc.png").string(),
                 "lfw_dev sample, 20 pairs");
  CHECK_MESSAGE(r.code == 0, r.out);
  auto j = read_json(d / "out.json");
  check_json_shape(j, 20, 10);
  CHECK(j["pairs"][0]["same"] == true);
  CHECK(j["pairs"][19]["same"] == false);
  CHECK(j["counts"]["same"].get<int64_t>() + j["counts"]["different"].get<int64_t>() == j["counts"]["evaluated"]);
  fk::data::Image png = fk::data::read_image((d / "roc.png").string());
  CHECK(png.width == 640);
  CHECK(png.height == 480);
  fs::remove_all(d);
}
#else
TEST_CASE("verify: lfw_dev 10-fold accuracy with MobileFaceNet") {
  if (!have_data()) {
    FK_SKIP("../shared/data (lfw_dev, deepface, mtcnn, mobilefacenet_casia) is absent");
  }
  fs::path d = scratch("verify_lfw");
  Run r = verify("--pairs " + (kLfw / "dev_pairs.txt").string() + kModel + " --json " + (d / "out.json").string() +
                     " --roc " + (d / "roc.png").string(),
                 "lfw_dev, 280 pairs");
  CHECK_MESSAGE(r.code == 0, r.out);
  MESSAGE(r.out);
  auto j = read_json(d / "out.json");
  check_json_shape(j, 280, 10);
  double acc = j["accuracy"]["mean"];
  MESSAGE("lfw_dev: 10-fold accuracy ", acc, " +- ", j["accuracy"]["std"].get<double>(), ", best accuracy ",
          j["threshold"]["accuracy_all_pairs"].get<double>(), ", AUC exact ", j["auc"]["exact"].get<double>(),
          ", TAR@FAR=1e-3 ", j["tar_at_far"]["tar_mean"].get<double>());
  // PyTorch with these weights (weights/mobilefacenet_casia/README.md): best accuracy 99.29 % at cosine
  // 0.256, AUC 0.999, mean cosine of same pairs 0.621, of different pairs 0.018; facekit: 99.29 %, 0.9991,
  // 0.6209, 0.0186
  CHECK(j["threshold"]["accuracy_all_pairs"].get<double>() >= 0.99);
  CHECK(j["auc"]["exact"].get<double>() >= 0.99);
  CHECK(mean_score(j, true) == doctest::Approx(0.621).epsilon(0.02));
  CHECK(std::abs(mean_score(j, false) - 0.018) < 0.01);
  // The 10-fold protocol. dev_pairs.txt lists its 140 same pairs, then its 140 different ones: the
  // default stratified folds take 14 of each (blocks in file order), so no fold holds one kind only and
  // the fold-averaged ROC's area is the exact AUC.
  CHECK(j["counts"]["evaluated"] == 280);
  CHECK(j["counts"]["same"] == 140);
  for (const auto& f : j["per_fold"]) CHECK(f["same"] == 14);
  CHECK_FALSE(has(r.out, "hold only one kind of pair"));
  CHECK(std::abs(j["auc"]["protocol"].get<double>() - j["auc"]["exact"].get<double>()) < 0.005);
  // The bar: 10-fold accuracy >= 99.0 % (PyTorch's pipeline: 99.29 % best accuracy). With the
  // command's default threshold rule (the middle of each fold's run of best training thresholds) it is
  // met. facenet's rule (the first best threshold) gives 98.57 % +- 4.29 %: the pairs are sorted by
  // name, George Clooney's hard same pairs 28..41 form the same-pair block of fold 2, the other nine
  // folds' FIRST best threshold is the strict cosine 0.35 and four Clooney pairs (cosine 0.14, 0.29,
  // 0.30, 0.34) fail there: 24 / 28 on that fold.
  CHECK(j["threshold_rule"] == "middle");
  CHECK(acc >= 0.990);
  fk::models::VerificationResult first = rerun(j, "stratified", "first");
  CHECK(first.accuracy_mean == doctest::Approx(276.0 / 280.0).epsilon(1e-9));
  CHECK(first.folds[2].accuracy == doctest::Approx(24.0 / 28.0).epsilon(1e-12));
  MESSAGE("lfw_dev with facenet's first-threshold rule: ", first.accuracy_mean, " +- ", first.accuracy_std);
  // facenet's contiguous folds over the file order: every test fold holds one kind, 98.21 % +- 4.30 %
  fk::models::VerificationResult contiguous = rerun(j, "contiguous", "first");
  CHECK(contiguous.folds_one_kind == 10);
  CHECK(contiguous.accuracy_mean == doctest::Approx(275.0 / 280.0).epsilon(1e-9));
  CHECK(contiguous.auc < 0.3);  // the fold-averaged ROC of one-kind folds
  CHECK(contiguous.best_accuracy == j["threshold"]["accuracy_all_pairs"].get<double>());
  MESSAGE("lfw_dev contiguous folds: 10-fold accuracy ", contiguous.accuracy_mean, " +- ", contiguous.accuracy_std,
          ", protocol AUC ", contiguous.auc);
  double cos = j["threshold"]["cosine"];
  CHECK(cos > 0.15);
  CHECK(cos < 0.4);
  fk::data::Image png = fk::data::read_image((d / "roc.png").string());
  CHECK(png.width == 640);
  CHECK(png.height == 480);
  fs::remove_all(d);
}

TEST_CASE("verify: deepface master.csv AUC with MobileFaceNet") {
  if (!have_data()) {
    FK_SKIP("../shared/data (lfw_dev, deepface, mtcnn, mobilefacenet_casia) is absent");
  }
  fs::path d = scratch("verify_deepface");
  Run r = verify("--pairs " + (kShared / "faces" / "deepface" / "master.csv").string() + kModel + " --json " +
                     (d / "out.json").string() + " --roc " + (d / "roc.png").string(),
                 "deepface, 300 pairs");
  CHECK_MESSAGE(r.code == 0, r.out);
  MESSAGE(r.out);
  auto j = read_json(d / "out.json");
  check_json_shape(j, 300, 10);
  MESSAGE("deepface: AUC exact ", j["auc"]["exact"].get<double>(), ", protocol ", j["auc"]["protocol"].get<double>(),
          ", best accuracy ", j["threshold"]["accuracy_all_pairs"].get<double>(), ", 10-fold accuracy ",
          j["accuracy"]["mean"].get<double>(), " +- ", j["accuracy"]["std"].get<double>());
  // PyTorch with these weights: AUC 1.000, 100 % at cosine 0.254, mean cosine same 0.726, different
  // -0.009; facekit: 1.0000, 100 %, 0.7267, -0.0086
  CHECK(j["auc"]["exact"].get<double>() >= 0.99);
  CHECK(j["threshold"]["accuracy_all_pairs"].get<double>() >= 0.99);
  // stratified folds: 3 or 4 of the 38 same pairs and 26 or 27 of the 262 different ones in each;
  // measured 99.67 % +- 1.00 %
  CHECK(j["accuracy"]["mean"].get<double>() >= 0.99);
  for (const auto& f : j["per_fold"]) {
    CHECK(f["same"].get<int64_t>() >= 3);
    CHECK(f["different"].get<int64_t>() >= 26);
  }
  CHECK(j["auc"]["folds_with_one_kind"] == 0);
  CHECK(mean_score(j, true) == doctest::Approx(0.726).epsilon(0.02));
  CHECK(std::abs(mean_score(j, false) - (-0.009)) < 0.01);
  CHECK(j["counts"]["same"] == 38);
  CHECK(j["counts"]["different"] == 262);
  CHECK(j["pairs"][0]["image1"] == (kShared / "faces" / "deepface" / "img20.jpg").string());
  fk::data::Image png = fk::data::read_image((d / "roc.png").string());
  CHECK(png.width == 640);
  CHECK(png.height == 480);
  fs::remove_all(d);
}
#endif
