// Agglomerative clustering (models/evaluation/cluster.h): hand-worked 3-4 point examples per linkage with their
// distances typed in (merge heights, partitions, the threshold boundary, the tie rule), the clean-up's
// largest-cluster rule, and scipy's linkage + fcluster on random embeddings
// (tests/fixtures/make_cluster.py -> tests/fixtures/cluster/cases.json).
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "models/evaluation/cluster.h"
#include "tensor/creation.h"
#include "test_util.h"

namespace {

using fk::models::DistanceMatrix;
using fk::models::Linkage;
using fk::models::Merge;
using Labels = std::vector<int64_t>;

// Four points, distances typed in (A=0, B=1, C=2, D=3):
//        A    B    C    D
//   A    0    1    3    5
//   B    1    0  1.5    4
//   C    3  1.5    0    2
//   D    5    4    2    0
// single:   AB@1, then d(AB,C) = min(3, 1.5) = 1.5 -> ABC@1.5, then d(ABC,D) = min(5, 4, 2) = 2.
// complete: AB@1, then d(AB,C) = max(3, 1.5) = 3 > d(C,D) = 2 -> CD@2, then max(3, 5, 1.5, 4) = 5.
// average:  AB@1, then d(AB,C) = (3 + 1.5)/2 = 2.25 > 2 -> CD@2, then (3 + 5 + 1.5 + 4)/4 = 3.375.
DistanceMatrix four_points() {
  return fk::models::distance_matrix(4, {0, 1, 3, 5,  //
                                         1, 0, 1.5, 4,  //
                                         3, 1.5, 0, 2,  //
                                         5, 4, 2, 0});
}

std::string merges_str(const std::vector<Merge>& m) {
  std::ostringstream os;
  for (const auto& x : m) os << "(" << x.a << "," << x.b << " @" << x.distance << " n=" << x.size << ") ";
  return os.str();
}

void check_merges(const std::vector<Merge>& got, const std::vector<Merge>& want) {
  bool same = got.size() == want.size();
  for (size_t i = 0; same && i < got.size(); ++i)
    same = got[i].a == want[i].a && got[i].b == want[i].b && got[i].size == want[i].size &&
           std::abs(got[i].distance - want[i].distance) < 1e-12;
  CHECK_MESSAGE(same, "got " << merges_str(got) << " expected " << merges_str(want));
}

}  // namespace

TEST_CASE("cluster: single linkage on four typed-in points") {
  auto d = four_points();
  // scipy ids: points 0..3, merge k makes cluster 4 + k.
  check_merges(fk::models::agglomerate(d, Linkage::single), {{0, 1, 1, 2}, {2, 4, 1.5, 3}, {3, 5, 2, 4}});
  CHECK(fk::models::cluster_labels(d, Linkage::single, 0.5) == Labels{0, 1, 2, 3});
  CHECK(fk::models::cluster_labels(d, Linkage::single, 1.75) == Labels{0, 0, 0, 1});
  CHECK(fk::models::cluster_labels(d, Linkage::single, 2.5) == Labels{0, 0, 0, 0});
}

TEST_CASE("cluster: complete linkage on four typed-in points") {
  auto d = four_points();
  check_merges(fk::models::agglomerate(d, Linkage::complete), {{0, 1, 1, 2}, {2, 3, 2, 2}, {4, 5, 5, 4}});
  CHECK(fk::models::cluster_labels(d, Linkage::complete, 1.75) == Labels{0, 0, 1, 2});
  CHECK(fk::models::cluster_labels(d, Linkage::complete, 4) == Labels{0, 0, 1, 1});
  CHECK(fk::models::cluster_labels(d, Linkage::complete, 6) == Labels{0, 0, 0, 0});
}

TEST_CASE("cluster: average linkage on four typed-in points") {
  auto d = four_points();
  check_merges(fk::models::agglomerate(d, Linkage::average), {{0, 1, 1, 2}, {2, 3, 2, 2}, {4, 5, 3.375, 4}});
  CHECK(fk::models::cluster_labels(d, Linkage::average, 3) == Labels{0, 0, 1, 1});
  CHECK(fk::models::cluster_labels(d, Linkage::average, 4) == Labels{0, 0, 0, 0});  // complete keeps 2 here
}

TEST_CASE("cluster: a merge at exactly the threshold is not made (scikit-learn's rule)") {
  auto d = four_points();
  // single: the last merge is at exactly 2.
  CHECK(fk::models::cluster_labels(d, Linkage::single, 2.0) == Labels{0, 0, 0, 1});
  CHECK(fk::models::cluster_labels(d, Linkage::single, std::nextafter(2.0, 3.0)) == Labels{0, 0, 0, 0});
  // complete: CD merges at exactly 2.
  CHECK(fk::models::cluster_labels(d, Linkage::complete, 2.0) == Labels{0, 0, 1, 2});
  CHECK(fk::models::agglomerate(d, Linkage::complete, 2.0).size() == 1);
  CHECK(fk::models::agglomerate(d, Linkage::complete, 1.0).empty());
}

TEST_CASE("cluster: tied distances merge the pair with the lowest first points") {
  // Three points on a line at 0, 1, 2: d(0,1) = d(1,2) = 1 tie. The rule merges (0,1) first; complete
  // linkage then puts 2 at max(2, 1) = 2 from {0,1}, so at t = 1.5 the partition is {0,1} {2}. (The
  // other order would give {0} {1,2}.)
  auto line = fk::models::distance_matrix(3, {0, 1, 2, 1, 0, 1, 2, 1, 0});
  check_merges(fk::models::agglomerate(line, Linkage::complete), {{0, 1, 1, 2}, {2, 3, 2, 3}});
  CHECK(fk::models::cluster_labels(line, Linkage::complete, 1.5) == Labels{0, 0, 1});
  // Two separate tied pairs: (0,1) before (2,3), whatever their order in memory.
  auto pairs = fk::models::distance_matrix(4, {0, 1, 9, 9, 1, 0, 9, 9, 9, 9, 0, 1, 9, 9, 1, 0});
  check_merges(fk::models::agglomerate(pairs, Linkage::average), {{0, 1, 1, 2}, {2, 3, 1, 2}, {4, 5, 9, 4}});
}

TEST_CASE("cluster: clean-up keeps the largest cluster and breaks size ties by the earliest image") {
  // Points 0 and 3 are close, 1 and 2 are close, the pairs far apart: two clusters of two.
  auto d = fk::models::distance_matrix(4, {0, 0.9, 0.9, 0.1,  //
                                           0.9, 0, 0.2, 0.9,  //
                                           0.9, 0.2, 0, 0.9,  //
                                           0.1, 0.9, 0.9, 0});
  auto c = fk::models::cleanup_identity(d, 0.7, Linkage::average);
  CHECK(c.labels == Labels{0, 1, 1, 0});
  CHECK(c.cluster_sizes == Labels{2, 2});
  CHECK(c.kept_label == 0);
  CHECK(c.kept == Labels{0, 3});
  CHECK(c.rejected == Labels{1, 2});
  // A third point joining {1, 2} makes it the largest.
  auto e = fk::models::distance_matrix(5, {0, 0.9, 0.9, 0.1, 0.9,  //
                                           0.9, 0, 0.2, 0.9, 0.3,  //
                                           0.9, 0.2, 0, 0.9, 0.3,  //
                                           0.1, 0.9, 0.9, 0, 0.9,  //
                                           0.9, 0.3, 0.3, 0.9, 0});
  auto c2 = fk::models::cleanup_identity(e, 0.7, Linkage::average);
  CHECK(c2.kept == Labels{1, 2, 4});
  CHECK(c2.rejected == Labels{0, 3});
  // One image: kept.
  auto one = fk::models::cleanup_identity(fk::models::distance_matrix(1, {0}), 0.7, Linkage::average);
  CHECK(one.kept == Labels{0});
  CHECK(one.rejected.empty());
}

TEST_CASE("cluster: cosine and euclidean distances of embeddings") {
  // Rows (1,0), (0,2), (-3,0): cosines 0, -1, 0 -> distances 1, 2, 1; euclidean sqrt(5), 4, sqrt(13).
  auto x = fk::tensor({1, 0, 0, 2, -3, 0}, {3, 2});
  auto c = fk::models::pairwise_distances(x, fk::models::Metric::cosine);
  CHECK(c.at(0, 1) == doctest::Approx(1.0));
  CHECK(c.at(0, 2) == doctest::Approx(2.0));
  CHECK(c.at(2, 1) == doctest::Approx(1.0));
  CHECK(c.at(1, 1) == 0);
  auto e = fk::models::pairwise_distances(x, fk::models::Metric::euclidean);
  CHECK(e.at(0, 1) == doctest::Approx(std::sqrt(5.0)));
  CHECK(e.at(0, 2) == doctest::Approx(4.0));
  CHECK(e.at(1, 2) == doctest::Approx(std::sqrt(13.0)));
}

TEST_CASE("cluster: bad arguments are refused with one line") {
  CHECK_THROWS_WITH_AS(fk::models::parse_linkage("ward"), doctest::Contains("unknown linkage 'ward'"), fk::Error);
  CHECK_THROWS_WITH_AS(fk::models::parse_metric("manhattan"), doctest::Contains("unknown metric"), fk::Error);
  CHECK_THROWS_WITH_AS(fk::models::distance_matrix(2, {0, 1, 2, 0}), doctest::Contains("not symmetric"), fk::Error);
  CHECK_THROWS_WITH_AS(fk::models::distance_matrix(2, {0, 1, 1}), doctest::Contains("needs 4 values"), fk::Error);
}

TEST_CASE("cluster: same trees and partitions as scipy linkage + fcluster") {
  std::ifstream f(fk::test::fixture_path("cluster/cases.json"));
  REQUIRE_MESSAGE(f.good(), "missing tests/fixtures/cluster/cases.json: run tests/fixtures/make_cluster.py");
  auto cases = nlohmann::json::parse(f)["cases"];
  REQUIRE(cases.size() == 12);
  for (const auto& c : cases) {
    const std::string name = c["name"];
    CAPTURE(name);
    const int64_t n = c["n"], dim = c["d"];
    auto x = fk::tensor(c["x"].get<std::vector<double>>(), {n, dim});
    auto linkage = fk::models::parse_linkage(c["linkage"]);
    auto dist = fk::models::pairwise_distances(x, fk::models::parse_metric(c["metric"]));
    auto merges = fk::models::agglomerate(dist, linkage);
    auto heights = c["heights"].get<std::vector<double>>();
    auto sizes = c["sizes"].get<std::vector<int64_t>>();
    REQUIRE(merges.size() == heights.size());
    for (size_t k = 0; k < merges.size(); ++k) {
      CHECK_MESSAGE(std::abs(merges[k].distance - heights[k]) < 1e-9, name << " merge " << k);
      CHECK_MESSAGE(merges[k].size == sizes[k], name << " merge " << k);
    }
    REQUIRE(c["levels"].size() == size_t(n));  // every level of the tree, 1..n clusters
    for (const auto& level : c["levels"]) {
      double t = level["threshold"];
      CHECK_MESSAGE(fk::models::cluster_labels(dist, linkage, t) == level["labels"].get<Labels>(), name << " t=" << t);
    }
  }
}
