// CPU loops of the margin transform (tensor/margin.h; the per-logit math in margin_math.h, shared with
// the CUDA kernels of cuda/heads_kernels.h). Rows are independent: split over the threads.
#include <algorithm>

#include "tensor/cpu/margin_math.h"
#include "tensor/parallel.h"

namespace fk::cpu {

namespace {
// rows of C logits per thread chunk: ~32k logits, so small batches stay on one thread
int64_t rows_per_chunk(int64_t C) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(C, 1)); }
}  // namespace

template <class T>
void margin_logits_forward(const T* cos, const int64_t* labels, int64_t N, int64_t C, const MarginParams& p, T* out) {
  parallel_for(N, rows_per_chunk(C), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t j = 0; j < C; ++j) out[n * C + j] = margin_logit(cos[n * C + j], labels[n] == j, p);
  });
}

template <class T>
void margin_logits_backward(const T* dlogits, const T* cos, const int64_t* labels, int64_t N, int64_t C,
                            const MarginParams& p, T* dcos) {
  parallel_for(N, rows_per_chunk(C), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t j = 0; j < C; ++j)
        dcos[n * C + j] = margin_logit_grad(dlogits[n * C + j], cos[n * C + j], labels[n] == j, p);
  });
}

template void margin_logits_forward<float>(const float*, const int64_t*, int64_t, int64_t, const MarginParams&, float*);
template void margin_logits_forward<double>(const double*, const int64_t*, int64_t, int64_t, const MarginParams&,
                                            double*);
template void margin_logits_backward<float>(const float*, const float*, const int64_t*, int64_t, int64_t,
                                            const MarginParams&, float*);
template void margin_logits_backward<double>(const double*, const double*, const int64_t*, int64_t, int64_t,
                                             const MarginParams&, double*);

}  // namespace fk::cpu
