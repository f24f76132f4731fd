// The MTCNN face detector, step for step as facenet-pytorch's detect_face + MTCNN.detect
// (docs/reference/mtcnn.md section 2): an image pyramid from min_face_size and factor, PNet on
// every scale (area resampling, candidates >= threshold 0, NMS 0.5 per scale, 0.7 across scales; all
// images and scales in two parallel regions, PNet on bands of rows: see stage 1 in detector.cpp), PNet
// box regression and squaring, RNet on 24x24 area-resampled crops (> threshold 1, NMS 0.7, regression,
// squaring), ONet on 48x48 crops (> threshold 2, landmarks from the pre-regression box, regression,
// "Min" NMS 0.7). Arithmetic is float32 like the reference's tensors. Faces come out sorted by box
// area, largest first (select_largest=True, the default), or in detector order (descending score).
// Known reference bug not reproduced: a candidate whose crop is empty is dropped together with its
// box instead of misaligning the later arrays.
// Tests: tests/models/mtcnn/test_mtcnn_detector.cpp.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "models/mtcnn/nets.h"
#include "models/mtcnn/nms.h"
#include "tensor/tensor.h"

namespace fk::models::mtcnn {

struct Face {
  std::array<float, 4> box;                      // x1, y1, x2, y2 in pixels of the input image
  float prob = 0;                                // ONet's face probability
  std::array<std::array<float, 2>, 5> landmarks;  // (x, y): left eye, right eye, nose, mouth left, mouth right
};

struct DetectorOptions {
  double min_face_size = 20;
  std::array<double, 3> thresholds = {0.6, 0.7, 0.7};
  double factor = 0.709;
  bool select_largest = true;  // sort by area (largest first); false: by probability as detected
  int64_t batch_size = 512;    // most RNet/ONet crops per forward pass (facenet-pytorch's fixed_batch_process);
                               // the detector runs chunks of min(batch_size, 16) crops, one per thread at a time
};

class Detector {
 public:
  // Loads pnet.pt, rnet.pt and onet.pt (any format data::read_weights reads) from `weights_dir`.
  explicit Detector(const std::string& weights_dir, DetectorOptions opts = {});
  Detector(std::shared_ptr<PNet> pnet, std::shared_ptr<RNet> rnet, std::shared_ptr<ONet> onet,
           DetectorOptions opts = {});

  // One image: float32 (3, H, W), RGB, values 0..255.
  std::vector<Face> detect(const Tensor& image) const;
  // Several images of any sizes: PNet runs per image and scale, RNet and ONet on the crops of all images
  // together, in batches. The same faces as detecting each image alone (coordinates equal up to float
  // rounding: the GEMM blocking of RNet/ONet depends on how many crops share a batch).
  std::vector<std::vector<Face>> detect(const std::vector<Tensor>& images) const;

  const DetectorOptions& options() const { return opts_; }
  DetectorOptions& options() { return opts_; }

 private:
  std::shared_ptr<PNet> pnet_;
  std::shared_ptr<RNet> rnet_;
  std::shared_ptr<ONet> onet_;
  DetectorOptions opts_;
};

// The pyramid scales for an image whose shorter side is `min_side` (mtcnn.md step 1).
std::vector<double> pyramid_scales(int64_t min_side, double min_face_size, double factor);

// The NMS flavours on a list of boxes (x1, y1, x2, y2, score), as nms.h defines them; the
// detector itself runs nms.h's nms() on its candidates with a reused scratch.
// torchvision.ops.nms: indices kept, by descending score; areas without +1; suppress IoU > threshold.
std::vector<int64_t> nms_torchvision(const std::vector<Box>& boxes, double threshold);
// facenet-pytorch's nms_numpy: areas with +1, overlap inter/union or ("Min") inter/min(area);
// keeps overlap <= threshold; ties broken by a stable sort.
std::vector<int64_t> nms_numpy(const std::vector<Box>& boxes, double threshold, bool min_overlap);

}  // namespace fk::models::mtcnn
