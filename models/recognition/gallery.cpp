// Gallery files (see gallery.h): .npz, numeric members through encode_npy/parse_npy, names and
// metadata as numpy '<U' string arrays; .h5 through data/formats/h5.h.
#include "models/recognition/gallery.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "autograd/ops.h"
#include "data/formats/files.h"
#include "data/formats/h5.h"
#include "data/formats/npy.h"
#include "data/formats/zip.h"
#include "tensor/creation.h"
#include "tensor/error.h"
#include "tensor/finite.h"

namespace fk::models {

namespace {

// The metadata members, in file order, with where each lives in GalleryMeta.
std::vector<std::pair<const char*, std::string GalleryMeta::*>> meta_fields() {
  return {{"arch", &GalleryMeta::arch},
          {"weights_sha256", &GalleryMeta::weights_sha256},
          {"crop", &GalleryMeta::crop},
          {"preprocessing", &GalleryMeta::preprocessing},
          {"flip", &GalleryMeta::flip}};
}

// Per identity of `names` (sorted, every label among them), the sum of its rows of the float32 (N, D)
// `embeddings`, in double and in row order, and its number of rows.
struct IdentitySums {
  std::vector<double> sum;  // (K, D)
  std::vector<int64_t> count;
};
IdentitySums identity_sums(const Tensor& embeddings, const std::vector<std::string>& labels,
                           const std::vector<std::string>& names) {
  const int64_t D = embeddings.size(1), K = int64_t(names.size());
  const std::vector<float> e = embeddings.to_vector<float>();  // (N, D)
  IdentitySums s{std::vector<double>(size_t(K * D), 0.0), std::vector<int64_t>(size_t(K), 0)};
  for (size_t r = 0; r < labels.size(); ++r) {
    const int64_t k = std::lower_bound(names.begin(), names.end(), labels[r]) - names.begin();
    for (int64_t d = 0; d < D; ++d) s.sum[size_t(k * D + d)] += e[r * size_t(D) + size_t(d)];
    ++s.count[size_t(k)];
  }
  return s;
}

// The checks both formats share once the members are read.
void check_loaded(const Gallery& g, const std::string& path, bool allow_nonfinite) {
  FK_CHECK(g.embeddings.dtype() == DType::Float32 && g.embeddings.dim() == 2, path,
           ": embeddings should be float32 (N, D), are ", dtype_name(g.embeddings.dtype()),
           shape_str(g.embeddings.shape()));
  FK_CHECK(g.embeddings.size(0) == g.size() && g.paths.size() == g.labels.size(), path, ": ",
           g.embeddings.size(0), " embeddings but ", g.labels.size(), " labels and ", g.paths.size(), " paths");
  if (!allow_nonfinite) {
    const NonFinite bad = count_nonfinite(g.embeddings);
    FK_CHECK(bad.count == 0, path, ": ", nonfinite_text(bad.count), " in the embeddings, the first in the row of '",
             g.paths[size_t(bad.first / std::max<int64_t>(1, g.embeddings.size(1)))],
             "'; --allow-nonfinite uses the gallery anyway");
  }
}

const char* const kH5Members[] = {"embeddings", "labels", "paths"};

void save_gallery_h5(const std::string& path, const Gallery& g) {
  data::H5Writer w(path);
  const Tensor e = g.embeddings.to(DType::Float32).contiguous();
  w.dataset("embeddings", e);
  w.strings("labels", g.labels);
  w.strings("paths", g.paths);
  for (const auto& [name, field] : meta_fields()) w.attribute(name, g.meta.*field);
  // egcode's layout beside them: a group per identity holding `embedding`, the mean of its
  // (normalised) embeddings, float64, not normalised again
  const int64_t D = e.size(1);
  const std::vector<std::string> names = g.identities();
  const IdentitySums s = identity_sums(e, g.labels, names);  // one pass over the rows
  for (size_t k = 0; k < names.size(); ++k) {
    for (const char* m : kH5Members)
      FK_CHECK(names[k] != m, path, ": an identity named '", names[k], "' would clash with the '", m,
               "' dataset of the .h5 layout; rename its folder or write an .npz gallery");
    Tensor mean = empty({D}, DType::Float64);
    for (int64_t d = 0; d < D; ++d) mean.data<double>()[d] = s.sum[k * size_t(D) + size_t(d)] / double(s.count[k]);
    w.dataset(names[k] + "/embedding", mean);
  }
  w.close();
}

Gallery load_gallery_h5(const std::string& path, bool allow_nonfinite) {
  data::H5Reader r(path);
  FK_CHECK(r.has_dataset("embeddings"), path,
           ": not a facekit gallery (no 'embeddings' dataset). A gallery of egcode's export_embeddings.py (a group "
           "per person) does not record the model, crop and flip that made it; make one with `facekit embed`");
  Gallery g;
  g.embeddings = r.dataset("embeddings");
  g.labels = r.strings("labels");
  g.paths = r.strings("paths");
  for (const auto& [name, field] : meta_fields()) g.meta.*field = r.attribute(name);
  check_loaded(g, path, allow_nonfinite);
  return g;
}

}  // namespace

std::string describe_difference(const GalleryMeta& gallery, const GalleryMeta& query) {
  std::string out;
  for (const auto& [name, field] : meta_fields()) {
    if (gallery.*field == query.*field) continue;
    if (!out.empty()) out += "; ";
    out += std::string(name) + ": gallery '" + gallery.*field + "', query '" + query.*field + "'";
  }
  return out;
}

std::vector<std::string> Gallery::identities() const {
  std::set<std::string> s(labels.begin(), labels.end());
  return {s.begin(), s.end()};
}

void save_gallery(const std::string& path, const Gallery& g) {
  FK_CHECK(g.embeddings.defined() && g.embeddings.dim() == 2 && g.embeddings.size(0) == g.size() &&
               g.paths.size() == g.labels.size(),
           path, ": gallery sizes disagree (", g.labels.size(), " labels, ", g.paths.size(), " paths, embeddings ",
           g.embeddings.defined() ? shape_str(g.embeddings.shape()) : std::string("undefined"), ")");
  if (data::is_h5_path(path)) return save_gallery_h5(path, g);
  data::ZipWriter zip;
  zip.add("embeddings.npy", data::encode_npy(g.embeddings.to(DType::Float32)));
  zip.add("labels.npy", data::encode_npy_strings(g.labels));
  zip.add("paths.npy", data::encode_npy_strings(g.paths));
  for (const auto& [name, field] : meta_fields())
    zip.add(std::string(name) + ".npy", data::encode_npy_strings({g.meta.*field}, /*scalar=*/true));
  data::write_file_atomic(path, zip.finish());
}

Gallery load_gallery(const std::string& path, bool allow_nonfinite) {
  if (data::is_h5_path(path)) return load_gallery_h5(path, allow_nonfinite);
  data::ZipReader zip = data::ZipReader::open(path);
  auto member = [&](const std::string& name) {
    FK_CHECK(zip.contains(name + ".npy"), path, ": not a facekit gallery (no '", name,
             "' array; make one with `facekit embed`)");
    return zip.read(name + ".npy");
  };
  auto strings = [&](const std::string& name) {
    return data::parse_npy_strings(member(name), path + ": member '" + name + "'");
  };
  Gallery g;
  g.embeddings = data::parse_npy(member("embeddings"), path + ": member 'embeddings'");
  g.labels = strings("labels");
  g.paths = strings("paths");
  for (const auto& [name, field] : meta_fields()) {
    std::vector<std::string> v = strings(name);
    FK_CHECK(v.size() == 1, path, ": member '", name, "' should hold one string, holds ", v.size());
    g.meta.*field = v[0];
  }
  check_loaded(g, path, allow_nonfinite);
  return g;
}

void check_compatible(const Gallery& g, const GalleryMeta& query, const std::string& gallery_path) {
  std::string diff = describe_difference(g.meta, query);
  FK_CHECK(diff.empty(), gallery_path, " was made with other settings than this query: ", diff);
}

namespace {

// c_k = the mean of identity k's rows, normalised (its length does not matter, only its direction).
Tensor centroids(const Gallery& g, const std::vector<std::string>& names) {
  const int64_t D = g.embeddings.size(1), K = int64_t(names.size());
  const IdentitySums s = identity_sums(g.embeddings, g.labels, names);
  std::vector<float> c(size_t(K * D));
  for (int64_t k = 0; k < K; ++k) {
    double n2 = 0;
    for (int64_t d = 0; d < D; ++d) n2 += s.sum[size_t(k * D + d)] * s.sum[size_t(k * D + d)];
    double inv = n2 > 0 ? 1.0 / std::sqrt(n2) : 0.0;
    for (int64_t d = 0; d < D; ++d) c[size_t(k * D + d)] = float(s.sum[size_t(k * D + d)] * inv);
  }
  return from_buffer(c.data(), {K, D}, DType::Float32);
}

}  // namespace

std::vector<std::vector<IdentityScore>> rank_identities(const Gallery& g, const Tensor& queries,
                                                        const std::string& match) {
  FK_CHECK(match == "nearest" || match == "centroid", "unknown match rule '", match, "' (expected nearest or centroid)");
  const std::vector<std::string> names = g.identities();
  const bool centroid = match == "centroid";
  // what each query is compared with: the gallery rows, or one centroid per identity
  Tensor rows = centroid ? centroids(g, names) : g.embeddings;
  std::vector<int64_t> owner;  // identity index of each compared row
  for (int64_t r = 0; r < rows.size(0); ++r)
    owner.push_back(centroid ? r : std::lower_bound(names.begin(), names.end(), g.labels[size_t(r)]) - names.begin());
  Tensor scores = cosine_scores(queries, rows).contiguous();  // (Q, R)
  std::vector<std::vector<IdentityScore>> out;
  for (int64_t q = 0; q < scores.size(0); ++q) {
    const float* s = scores.data<float>() + q * rows.size(0);
    std::vector<IdentityScore> best(names.size());
    for (size_t k = 0; k < names.size(); ++k) best[k] = {names[k], -INFINITY, -1};
    for (size_t r = 0; r < owner.size(); ++r) {
      IdentityScore& b = best[size_t(owner[r])];
      if (s[r] > b.score) b.score = s[r], b.row = centroid ? -1 : int64_t(r);
    }
    std::stable_sort(best.begin(), best.end(), [](const IdentityScore& a, const IdentityScore& b) { return a.score > b.score; });
    out.push_back(std::move(best));
  }
  return out;
}

}  // namespace fk::models
