// Agglomerative clustering and the per-identity clean-up: see cluster.h.
// The algorithm is the textbook one, O(n^3) time and O(n^2) memory: a matrix of cluster-to-cluster
// distances, one scan for the closest pair per merge, and the Lance-Williams update of the merged
// cluster's row. An identity has tens to a few hundred images, for which this takes milliseconds.
#include "models/evaluation/cluster.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tensor/error.h"

namespace fk::models {

Linkage parse_linkage(const std::string& name) {
  if (name == "single") return Linkage::single;
  if (name == "complete") return Linkage::complete;
  if (name == "average") return Linkage::average;
  throw Error("cluster: unknown linkage '" + name + "' (expected single, complete or average)");
}

Metric parse_metric(const std::string& name) {
  if (name == "cosine") return Metric::cosine;
  if (name == "euclidean") return Metric::euclidean;
  throw Error("cluster: unknown metric '" + name + "' (expected cosine or euclidean)");
}

std::string to_string(Linkage l) {
  switch (l) {
    case Linkage::single: return "single";
    case Linkage::complete: return "complete";
    case Linkage::average: return "average";
  }
  return "?";
}

std::string to_string(Metric m) { return m == Metric::cosine ? "cosine" : "euclidean"; }

DistanceMatrix pairwise_distances(const Tensor& x, Metric metric) {
  FK_CHECK(x.defined() && x.dim() == 2, "cluster: embeddings must be (N, D), got ",
           x.defined() ? shape_str(x.shape()) : std::string("undefined"));
  const int64_t N = x.size(0), D = x.size(1);
  std::vector<double> v = x.to_vector<double>();  // (N, D)
  std::vector<double> norm(size_t(N), 0.0);
  for (int64_t i = 0; i < N; ++i) {
    double s = 0;
    for (int64_t k = 0; k < D; ++k) s += v[size_t(i * D + k)] * v[size_t(i * D + k)];
    norm[size_t(i)] = std::sqrt(s);
  }
  DistanceMatrix out{N, std::vector<double>(size_t(N * N), 0.0)};
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = i + 1; j < N; ++j) {
      const double* a = &v[size_t(i * D)];
      const double* b = &v[size_t(j * D)];
      double d = 0;
      if (metric == Metric::cosine) {
        double dot = 0;
        for (int64_t k = 0; k < D; ++k) dot += a[k] * b[k];
        double nn = norm[size_t(i)] * norm[size_t(j)];
        d = nn > 0 ? 1.0 - dot / nn : 1.0;
      } else {
        for (int64_t k = 0; k < D; ++k) d += (a[k] - b[k]) * (a[k] - b[k]);
        d = std::sqrt(d);
      }
      FK_CHECK(!std::isnan(d), "cluster: distance between rows ", i, " and ", j, " is NaN (NaN in the embeddings?)");
      out.d[size_t(i * N + j)] = out.d[size_t(j * N + i)] = d;
    }
  return out;
}

DistanceMatrix distance_matrix(int64_t n, std::vector<double> values) {
  FK_CHECK(n >= 0 && int64_t(values.size()) == n * n, "cluster: a distance matrix of ", n, " points needs ", n * n,
           " values, got ", values.size());
  DistanceMatrix m{n, std::move(values)};
  for (int64_t i = 0; i < n; ++i) {
    FK_CHECK(m.at(i, i) == 0, "cluster: distance matrix diagonal [", i, ",", i, "] is ", m.at(i, i), ", not 0");
    for (int64_t j = 0; j < n; ++j)
      FK_CHECK(!std::isnan(m.at(i, j)) && m.at(i, j) == m.at(j, i), "cluster: distance matrix is not symmetric at [",
               i, ",", j, "] (or holds NaN)");
  }
  return m;
}

std::vector<Merge> agglomerate(const DistanceMatrix& dist, Linkage linkage, double threshold) {
  const int64_t n = dist.n;
  // Slot s holds the cluster whose first (lowest) point is s; merging slots i < j keeps slot i. So a
  // scan over i < j in increasing order meets tied pairs in the tie rule's order (cluster.h).
  std::vector<double> d = dist.d;                 // (n, n): distances between the clusters in the slots
  std::vector<int64_t> size(size_t(n), 1);        // points in each slot's cluster
  std::vector<int64_t> id(static_cast<size_t>(n));             // scipy's cluster id of each slot
  std::iota(id.begin(), id.end(), int64_t(0));
  std::vector<char> active(size_t(n), 1);
  std::vector<Merge> merges;
  for (int64_t step = 0; step + 1 < n; ++step) {
    int64_t bi = -1, bj = -1;
    double best = std::numeric_limits<double>::infinity();
    for (int64_t i = 0; i < n; ++i) {
      if (!active[size_t(i)]) continue;
      for (int64_t j = i + 1; j < n; ++j)
        if (active[size_t(j)] && (bi < 0 || d[size_t(i * n + j)] < best)) {
          best = d[size_t(i * n + j)];
          bi = i;
          bj = j;
        }
    }
    if (!(best < threshold)) break;  // scikit-learn: a merge at distance >= threshold is not made
    const int64_t ni = size[size_t(bi)], nj = size[size_t(bj)];
    merges.push_back({std::min(id[size_t(bi)], id[size_t(bj)]), std::max(id[size_t(bi)], id[size_t(bj)]), best, ni + nj});
    // Lance-Williams: the merged cluster's distance to every other cluster k.
    for (int64_t k = 0; k < n; ++k) {
      if (!active[size_t(k)] || k == bi || k == bj) continue;
      double dik = d[size_t(bi * n + k)], djk = d[size_t(bj * n + k)], dk = 0;
      switch (linkage) {
        case Linkage::single: dk = std::min(dik, djk); break;    // closest pair of points
        case Linkage::complete: dk = std::max(dik, djk); break;  // farthest pair of points
        case Linkage::average: dk = (double(ni) * dik + double(nj) * djk) / double(ni + nj); break;  // mean over pairs
      }
      d[size_t(bi * n + k)] = d[size_t(k * n + bi)] = dk;
    }
    active[size_t(bj)] = 0;
    size[size_t(bi)] = ni + nj;
    id[size_t(bi)] = n + step;
  }
  return merges;
}

namespace {

// Union-find root of point/cluster ids, to turn merges into flat labels.
int64_t root(std::vector<int64_t>& parent, int64_t x) {
  while (parent[size_t(x)] != x) x = parent[size_t(x)] = parent[size_t(parent[size_t(x)])];
  return x;
}

}  // namespace

std::vector<int64_t> cluster_labels(const DistanceMatrix& dist, Linkage linkage, double threshold) {
  const int64_t n = dist.n;
  std::vector<Merge> merges = agglomerate(dist, linkage, threshold);
  std::vector<int64_t> parent(size_t(n + int64_t(merges.size())));
  std::iota(parent.begin(), parent.end(), int64_t(0));
  for (size_t k = 0; k < merges.size(); ++k) {
    parent[size_t(root(parent, merges[k].a))] = n + int64_t(k);
    parent[size_t(root(parent, merges[k].b))] = n + int64_t(k);
  }
  // Number the clusters in order of their first point.
  std::vector<int64_t> label_of_root(parent.size(), -1), labels(static_cast<size_t>(n));
  int64_t next = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t r = root(parent, i);
    if (label_of_root[size_t(r)] < 0) label_of_root[size_t(r)] = next++;
    labels[size_t(i)] = label_of_root[size_t(r)];
  }
  return labels;
}

std::vector<int64_t> cluster_labels(const Tensor& embeddings, double threshold, Linkage linkage, Metric metric) {
  return cluster_labels(pairwise_distances(embeddings, metric), linkage, threshold);
}

Cleanup cleanup_identity(const DistanceMatrix& dist, double threshold, Linkage linkage) {
  Cleanup c;
  c.labels = cluster_labels(dist, linkage, threshold);
  int64_t k = c.labels.empty() ? 0 : *std::max_element(c.labels.begin(), c.labels.end()) + 1;
  c.cluster_sizes.assign(size_t(k), 0);
  for (int64_t l : c.labels) ++c.cluster_sizes[size_t(l)];
  // The largest cluster; labels are numbered by first image, so the first maximum is the cluster
  // holding the earliest image among the tied ones.
  c.kept_label = k ? int64_t(std::max_element(c.cluster_sizes.begin(), c.cluster_sizes.end()) - c.cluster_sizes.begin()) : 0;
  for (size_t i = 0; i < c.labels.size(); ++i)
    (c.labels[i] == c.kept_label ? c.kept : c.rejected).push_back(int64_t(i));
  return c;
}

Cleanup cleanup_identity(const Tensor& embeddings, double threshold, Linkage linkage, Metric metric) {
  return cleanup_identity(pairwise_distances(embeddings, metric), threshold, linkage);
}

}  // namespace fk::models
