// Cosine scores of face embeddings, the one place they are computed: a query against a gallery
// (identify, look-alikes), and the two images of each pair (verify, the trainer's validation).
// Embeddings are unit vectors (the embedder L2-normalises them), so a cosine is a dot product.
// Tests: tests/models/recognition/test_gallery.cpp.
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace fk::models {

// The cosine of two unit vectors of `dim` float32 values, accumulated in double.
double cosine(const float* a, const float* b, int64_t dim);

// Every query row with every gallery row: (Q, N) = queries . gallery^T.
Tensor cosine_scores(const Tensor& queries, const Tensor& gallery_embeddings);

// Per pair k: the cosine of rows rows1[k] and rows2[k] of `unit_rows` ((R, D) float32 on the CPU).
std::vector<double> pair_cosines(const Tensor& unit_rows, const std::vector<int64_t>& rows1,
                                 const std::vector<int64_t>& rows2);

}  // namespace fk::models
