// Agglomerative (hierarchical) clustering of embeddings, and the per-identity dataset clean-up built on
// it (egcode's dataset_cleanup, docs/reference/pipelines.md §4).
//  - The clustering is scikit-learn's AgglomerativeClustering(n_clusters=None, distance_threshold=t,
//    metric=cosine|euclidean, linkage=single|complete|average): start with one cluster per point,
//    repeatedly merge the two clusters with the smallest linkage distance, and stop as soon as that
//    smallest distance is >= t. A merge at exactly t is NOT made (scikit-learn counts the merges with
//    distance < t; scipy's fcluster(Z, t, 'distance') also makes the ones at == t).
//  - Distances: cosine 1 - a.b / (|a| |b|) (scipy.spatial.distance.cosine), euclidean |a - b|.
//    Linkage distance between clusters A and B: single min, complete max, average mean of d(a, b).
//  - Ties (two pairs at the same smallest distance) merge the pair whose smaller first member is
//    smallest, then whose other first member is smallest ("first member" = lowest point index in a
//    cluster), so the result never depends on memory layout.
// Tests: tests/models/evaluation/test_cluster.cpp (hand-worked distances per linkage, scipy linkage + fcluster
// fixtures from tests/fixtures/make_cluster.py, real-face clean-up).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace fk::models {

enum class Linkage { single, complete, average };
enum class Metric { cosine, euclidean };

// "single" / "complete" / "average" and "cosine" / "euclidean"; anything else throws one line.
Linkage parse_linkage(const std::string& name);
Metric parse_metric(const std::string& name);
std::string to_string(Linkage l);
std::string to_string(Metric m);

// A symmetric n x n matrix of point distances, row-major, zero diagonal.
struct DistanceMatrix {
  int64_t n = 0;
  std::vector<double> d;  // (n, n)
  double at(int64_t i, int64_t j) const { return d[size_t(i * n + j)]; }
};

// Distances between the rows of `x` ((N, D), any float dtype, computed in float64). Cosine of a zero
// row is taken as distance 1 (no direction, no similarity).
DistanceMatrix pairwise_distances(const Tensor& x, Metric metric);
// From typed-in values (n*n, row-major); checks the shape, symmetry, zero diagonal and no NaN.
DistanceMatrix distance_matrix(int64_t n, std::vector<double> values);

// One merge, as a row of scipy's linkage matrix Z: clusters `a` < `b` (ids 0..n-1 are the points, n+k
// the cluster made by merge k), their linkage distance and the size of the new cluster.
struct Merge {
  int64_t a, b;
  double distance;
  int64_t size;
};

// The merges made before the smallest linkage distance reaches `threshold` (all n-1 merges, scipy's
// full tree, when threshold is +infinity). Distances are non-decreasing for these three linkages.
std::vector<Merge> agglomerate(const DistanceMatrix& dist, Linkage linkage,
                               double threshold = std::numeric_limits<double>::infinity());

// Flat clusters with the threshold rule above: labels[i] in 0..k-1, numbered in order of each cluster's
// first point (point 0 is in cluster 0, the first point not in cluster 0 is in cluster 1, ...).
std::vector<int64_t> cluster_labels(const DistanceMatrix& dist, Linkage linkage, double threshold);
std::vector<int64_t> cluster_labels(const Tensor& embeddings, double threshold, Linkage linkage = Linkage::average,
                                    Metric metric = Metric::cosine);

// The clean-up of one identity's images (pipelines.md §4): cluster, keep the largest cluster (ties: the
// cluster holding the earliest image, i.e. the lowest label), reject the others. One image is kept.
struct Cleanup {
  std::vector<int64_t> labels;         // cluster of each image (numbered as cluster_labels does)
  std::vector<int64_t> cluster_sizes;  // by label
  int64_t kept_label = 0;
  std::vector<int64_t> kept;      // image indices, ascending
  std::vector<int64_t> rejected;  // image indices, ascending
};
Cleanup cleanup_identity(const Tensor& embeddings, double threshold, Linkage linkage = Linkage::average,
                         Metric metric = Metric::cosine);
Cleanup cleanup_identity(const DistanceMatrix& dist, double threshold, Linkage linkage);

}  // namespace fk::models
