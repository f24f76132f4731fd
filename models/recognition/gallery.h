// A gallery: embeddings of labelled face images, as `facekit embed` writes them and identify,
// lookalike and cluster read them. Stored as an .npz numpy reads without pickle:
//   embeddings  float32 (N, D), rows L2-normalised
//   labels      '<U' (N,)  identity of each row (its folder name)
//   paths       '<U' (N,)  the image each row came from
//   arch, weights_sha256, crop, preprocessing, flip   '<U' 0-d: how the embeddings were made
// A query embedded with another architecture, other weights, another crop or normalisation, or
// another flip mode is not comparable: check_compatible refuses it, naming what differs.
// A path ending in .h5 / .hdf5 gets an HDF5 file instead (data/formats/h5.h), as h5py reads it: the
// datasets embeddings (float32), labels and paths (UTF-8 strings), the metadata as string attributes of
// the root, and, beside them, egcode's layout (export_embeddings.py): a group per identity holding
// `embedding`, the float64 mean of its normalised embeddings (not normalised again).
// Tests: tests/models/recognition/test_gallery.cpp, tests/apps/test_embed.cpp (h5py reads the .h5).
#pragma once

#include <string>
#include <vector>

#include "models/recognition/scores.h"
#include "tensor/tensor.h"

namespace fk::models {

struct GalleryMeta {
  std::string arch;
  std::string weights_sha256;
  std::string crop;           // FacePreprocess::crop
  std::string preprocessing;  // FacePreprocess::describe()
  std::string flip;           // "none", "concat", "sum"
  bool operator==(const GalleryMeta&) const = default;
};

// "" when a and b agree, else e.g. "arch: ir_50 vs mobilefacenet; flip: concat vs none".
std::string describe_difference(const GalleryMeta& gallery, const GalleryMeta& query);

struct Gallery {
  Tensor embeddings;  // (N, D) float32
  std::vector<std::string> labels;
  std::vector<std::string> paths;
  GalleryMeta meta;

  int64_t size() const { return int64_t(labels.size()); }
  // The distinct labels, sorted.
  std::vector<std::string> identities() const;
};

// Writes atomically (an existing gallery is replaced whole or kept). Checks the sizes agree.
void save_gallery(const std::string& path, const Gallery& g);
// Reads and validates (members present, sizes agree, float32 2-D embeddings, and unless
// allow_nonfinite every embedding finite: "<file>: 2 non-finite values (NaN or Inf) in the embeddings,
// the first in the row of 'obama/1.jpg'"); one-line errors naming the file.
Gallery load_gallery(const std::string& path, bool allow_nonfinite = false);
// Throws "<gallery_path> was made with other settings than this query: <differences>".
void check_compatible(const Gallery& g, const GalleryMeta& query, const std::string& gallery_path);

// One identity's score for a query face.
struct IdentityScore {
  std::string identity;
  double score = 0;
  int64_t row = -1;  // the gallery row that gave the score (-1 for a centroid)
};
// Every identity of `g` scored against each query row (unit vectors, (Q, D)), highest first (ties:
// identities in sorted order). "nearest": the best cosine over the identity's images (a 1-NN
// classifier); "centroid": the cosine to the direction of the mean of its embeddings (egcode's
// gallery, which stores one mean embedding per person).
std::vector<std::vector<IdentityScore>> rank_identities(const Gallery& g, const Tensor& queries,
                                                        const std::string& match = "nearest");

}  // namespace fk::models
