// Cosine scores of embeddings (see scores.h).
#include "models/recognition/scores.h"

#include "autograd/ops.h"
#include "tensor/error.h"

namespace fk::models {

double cosine(const float* a, const float* b, int64_t dim) {
  double s = 0;
  for (int64_t i = 0; i < dim; ++i) s += double(a[i]) * double(b[i]);
  return s;
}

Tensor cosine_scores(const Tensor& queries, const Tensor& gallery_embeddings) {
  FK_CHECK(queries.dim() == 2 && gallery_embeddings.dim() == 2 && queries.size(1) == gallery_embeddings.size(1),
           "cosine_scores: embedding sizes differ: queries ", shape_str(queries.shape()), ", gallery ",
           shape_str(gallery_embeddings.shape()));
  return matmul(queries, transpose(gallery_embeddings, 0, 1));
}

std::vector<double> pair_cosines(const Tensor& unit_rows, const std::vector<int64_t>& rows1,
                                 const std::vector<int64_t>& rows2) {
  FK_CHECK(unit_rows.dim() == 2 && unit_rows.dtype() == DType::Float32 && unit_rows.device().is_cpu(),
           "pair_cosines: embeddings must be (R, D) float32 on the CPU");
  FK_CHECK(rows1.size() == rows2.size(), "pair_cosines: ", rows1.size(), " first and ", rows2.size(), " second images");
  const Tensor e = unit_rows.contiguous();
  const int64_t R = e.size(0), D = e.size(1);
  std::vector<double> out;
  out.reserve(rows1.size());
  for (size_t k = 0; k < rows1.size(); ++k) {
    FK_CHECK(rows1[k] >= 0 && rows1[k] < R && rows2[k] >= 0 && rows2[k] < R, "pair_cosines: pair ", k,
             " names a row outside the ", R, " embeddings");
    out.push_back(cosine(e.data<float>() + rows1[k] * D, e.data<float>() + rows2[k] * D, D));
  }
  return out;
}

}  // namespace fk::models
