// models/evaluation/verification.h: the 10-fold protocol against tests/fixtures/make_verification.py (a numpy
// re-implementation of facenet's calculate_roc / calculate_val on synthetic scores with ties, folds
// holding one kind of pair, a real FAR interpolation and an unreachable FAR), in both fold modes
// (stratified, contiguous), the two modes giving identical results on a file laid out like the official
// LFW pairs.txt, the fold assignment itself, a hand-worked 4-pair example, the guards (infinite and NaN scores, too few pairs), the exact ROC, and the pairs files
// (LFW pairs.txt with the .png fallback, CSV variants, CALFW / CPLFW pairs, CFP's protocol folders,
// malformed lines named with their line number).
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "models/evaluation/verification.h"
#include "tensor/error.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using namespace fk;
using namespace fk::models;

nlohmann::json read_fixture(const std::string& name) {
  std::ifstream f(test::fixture_path("verification/" + name + ".json"));
  REQUIRE_MESSAGE(f.good(), "missing fixture verification/", name, ".json: run tests/fixtures/make_verification.py");
  return nlohmann::json::parse(f);
}

// max |a[i] - b[i]| (inf on a size mismatch)
double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

std::vector<double> field(const std::vector<FoldResult>& folds, double FoldResult::*member) {
  std::vector<double> v;
  for (const auto& f : folds) v.push_back(f.*member);
  return v;
}

using fk::test::scratch;

void touch(const fs::path& p) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << "x";
}

}  // namespace

TEST_CASE("verification: thresholds and folds are numpy's arange and sklearn's KFold") {
  auto t = accuracy_thresholds();
  REQUIRE(t.size() == 400);
  CHECK(t[0] == 0.0);
  CHECK(t[50] == 0.5);  // 50 * 0.01 rounds to exactly 0.5
  CHECK(t[399] == 399 * 0.01);
  auto v = val_thresholds();
  REQUIRE(v.size() == 4000);
  CHECK(v[3999] == 3999 * 0.001);

  auto b = kfold_blocks(37, 10);  // 37 = 7 folds of 4 then 3 folds of 3
  REQUIRE(b.size() == 10);
  CHECK(b[0].begin == 0);
  CHECK(b[0].end == 4);
  CHECK(b[6].end == 28);
  CHECK(b[7].end - b[7].begin == 3);
  CHECK(b[9].end == 37);
  auto even = kfold_blocks(280, 10);
  for (int k = 0; k < 10; ++k) CHECK(even[size_t(k)].end - even[size_t(k)].begin == 28);
  CHECK_THROWS_WITH_AS(kfold_blocks(9, 10), doctest::Contains("9 pairs cannot be split into 10 folds"), Error);
}

TEST_CASE("verification: stratified folds are KFold blocks of each kind") {
  // 7 same then 5 different pairs, 3 folds: same blocks {0,1,2} {3,4} {5,6}; different {7,8} {9,10} {11}
  std::vector<bool> same = {true, true, true, true, true, true, true, false, false, false, false, false};
  CHECK(assign_folds(same, 3, "stratified") == std::vector<int64_t>{0, 0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2});
  // contiguous: 12 pairs in blocks of 4
  CHECK(assign_folds(same, 3, "contiguous") == std::vector<int64_t>{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2});
  // interleaved kinds: the i-th pair of a kind goes where KFold puts i among that kind
  std::vector<bool> mixed = {false, true, false, true, true, false};
  CHECK(assign_folds(mixed, 2, "stratified") == std::vector<int64_t>{0, 0, 0, 0, 1, 1});
  // the official layout (sets of k same then k different): both modes give the sets
  std::vector<bool> official;
  for (int set = 0; set < 10; ++set)
    for (int i = 0; i < 6; ++i) official.push_back(i < 3);
  CHECK(assign_folds(official, 10, "stratified") == assign_folds(official, 10, "contiguous"));
  CHECK(assign_folds(official, 10, "stratified")[59] == 9);
  // a kind with fewer pairs than folds leaves some folds without it, but no fold may be empty
  std::vector<bool> few = {true, true, false, false, false, false, false, false, false, false, false, false};
  auto f = assign_folds(few, 10, "stratified");
  CHECK(f == std::vector<int64_t>{0, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK_THROWS_WITH_AS(assign_folds(std::vector<bool>(18, true), 20, "stratified"),
                       doctest::Contains("18 pairs cannot be split into 20 folds"), Error);
  std::vector<bool> nine_each(18);
  for (size_t k = 0; k < 18; ++k) nine_each[k] = k < 9;
  CHECK_THROWS_WITH_AS(assign_folds(nine_each, 10, "stratified"),
                       doctest::Contains("got 9 same and 9 different: fold 9 would be empty"), Error);
  CHECK_NOTHROW(assign_folds(nine_each, 10, "contiguous"));
  CHECK_THROWS_WITH_AS(assign_folds(same, 3, "shuffled"),
                       doctest::Contains("folds mode 'shuffled' is neither 'stratified' nor 'contiguous'"), Error);
  VerificationOptions bad;
  bad.folds_mode = "random";
  CHECK_THROWS_WITH_AS(evaluate_verification(std::vector<double>(20, 0.5), std::vector<bool>(20, true), bad),
                       doctest::Contains("folds mode 'random'"), Error);
}

TEST_CASE("verification: a hand-worked 2-fold example") {
  // pairs: same cos 0.75 (d 0.5), different cos 0 (d 2), same cos 0.5 (d 1), different cos -0.25 (d 2.5)
  std::vector<double> scores = {0.75, 0.0, 0.5, -0.25};
  std::vector<bool> same = {true, false, true, false};
  VerificationOptions opts;
  opts.folds = 2;
  opts.folds_mode = "contiguous";  // folds {0, 1} and {2, 3}; stratified gives the same ones here
  VerificationResult r = evaluate_verification(scores, same, opts);
  REQUIRE(r.folds.size() == 2);
  CHECK(r.folds[0].test == std::vector<int64_t>{0, 1});
  CHECK(r.folds[1].test == std::vector<int64_t>{2, 3});
  CHECK(r.fold_of == std::vector<int64_t>{0, 0, 1, 1});
  opts.folds_mode = "stratified";
  VerificationResult rs = evaluate_verification(scores, same, opts);
  CHECK(rs.fold_of == r.fold_of);
  CHECK(rs.accuracy_mean == r.accuracy_mean);
  CHECK(rs.folds_mode == "stratified");
  // fold 0 trains on {same d1, diff d2.5}: the first perfect threshold is the first one above 1
  CHECK(r.folds[0].threshold == 101 * 0.01);
  CHECK(r.folds[0].threshold_cosine == doctest::Approx(0.495).epsilon(1e-12));
  CHECK(r.folds[0].accuracy == 1.0);  // d 0.5 accepted, d 2 rejected
  // fold 1 trains on {same d0.5, diff d2}: the first perfect threshold is 0.51, which rejects d 1
  CHECK(r.folds[1].threshold == 51 * 0.01);
  CHECK(r.folds[1].accuracy == 0.5);
  CHECK(r.accuracy_mean == 0.75);
  CHECK(r.accuracy_std == 0.25);
  CHECK(r.best_threshold == 101 * 0.01);
  CHECK(r.best_accuracy == 1.0);
  CHECK(r.auc_exact == 1.0);
  CHECK(r.same == 2);
  CHECK(r.different == 2);
  CHECK(r.folds_one_kind == 0);
}

namespace {

const char* const kFixtures[] = {"lfw_like_280",       "ties_37",           "shuffled_2400",
                                 "unreachable_far_20", "official_like_600", "deepface_like_300"};

VerificationResult evaluate_fixture(const nlohmann::json& j, const std::string& mode) {
  VerificationOptions opts;
  opts.folds = j["folds"].get<int64_t>();
  opts.far_target = j["far_target"].get<double>();
  opts.folds_mode = mode;
  return evaluate_verification(j["scores"].get<std::vector<double>>(), j["issame"].get<std::vector<bool>>(), opts);
}

}  // namespace

TEST_CASE("verification: matches the numpy reference of the protocol in both fold modes") {
  for (const char* name : kFixtures) {
    for (const char* mode : {"stratified", "contiguous"}) {
      CAPTURE(name);
      CAPTURE(mode);
      nlohmann::json all = read_fixture(name);
      const nlohmann::json& j = all[mode];
      VerificationResult r = evaluate_fixture(all, mode);
      REQUIRE(r.folds.size() == size_t(all["folds"].get<int64_t>()));
      CHECK(r.folds_mode == mode);
      CHECK(r.fold_of == j["fold_of"].get<std::vector<int64_t>>());

      // thresholds are compared exactly: they are the same doubles when the same threshold wins
      CHECK(field(r.folds, &FoldResult::threshold) == j["fold_threshold"].get<std::vector<double>>());
      CHECK(max_diff(field(r.folds, &FoldResult::accuracy), j["fold_accuracy"].get<std::vector<double>>()) <= 1e-12);
      CHECK(r.accuracy_mean == doctest::Approx(j["accuracy_mean"].get<double>()).epsilon(1e-12));
      CHECK(std::abs(r.accuracy_std - j["accuracy_std"].get<double>()) <= 1e-12);
      CHECK(max_diff(r.tpr, j["tpr"].get<std::vector<double>>()) <= 1e-12);
      CHECK(max_diff(r.fpr, j["fpr"].get<std::vector<double>>()) <= 1e-12);
      CHECK(std::abs(r.auc - j["auc"].get<double>()) <= 1e-12);
      CHECK(std::abs(r.auc_exact - j["auc_exact"].get<double>()) <= 1e-12);

      CHECK(max_diff(field(r.folds, &FoldResult::val_threshold), j["fold_val_threshold"].get<std::vector<double>>()) <=
            1e-12);
      CHECK(max_diff(field(r.folds, &FoldResult::val), j["fold_val"].get<std::vector<double>>()) <= 1e-12);
      CHECK(max_diff(field(r.folds, &FoldResult::far), j["fold_far"].get<std::vector<double>>()) <= 1e-12);
      std::vector<bool> reachable;
      for (const auto& f : r.folds) reachable.push_back(f.far_reachable);
      CHECK(reachable == j["fold_far_reachable"].get<std::vector<bool>>());
      CHECK(std::abs(r.val_mean - j["val_mean"].get<double>()) <= 1e-12);
      CHECK(std::abs(r.val_std - j["val_std"].get<double>()) <= 1e-12);
      CHECK(std::abs(r.far_mean - j["far_mean"].get<double>()) <= 1e-12);
      CHECK(r.best_threshold == j["best_threshold"].get<double>());
      CHECK(std::abs(r.best_accuracy - j["best_accuracy"].get<double>()) <= 1e-12);
    }
  }
}

namespace {

// Every number of two results, compared exactly.
void check_identical(const VerificationResult& a, const VerificationResult& b) {
  CHECK(a.fold_of == b.fold_of);
  REQUIRE(a.folds.size() == b.folds.size());
  for (size_t k = 0; k < a.folds.size(); ++k) {
    CAPTURE(k);
    CHECK(a.folds[k].test == b.folds[k].test);
    CHECK(a.folds[k].threshold == b.folds[k].threshold);
    CHECK(a.folds[k].accuracy == b.folds[k].accuracy);
    CHECK(a.folds[k].val_threshold == b.folds[k].val_threshold);
    CHECK(a.folds[k].val == b.folds[k].val);
    CHECK(a.folds[k].far == b.folds[k].far);
  }
  CHECK(a.accuracy_mean == b.accuracy_mean);
  CHECK(a.accuracy_std == b.accuracy_std);
  CHECK(a.tpr == b.tpr);
  CHECK(a.fpr == b.fpr);
  CHECK(a.auc == b.auc);
  CHECK(a.val_mean == b.val_mean);
  CHECK(a.far_mean == b.far_mean);
}

}  // namespace

TEST_CASE("verification: on the official pairs.txt layout stratified and contiguous folds are the same") {
  // official_like_600: 10 sets of 30 same then 30 different pairs, as LFW's pairs.txt (10 x 300 + 300)
  nlohmann::json j = read_fixture("official_like_600");
  VerificationResult strat = evaluate_fixture(j, "stratified"), cont = evaluate_fixture(j, "contiguous");
  check_identical(strat, cont);
  for (int64_t k = 0; k < 10; ++k) {  // fold k is set k: pairs 60k .. 60k + 59
    CHECK(strat.folds[size_t(k)].test.front() == 60 * k);
    CHECK(strat.folds[size_t(k)].test.back() == 60 * k + 59);
    CHECK(strat.folds[size_t(k)].same == 30);
  }
  // the same layout at LFW's real size with uneven sets of 7 same then 7 different pairs, scores made up
  std::vector<double> scores;
  std::vector<bool> same;
  for (int set = 0; set < 10; ++set)
    for (int i = 0; i < 14; ++i) {
      same.push_back(i < 7);
      scores.push_back(i < 7 ? 0.2 + 0.07 * ((set * 5 + i) % 11) : -0.1 + 0.05 * ((set * 3 + i) % 9));
    }
  VerificationOptions s, c;
  c.folds_mode = "contiguous";
  check_identical(evaluate_verification(scores, same, s), evaluate_verification(scores, same, c));
}

TEST_CASE("verification: stratified folds balance a file sorted by kind") {
  // lfw_like_280 (140 same then 140 different) and deepface_like_300 (38 then 262): contiguous test folds
  // hold one kind, stratified ones both, and the fold-averaged ROC's area comes back to the exact AUC
  for (const char* name : {"lfw_like_280", "deepface_like_300"}) {
    CAPTURE(name);
    nlohmann::json j = read_fixture(name);
    VerificationResult strat = evaluate_fixture(j, "stratified"), cont = evaluate_fixture(j, "contiguous");
    CHECK(cont.folds_one_kind >= 9);
    CHECK(strat.folds_one_kind == 0);
    CHECK(cont.auc < 0.3);
    CHECK(std::abs(strat.auc - strat.auc_exact) < 0.01);
    CHECK(strat.best_threshold == cont.best_threshold);  // all pairs at once: folds play no part
  }
  VerificationResult d = evaluate_fixture(read_fixture("deepface_like_300"), "stratified");
  for (size_t k = 0; k < 10; ++k) {
    CHECK(d.folds[k].same == (k < 8 ? 4 : 3));          // 38 = 8 blocks of 4 + 2 of 3
    CHECK(d.folds[k].different == (k < 2 ? 27 : 26));  // 262 = 2 blocks of 27 + 8 of 26
  }
}

TEST_CASE("verification: the fixtures cover the edge cases they claim") {
  // lfw_like_280 lists its 140 same pairs first: every test block holds one kind only, which drags the
  // fold-averaged ROC's area far below the exact AUC
  VerificationResult lfw = evaluate_fixture(read_fixture("lfw_like_280"), "contiguous");
  CHECK(lfw.folds_one_kind == 10);
  CHECK(lfw.auc < 0.3);
  CHECK(lfw.auc_exact > 0.99);

  nlohmann::json t = read_fixture("ties_37");
  VerificationResult ties = evaluate_fixture(t, "contiguous");  // in stratified folds both kinds everywhere
  CHECK(ties.folds[2].same == 0);  // VAL guarded to 0 there
  CHECK(ties.folds[2].val == 0.0);
  CHECK(ties.folds[9].different == 0);
  CHECK(ties.folds[9].far == 0.0);

  nlohmann::json s = read_fixture("shuffled_2400");
  VerificationResult big = evaluate_verification(s["scores"].get<std::vector<double>>(), s["issame"].get<std::vector<bool>>());
  for (const auto& f : big.folds) {
    // a true interpolation: strictly between two thresholds of the 0.001 grid
    double steps = f.val_threshold / 0.001;
    CHECK(std::abs(steps - std::round(steps)) > 1e-9);
  }

  nlohmann::json u = read_fixture("unreachable_far_20");
  VerificationResult unr = evaluate_verification(u["scores"].get<std::vector<double>>(), u["issame"].get<std::vector<bool>>());
  CHECK(unr.far_reachable_folds == 0);
  CHECK(unr.val_mean == 0.0);
  CHECK(unr.auc_exact == 1.0);
}

TEST_CASE("verification: pairs forced wrong, NaN scores and size mismatches") {
  // 20 perfectly separated pairs: same cos 0.8, different cos 0.1
  std::vector<double> scores(20);
  std::vector<bool> same(20);
  for (size_t k = 0; k < 20; ++k) {
    same[k] = k % 2 == 0;
    scores[k] = same[k] ? 0.8 : 0.1;
  }
  CHECK(evaluate_verification(scores, same).best_accuracy == 1.0);
  // one same pair and one different pair always misclassified
  scores[4] = always_wrong_score(true);
  scores[7] = always_wrong_score(false);
  VerificationResult r = evaluate_verification(scores, same);
  CHECK(r.best_accuracy == doctest::Approx(18.0 / 20.0).epsilon(1e-15));
  CHECK(r.folds[2].accuracy == 0.5);  // pairs 4 (forced wrong) and 5
  CHECK(r.folds[3].accuracy == 0.5);  // pairs 6 and 7 (forced wrong)
  CHECK(r.auc_exact == doctest::Approx(1.0 - (10.0 + 10.0 - 1.0) / 100.0).epsilon(1e-15));
  // the +inf different pair is accepted even at threshold 0: FAR already exceeds 1e-3 there, so the VAL
  // threshold is 0 (scipy would have raised) and nothing is NaN
  for (const auto& f : r.folds) {
    CHECK(std::isfinite(f.val_threshold));
    CHECK(std::isfinite(f.val));
  }

  scores[3] = std::nan("");
  CHECK_THROWS_WITH_AS(evaluate_verification(scores, same), doctest::Contains("score of pair 3 is NaN"), Error);
  CHECK_THROWS_WITH_AS(evaluate_verification({0.1, 0.2}, {true}), doctest::Contains("2 scores but 1"), Error);
  CHECK_THROWS_WITH_AS(evaluate_verification({0.1, 0.2, 0.3}, {true, false, true}),
                       doctest::Contains("3 pairs cannot be split into 10 folds"), Error);
}

TEST_CASE("verification: exact ROC of raw scores") {
  // scores 0.9 S, 0.5 D, 0.5 S, 0.1 D: the tie at 0.5 is one step
  RocCurve roc = exact_roc({0.9, 0.5, 0.5, 0.1}, {true, false, true, false});
  CHECK(roc.fpr == std::vector<double>{0.0, 0.0, 0.5, 1.0});
  CHECK(roc.tpr == std::vector<double>{0.0, 0.5, 1.0, 1.0});
  RocCurve one_kind = exact_roc({0.3, 0.2}, {true, true});
  CHECK(one_kind.fpr.back() == 1.0);
  CHECK(one_kind.tpr.back() == 1.0);
}

TEST_CASE("verification: LFW pairs.txt with header, tabs and the png fallback") {
  fs::path d = scratch("lfw_pairs");
  touch(d / "Ann_Lee" / "Ann_Lee_0001.jpg");
  touch(d / "Ann_Lee" / "Ann_Lee_0002.png");  // png only
  touch(d / "Bo" / "Bo_0013.jpg");
  auto pairs = parse_lfw_pairs("1\t2\nAnn_Lee\t1\t2\n\nAnn_Lee 1   Bo 13\nBo 13 Zed 1\n", d.string(), "pairs.txt");
  REQUIRE(pairs.size() == 3);
  CHECK(pairs[0].same);
  CHECK(pairs[0].image1 == (d / "Ann_Lee" / "Ann_Lee_0001.jpg").string());
  CHECK(pairs[0].image2 == (d / "Ann_Lee" / "Ann_Lee_0002.png").string());
  CHECK(pairs[0].line == 2);
  CHECK_FALSE(pairs[1].same);
  CHECK(pairs[1].image2 == (d / "Bo" / "Bo_0013.jpg").string());
  CHECK(pairs[1].line == 4);
  CHECK(pairs[2].image2 == (d / "Zed" / "Zed_0001.jpg").string());  // missing: the .jpg path is kept

  // no header: the first line is a pair
  CHECK(parse_lfw_pairs("Bo 1 2\n", d.string(), "p.txt").size() == 1);

  CHECK_THROWS_WITH_AS(parse_lfw_pairs("1 2\nBo 1 2\nBo 1\n", d.string(), "pairs.txt"),
                       doctest::Contains("pairs.txt:3: expected 'name i j' (same person) or 'name1 i name2 j'"), Error);
  CHECK_THROWS_WITH_AS(parse_lfw_pairs("Bo 1 2 Ann 3 4\n", d.string(), "pairs.txt"),
                       doctest::Contains("pairs.txt:1: expected"), Error);
  CHECK_THROWS_WITH_AS(parse_lfw_pairs("10 300\nBo x 2\n", d.string(), "pairs.txt"),
                       doctest::Contains("pairs.txt:2: image numbers must be positive integers, got 'x' and '2'"), Error);
  CHECK_THROWS_WITH_AS(parse_lfw_pairs("Bo 1 Ann 0\n", d.string(), "pairs.txt"),
                       doctest::Contains("pairs.txt:1: image numbers"), Error);
  fs::remove_all(d);
}

TEST_CASE("verification: CALFW / CPLFW pairs, two lines per pair, and read_pairs telling them from LFW's") {
  auto pairs = parse_calfw_pairs("Abel_Pacheco_0001.jpg 1115\nAbel_Pacheco_0004.jpg 1115\n\n"
                                 "Ann_0001.jpg 0\nBo_0002.jpg 0\n/abs/x.jpg 7\ny.jpg 7\n",
                                 "/data/calfw", "pairs_CALFW.txt");
  REQUIRE(pairs.size() == 3);
  CHECK(pairs[0].same);
  CHECK(pairs[0].image1 == "/data/calfw/Abel_Pacheco_0001.jpg");
  CHECK(pairs[0].image2 == "/data/calfw/Abel_Pacheco_0004.jpg");
  CHECK(pairs[0].line == 1);
  CHECK_FALSE(pairs[1].same);  // label 0: a different pair
  CHECK(pairs[1].line == 4);
  CHECK(pairs[2].image1 == "/abs/x.jpg");
  CHECK(pairs[2].same);
  CHECK_THROWS_WITH_AS(parse_calfw_pairs("a.jpg 1\nb.jpg 1\nc.jpg 0\n", "d", "pairs_CPLFW.txt"),
                       doctest::Contains("pairs_CPLFW.txt: 3 image lines, an odd count"), Error);
  CHECK_THROWS_WITH_AS(parse_calfw_pairs("a.jpg 1\nb.jpg x\n", "d", "pairs_CPLFW.txt"),
                       doctest::Contains("pairs_CPLFW.txt:2: expected '<image path> <label>'"), Error);
  // read_pairs: a first line '<path> <label>' is CALFW's; LFW's header of two counts is not
  fs::path d = scratch("calfw_pairs");
  std::ofstream(d / "pairs_CALFW.txt") << "a_0001.jpg 3\na_0002.jpg 3\n";
  auto read = read_pairs((d / "pairs_CALFW.txt").string(), "/images");
  REQUIRE(read.size() == 1);
  CHECK(read[0].image2 == "/images/a_0002.jpg");
  std::ofstream(d / "pairs.txt") << "1 1\nBo 1 2\n";
  CHECK(read_pairs((d / "pairs.txt").string(), "/images")[0].image1 == "/images/Bo/Bo_0001.jpg");
  fs::remove_all(d);
}

TEST_CASE("verification: CFP's protocol folders, split by split, same pairs then different") {
  fs::path d = scratch("cfp");
  const fs::path protocol = d / "cfp-dataset" / "Protocol";
  fs::create_directories(protocol);
  std::ofstream(protocol / "Pair_list_F.txt") << "1 ../Data/Images/001/frontal/01.jpg\n2 ../Data/Images/001/frontal/02.jpg\n"
                                                 "3 ../Data/Images/002/frontal/01.jpg\n";
  std::ofstream(protocol / "Pair_list_P.txt") << "1 ../Data/Images/001/profile/01.jpg\n2 ../Data/Images/002/profile/01.jpg\n";
  for (const char* fold : {"02", "01"}) {  // listed out of order: read in name order
    fs::create_directories(protocol / "Split" / "FP" / fold);
    fs::create_directories(protocol / "Split" / "FF" / fold);
    std::ofstream(protocol / "Split" / "FP" / fold / "same.txt") << (fold[1] == '1' ? "1,1\n2,1\n" : "3,2\n");
    std::ofstream(protocol / "Split" / "FP" / fold / "diff.txt") << (fold[1] == '1' ? "1,2\n" : "3,1\n");
    std::ofstream(protocol / "Split" / "FF" / fold / "same.txt") << "1,2\n";
    std::ofstream(protocol / "Split" / "FF" / fold / "diff.txt") << "2,3\n";
  }
  const std::string data = (protocol / ".." / "Data" / "Images").string();
  auto fp = read_pairs((protocol / "Split" / "FP").string());
  REQUIRE(fp.size() == 5);
  CHECK(fp[0].same);
  CHECK(fp[0].image1 == (protocol / "../Data/Images/001/frontal/01.jpg").string());
  CHECK(fp[0].image2 == (protocol / "../Data/Images/001/profile/01.jpg").string());
  CHECK(fp[1].same);
  CHECK(fp[1].image1 == (protocol / "../Data/Images/001/frontal/02.jpg").string());
  CHECK_FALSE(fp[2].same);  // split 01's diff.txt
  CHECK(fp[2].image2 == (protocol / "../Data/Images/002/profile/01.jpg").string());
  CHECK(fp[3].same);        // then split 02
  CHECK(fp[3].image1 == (protocol / "../Data/Images/002/frontal/01.jpg").string());
  CHECK_FALSE(fp[4].same);
  auto ff = read_pairs((protocol / "Split" / "FF").string() + "/");  // a trailing slash too
  REQUIRE(ff.size() == 4);
  CHECK(ff[0].image2 == (protocol / "../Data/Images/001/frontal/02.jpg").string());  // j in the F list
  CHECK_FALSE(ff[1].same);
  // one-line errors: an index not in the list, a bad line, a folder that is not a split
  std::ofstream(protocol / "Split" / "FP" / "02" / "diff.txt") << "3,9\n";
  CHECK_THROWS_WITH_AS(read_pairs((protocol / "Split" / "FP").string()),
                       doctest::Contains("diff.txt:1: index 9 is not in Pair_list_P.txt"), Error);
  std::ofstream(protocol / "Split" / "FP" / "02" / "diff.txt") << "3 1\n";
  CHECK_THROWS_WITH_AS(read_pairs((protocol / "Split" / "FP").string()),
                       doctest::Contains("diff.txt:1: expected 'i,j', got '3 1'"), Error);
  CHECK_THROWS_WITH_AS(read_pairs(protocol.string()), doctest::Contains("is a folder, expected a pairs file"), Error);
  fs::remove_all(d);
}

TEST_CASE("verification: CSV pairs with and without a header") {
  // deepface's master.csv layout, CR LF line ends, every label spelling
  auto pairs = parse_csv_pairs(
      "file_x,file_y,Decision\r\nimg1.jpg,img2.jpg,Yes\r\na.jpg, b.jpg ,no\r\n\"c,1.jpg\",/abs/d.jpg,TRUE\r\n"
      "e.jpg,f.jpg,0\r\ng.jpg,h.jpg,Same\r\ni.jpg,j.jpg,different",
      "/data/dir", "master.csv");
  REQUIRE(pairs.size() == 6);
  CHECK(pairs[0].image1 == "/data/dir/img1.jpg");
  CHECK(pairs[0].same);
  CHECK(pairs[0].line == 2);
  CHECK(pairs[1].image2 == "/data/dir/b.jpg");  // spaces around fields dropped
  CHECK_FALSE(pairs[1].same);
  CHECK(pairs[2].image1 == "/data/dir/c,1.jpg");  // quoted comma
  CHECK(pairs[2].image2 == "/abs/d.jpg");         // absolute path kept
  CHECK(pairs[2].same);
  CHECK_FALSE(pairs[3].same);
  CHECK(pairs[4].same);
  CHECK_FALSE(pairs[5].same);

  // no header: the first line is a pair
  auto plain = parse_csv_pairs("x.png,y.png,1\n", "d", "p.csv");
  REQUIRE(plain.size() == 1);
  CHECK(plain[0].line == 1);

  CHECK_THROWS_WITH_AS(parse_csv_pairs("a,b,Decision\nx.jpg,y.jpg,1\nx.jpg,y.jpg\n", "d", "m.csv"),
                       doctest::Contains("m.csv:3: expected 3 comma-separated fields (image1,image2,label), got 2"), Error);
  CHECK_THROWS_WITH_AS(parse_csv_pairs("x.jpg,y.jpg,1\n\nx.jpg,y.jpg,maybe\n", "d", "m.csv"),
                       doctest::Contains("m.csv:3: label 'maybe' is not one of Yes/No"), Error);
  CHECK_THROWS_WITH_AS(parse_csv_pairs("x.jpg,\"y.jpg,1\n", "d", "m.csv"),
                       doctest::Contains("m.csv:1: unclosed double quote"), Error);
  CHECK_THROWS_WITH_AS(parse_csv_pairs("x.jpg,,yes\n", "d", "m.csv"), doctest::Contains("m.csv:1: empty image name"),
                       Error);
}

TEST_CASE("verification: read_pairs picks the format and the images folder") {
  fs::path d = scratch("read_pairs");
  std::ofstream(d / "PAIRS.CSV") << "a.jpg,b.jpg,yes\n";
  auto csv = read_pairs((d / "PAIRS.CSV").string());
  REQUIRE(csv.size() == 1);
  CHECK(csv[0].image1 == (d / "a.jpg").string());  // default images folder: the pairs file's
  std::ofstream(d / "pairs.txt") << "1 1\nBo 1 2\n";
  auto lfw = read_pairs((d / "pairs.txt").string(), "/imgs");
  REQUIRE(lfw.size() == 1);
  CHECK(lfw[0].image1 == "/imgs/Bo/Bo_0001.jpg");
  std::ofstream(d / "empty.txt") << "1 0\n";
  CHECK_THROWS_WITH_AS(read_pairs((d / "empty.txt").string()), doctest::Contains("empty.txt: no pairs found"), Error);
  CHECK_THROWS_WITH_AS(read_pairs((d / "none.txt").string()), doctest::Contains("none.txt: cannot open"), Error);
  fs::remove_all(d);
}
