// Greedy non-maximum suppression for the MTCNN detector (models/mtcnn/detector.h), in the two flavours the
// reference uses, over any list of boxes and without allocating once its scratch has grown:
//   Torchvision  torchvision.ops.nms: boxes by descending score (equal scores: lower index first),
//                areas without +1, a box is suppressed when its IoU with a kept one is > threshold.
//   NumpyUnion / NumpyMin  facenet-pytorch's nms_numpy: boxes by descending score (equal scores:
//                higher index first, i.e. the back of a stable ascending argsort), areas with +1,
//                overlap = inter / union or inter / min(area); a box survives only when overlap <=
//                threshold (compared in float32, as numpy compares a float32 array).
// The order is a sort of indices with a total order (score, then index), so std::sort gives what the
// reference's stable sort gives. Tests: tests/models/mtcnn/test_mtcnn_detector.cpp (the NMS cases and the
// whole detector against facenet-pytorch).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <vector>

namespace fk::models::mtcnn {

using Box = std::array<float, 5>;  // x1, y1, x2, y2, score

enum class NmsKind { Torchvision, NumpyUnion, NumpyMin };

// Reused between calls: capacities only grow, so a detector that keeps one allocates nothing per call
// once it has seen its largest list.
struct NmsScratch {
  std::vector<uint32_t> order;     // indices by the flavour's score order
  std::vector<uint8_t> suppressed;  // per index
  std::vector<uint32_t> keep;       // the result: indices kept, in the flavour's output order
};

// NMS over n boxes, box(i) giving a const Box& for i < n; the kept indices end up in s.keep.
template <class BoxOf>
void nms(size_t n, BoxOf&& box, NmsKind kind, double threshold, NmsScratch& s) {
  s.order.resize(n);
  s.suppressed.assign(n, 0);
  s.keep.clear();
  for (size_t i = 0; i < n; ++i) s.order[i] = uint32_t(i);
  const bool numpy = kind != NmsKind::Torchvision;
  auto score = [&](uint32_t i) {  // NaN ranks last, so the order stays total
    const float v = box(i)[4];
    return v == v ? v : -std::numeric_limits<float>::infinity();
  };
  std::sort(s.order.begin(), s.order.end(), [&](uint32_t a, uint32_t b) {
    const float sa = score(a), sb = score(b);
    if (sa != sb) return sa > sb;
    return numpy ? a > b : a < b;
  });
  const float one = numpy ? 1.0f : 0.0f;  // the +1 of pixel-inclusive widths
  const float thr = float(threshold);
  for (size_t oi = 0; oi < n; ++oi) {
    const uint32_t i = s.order[oi];
    if (s.suppressed[i]) continue;
    s.keep.push_back(i);
    const Box& a = box(i);
    const float area_a = (a[2] - a[0] + one) * (a[3] - a[1] + one);
    for (size_t oj = oi + 1; oj < n; ++oj) {
      const uint32_t j = s.order[oj];
      if (s.suppressed[j]) continue;
      const Box& b = box(j);
      const float area_b = (b[2] - b[0] + one) * (b[3] - b[1] + one);
      const float w = std::max(0.0f, std::min(a[2], b[2]) - std::max(a[0], b[0]) + one);
      const float h = std::max(0.0f, std::min(a[3], b[3]) - std::max(a[1], b[1]) + one);
      const float inter = w * h;
      switch (kind) {
        case NmsKind::Torchvision:
          if (double(inter / (area_a + area_b - inter)) > threshold) s.suppressed[j] = 1;
          break;
        case NmsKind::NumpyUnion:
          if (!(inter / (area_a + area_b - inter) <= thr)) s.suppressed[j] = 1;
          break;
        case NmsKind::NumpyMin:
          if (!(inter / std::min(area_a, area_b) <= thr)) s.suppressed[j] = 1;
          break;
      }
    }
  }
}

}  // namespace fk::models::mtcnn
