// Blocked-layout tensors and their ops (blocked.h).
#include "tensor/blocked.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "tensor/cpu/conv_blocked.h"
#include "tensor/cpu/pool_math.h"
#include "tensor/creation.h"
#include "tensor/error.h"
#include "tensor/parallel.h"

namespace fk {

BlockedTensor empty_blocked(int64_t N, int64_t C, int64_t H, int64_t W) {
  return {empty_uninitialized({N, cpu::channel_blocks(C), H, W, cpu::kChannelBlock}), C};
}

BlockedTensor to_blocked(const Tensor& x) {
  FK_CHECK(x.dim() == 4 && x.dtype() == DType::Float32 && x.device().is_cpu(),
           "to_blocked: expected a float32 (N, C, H, W) CPU tensor, got ", x.str());
  Tensor c = x.contiguous();
  BlockedTensor y = empty_blocked(x.size(0), x.size(1), x.size(2), x.size(3));
  cpu::nchw_to_blocked(x.size(0), x.size(1), x.size(2) * x.size(3), c.data<float>(), y.mutable_ptr());
  return y;
}

Tensor to_nchw(const BlockedTensor& x) {
  Tensor y = empty_uninitialized({x.N(), x.channels, x.H(), x.W()});
  cpu::blocked_to_nchw(x.N(), x.channels, x.H() * x.W(), x.ptr(), y.data<float>());
  return y;
}

namespace {
// 16 floats, one channel block: GCC's vector extension (one zmm register with AVX-512, split into
// what the target has otherwise)
typedef float v16 __attribute__((vector_size(64)));
}  // namespace

BlockedTensor max_pool2d(const BlockedTensor& x, int64_t k, int64_t s, int64_t p, bool ceil_mode) {
  FK_CHECK(k > 0 && s > 0 && p >= 0 && 2 * p <= k, "max_pool2d (blocked): bad kernel ", k, " stride ", s, " padding ", p);
  const int64_t H = x.H(), W = x.W();
  const int64_t OH = cpu::pool_output_size(H, k, s, p, 1, ceil_mode), OW = cpu::pool_output_size(W, k, s, p, 1, ceil_mode);
  FK_CHECK(OH > 0 && OW > 0, "max_pool2d (blocked): input ", H, "x", W, " is smaller than the ", k, "x", k, " window");
  BlockedTensor y = empty_blocked(x.N(), x.channels, OH, OW);
  const float* xp = x.ptr();
  float* yp = y.mutable_ptr();
  parallel_for(x.N() * x.blocks() * OH, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, OW * k * k * 16)),
               [&](int64_t i0, int64_t i1) {
                 for (int64_t i = i0; i < i1; ++i) {
                   const int64_t oh = i % OH, plane = i / OH;
                   const cpu::MaxWindow wh = cpu::max_window(oh, k, s, p, 1, H);
                   const float* xpl = xp + plane * H * W * 16;
                   for (int64_t ow = 0; ow < OW; ++ow) {
                     const cpu::MaxWindow ww = cpu::max_window(ow, k, s, p, 1, W);
                     const int64_t cols = ww.i1 - ww.i0;
                     // 16 channels at once; a NaN wins, as in PyTorch. Full windows of 2 or 3
                     // columns (MTCNN's and ResNet's pools) with the column loop unrolled.
                     v16 m = -INFINITY - v16{};
                     auto take = [&](const float* at) {
                       v16 v;
                       std::memcpy(&v, at, sizeof v);
                       m = ((v > m) | (v != v)) ? v : m;
                     };
                     for (int64_t ih = wh.i0; ih < wh.i1; ++ih) {
                       const float* row = xpl + (ih * W + ww.i0) * 16;
                       if (cols == 2) {
                         take(row);
                         take(row + 16);
                       } else if (cols == 3) {
                         take(row);
                         take(row + 16);
                         take(row + 32);
                       } else {
                         for (int64_t c = 0; c < cols; ++c) take(row + c * 16);
                       }
                     }
                     std::memcpy(yp + (i * OW + ow) * 16, &m, sizeof m);
                   }
                 }
               });
  return y;
}

BlockedTensor cat_channels(const std::vector<BlockedTensor>& parts) {
  FK_CHECK(!parts.empty(), "cat_channels: no tensors");
  int64_t C = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& t = parts[i];
    FK_CHECK(t.N() == parts[0].N() && t.H() == parts[0].H() && t.W() == parts[0].W(),
             "cat_channels: part ", i, " is ", t.data.str(), ", part 0 ", parts[0].data.str());
    FK_CHECK(i + 1 == parts.size() || t.channels % cpu::kChannelBlock == 0, "cat_channels: part ", i, " has ",
             t.channels, " channels, not a multiple of 16");
    C += t.channels;
  }
  const int64_t N = parts[0].N(), plane = parts[0].H() * parts[0].W() * 16;
  BlockedTensor y = empty_blocked(N, C, parts[0].H(), parts[0].W());
  float* yp = y.mutable_ptr();
  for (int64_t n = 0; n < N; ++n) {
    int64_t at = 0;
    for (const auto& t : parts) {
      const int64_t bytes = t.blocks() * plane;
      std::memcpy(yp + (n * y.blocks() + at) * plane, t.ptr() + n * bytes, size_t(bytes) * sizeof(float));
      at += t.blocks();
    }
  }
  return y;
}

}  // namespace fk
