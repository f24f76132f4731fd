// The MTCNN detector (see mtcnn.h). Each numbered step matches ../shared/reference/mtcnn.md section 2.
#include "models/mtcnn.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <stdexcept>

#include "autograd/node.h"
#include "data/area_resize.h"
#include "data/weights.h"
#include "tensor/cpu/denormals.h"
#include "tensor/creation.h"
#include "tensor/parallel.h"
#include "tensor/shape_ops.h"

namespace fk::models::mtcnn {

namespace {

// A candidate face while it moves through the stages.
struct Candidate {
  Box box;                       // x1, y1, x2, y2, score
  std::array<float, 4> reg{};    // the last net's box regression (dx1, dy1, dx2, dy2)
  std::array<float, 10> marks{};  // ONet's landmarks (fractions of the box)
};

// rerec: make each box a square around its centre, side = the longer side
void square(std::vector<Candidate>& cs) {
  for (auto& c : cs) {
    float w = c.box[2] - c.box[0], h = c.box[3] - c.box[1];
    float l = std::max(w, h);
    c.box[0] = c.box[0] + w * 0.5f - l * 0.5f;
    c.box[1] = c.box[1] + h * 0.5f - l * 0.5f;
    c.box[2] = c.box[0] + l;
    c.box[3] = c.box[1] + l;
  }
}

// bbreg: apply a regression with widths and heights counted inclusively (+1)
void regress(std::vector<Candidate>& cs) {
  for (auto& c : cs) {
    float w = c.box[2] - c.box[0] + 1, h = c.box[3] - c.box[1] + 1;
    c.box[0] = c.box[0] + c.reg[0] * w;
    c.box[1] = c.box[1] + c.reg[1] * h;
    c.box[2] = c.box[2] + c.reg[2] * w;
    c.box[3] = c.box[3] + c.reg[3] * h;
  }
}

template <class T>
std::vector<T> take(const std::vector<T>& v, const std::vector<int64_t>& idx) {
  std::vector<T> out;
  out.reserve(idx.size());
  for (int64_t i : idx) out.push_back(v[size_t(i)]);
  return out;
}

std::vector<Box> boxes_of(const std::vector<Candidate>& cs) {
  std::vector<Box> b;
  for (const auto& c : cs) b.push_back(c.box);
  return b;
}

// MTCNN's input normalisation, (v - 127.5) * 0.0078125, applied by resize_area as it writes
constexpr float kSub = 127.5f, kMul = 0.0078125f;

// resample + normalise (step 1): the whole image (3, H, W), area-resized to (1, 3, h, w), in one
// parallel region over output rows
Tensor pyramid_level(const Tensor& image, int64_t h, int64_t w) {
  const int64_t H = image.size(1), W = image.size(2);
  Tensor out = empty_uninitialized({1, 3, h, w});
  const float* src = image.data<float>();
  float* dst = out.data<float>();
  parallel_for(h, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, w * (W / w + 1) * 3)), [&](int64_t r0, int64_t r1) {
    data::resize_area(src, 3, H, W, {0, H, 0, W}, h, w, kSub, kMul, dst, r0, r1);
  });
  return out;
}

// pad + crop + resample (steps 5 and 7): the in-image part of each box (truncated to int, 1-based
// clamping as the reference), area-resampled to size x size and normalised, straight into the batch,
// one parallel region over the candidates. Candidates with an empty crop are dropped (both from `cs`
// and from the crops). Returns (n, 3, size, size). image: (3, H, W) contiguous.
Tensor crops(const Tensor& image, std::vector<Candidate>& cs, int64_t size) {
  const int64_t H = image.size(1), W = image.size(2);
  std::vector<data::AreaWindow> windows;
  std::vector<Candidate> kept;
  for (const auto& c : cs) {
    auto trunc = [](float v) {  // float -> int toward zero, saturating
      if (!(v == v)) return int64_t(0);
      return int64_t(std::clamp<double>(std::trunc(v), -1e15, 1e15));
    };
    int64_t x = std::max<int64_t>(trunc(c.box[0]), 1), y = std::max<int64_t>(trunc(c.box[1]), 1);
    int64_t ex = std::min<int64_t>(trunc(c.box[2]), W), ey = std::min<int64_t>(trunc(c.box[3]), H);
    if (!(ey > y - 1 && ex > x - 1)) continue;
    windows.push_back({y - 1, ey, x - 1, ex});
    kept.push_back(c);
  }
  cs = std::move(kept);
  if (windows.empty()) return Tensor();
  const int64_t n = int64_t(windows.size());
  Tensor out = empty_uninitialized({n, 3, size, size});
  const float* src = image.data<float>();
  float* dst = out.data<float>();
  parallel_for_dynamic(n, 1, 4, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      data::resize_area(src, 3, H, W, windows[size_t(i)], size, size, kSub, kMul, dst + i * 3 * size * size, 0, size);
  });
  return out;
}

// runs `net` over `x` in slices of `batch` rows; f(row offset, heads of that slice)
template <class Net, class F>
void in_batches(Net& net, const Tensor& x, int64_t batch, F f) {
  for (int64_t s = 0; s < x.size(0); s += batch) {
    int64_t e = std::min(x.size(0), s + batch);
    f(s, net.heads(ops::slice(x, 0, s, e).contiguous()));
  }
}

void check_image(const Tensor& image) {
  if (image.dim() != 3 || image.size(0) != 3 || image.dtype() != DType::Float32)
    throw std::invalid_argument("mtcnn::Detector: expected a float32 (3, H, W) RGB image with values 0..255, got " +
                                std::string(dtype_name(image.dtype())) + shape_str(image.shape()));
}

std::shared_ptr<Model> load_net(std::shared_ptr<Model> net, const std::string& dir, const std::string& name) {
  namespace fs = std::filesystem;
  fs::path file;
  for (const char* ext : {".pt", ".pth", ".npz"})
    if (fs::exists(fs::path(dir) / (name + ext))) {
      file = fs::path(dir) / (name + ext);
      break;
    }
  if (file.empty())
    throw std::runtime_error(dir + ": no " + name + ".pt in the MTCNN weights folder (expected pnet.pt, rnet.pt, onet.pt)");
  try {
    net->load_state_dict(data::read_weights(file.string()), /*strict=*/true);
  } catch (const std::exception& e) {
    throw std::runtime_error(file.string() + ": not " + name + " weights: " + e.what());
  }
  net->eval();
  return net;
}

}  // namespace

std::vector<double> pyramid_scales(int64_t min_side, double min_face_size, double factor) {
  std::vector<double> scales;
  double m = 12.0 / min_face_size;
  double minl = double(min_side) * m, scale = m;
  while (minl >= 12) {
    scales.push_back(scale);
    scale *= factor;
    minl *= factor;
  }
  return scales;
}

std::vector<int64_t> nms_torchvision(const std::vector<Box>& boxes, double threshold) {
  std::vector<int64_t> order(boxes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return boxes[a][4] > boxes[b][4]; });
  std::vector<char> suppressed(boxes.size(), 0);
  std::vector<int64_t> keep;
  for (size_t oi = 0; oi < order.size(); ++oi) {
    int64_t i = order[oi];
    if (suppressed[i]) continue;
    keep.push_back(i);
    const Box& a = boxes[i];
    float area_a = (a[2] - a[0]) * (a[3] - a[1]);
    for (size_t oj = oi + 1; oj < order.size(); ++oj) {
      int64_t j = order[oj];
      if (suppressed[j]) continue;
      const Box& b = boxes[j];
      float area_b = (b[2] - b[0]) * (b[3] - b[1]);
      float w = std::max(0.0f, std::min(a[2], b[2]) - std::max(a[0], b[0]));
      float h = std::max(0.0f, std::min(a[3], b[3]) - std::max(a[1], b[1]));
      float inter = w * h;
      float iou = inter / (area_a + area_b - inter);
      if (double(iou) > threshold) suppressed[j] = 1;
    }
  }
  return keep;
}

std::vector<int64_t> nms_numpy(const std::vector<Box>& boxes, double threshold, bool min_overlap) {
  // I = argsort(scores) ascending; repeatedly take the last (highest) and keep those overlapping <= thr
  std::vector<int64_t> I(boxes.size());
  std::iota(I.begin(), I.end(), 0);
  std::stable_sort(I.begin(), I.end(), [&](int64_t a, int64_t b) { return boxes[a][4] < boxes[b][4]; });
  auto area = [&](int64_t i) { return (boxes[i][2] - boxes[i][0] + 1) * (boxes[i][3] - boxes[i][1] + 1); };
  const float thr = float(threshold);  // numpy compares a float32 array with the threshold as float32
  std::vector<int64_t> pick;
  while (!I.empty()) {
    int64_t i = I.back();
    pick.push_back(i);
    I.pop_back();
    std::vector<int64_t> rest;
    for (int64_t j : I) {
      float xx1 = std::max(boxes[i][0], boxes[j][0]), yy1 = std::max(boxes[i][1], boxes[j][1]);
      float xx2 = std::min(boxes[i][2], boxes[j][2]), yy2 = std::min(boxes[i][3], boxes[j][3]);
      float w = std::max(0.0f, xx2 - xx1 + 1), h = std::max(0.0f, yy2 - yy1 + 1);
      float inter = w * h;
      float o = min_overlap ? inter / std::min(area(i), area(j)) : inter / (area(i) + area(j) - inter);
      if (o <= thr) rest.push_back(j);
    }
    I = std::move(rest);
  }
  return pick;
}

Detector::Detector(const std::string& weights_dir, DetectorOptions opts)
    : Detector(std::static_pointer_cast<PNet>(load_net(std::make_shared<PNet>(), weights_dir, "pnet")),
               std::static_pointer_cast<RNet>(load_net(std::make_shared<RNet>(), weights_dir, "rnet")),
               std::static_pointer_cast<ONet>(load_net(std::make_shared<ONet>(), weights_dir, "onet")), opts) {}

Detector::Detector(std::shared_ptr<PNet> pnet, std::shared_ptr<RNet> rnet, std::shared_ptr<ONet> onet,
                   DetectorOptions opts)
    : pnet_(std::move(pnet)), rnet_(std::move(rnet)), onet_(std::move(onet)), opts_(opts) {
  pnet_->eval();
  rnet_->eval();
  onet_->eval();
}

std::vector<Face> Detector::detect(const Tensor& image) const { return detect(std::vector<Tensor>{image}).front(); }

std::vector<std::vector<Face>> Detector::detect(const std::vector<Tensor>& images) const {
  autograd::NoGrad no_grad;
  cpu::FlushDenormals ftz;  // this thread; the kernels' worker threads set it themselves
  const size_t n_images = images.size();
  for (const auto& im : images) check_image(im);
  std::vector<std::vector<Candidate>> cands(n_images);

  // ---- stage 1: PNet over the pyramid of each image (steps 1-4)
  for (size_t b = 0; b < n_images; ++b) {
    const Tensor img = images[b].contiguous();  // (3, H, W)
    const int64_t H = img.size(1), W = img.size(2);
    std::vector<Candidate> all;
    for (double scale : pyramid_scales(std::min(H, W), opts_.min_face_size, opts_.factor)) {
      int64_t hs = int64_t(double(H) * scale + 1), ws = int64_t(double(W) * scale + 1);
      PNet::Heads out = pnet_->heads(pyramid_level(img, hs, ws));
      Tensor prob = out.prob.contiguous(), reg = out.reg.contiguous();
      const int64_t h = prob.size(2), w = prob.size(3);
      const float* p = prob.data<float>() + h * w;  // channel 1: face
      const float* r = reg.data<float>();
      const float fscale = float(scale);
      std::vector<Candidate> level;
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
          float score = p[y * w + x];
          if (!(double(score) >= opts_.thresholds[0])) continue;
          Candidate c;
          c.box = {std::floor((2.0f * float(x) + 1.0f) / fscale), std::floor((2.0f * float(y) + 1.0f) / fscale),
                   std::floor((2.0f * float(x) + 12.0f) / fscale), std::floor((2.0f * float(y) + 12.0f) / fscale),
                   score};
          for (int k = 0; k < 4; ++k) c.reg[k] = r[(k * h + y) * w + x];
          level.push_back(c);
        }
      for (const auto& c : take(level, nms_torchvision(boxes_of(level), 0.5))) all.push_back(c);
    }
    all = take(all, nms_torchvision(boxes_of(all), 0.7));
    for (auto& c : all) {  // PNet's regression uses w = x2 - x1 (no +1)
      float w = c.box[2] - c.box[0], h = c.box[3] - c.box[1];
      c.box = {c.box[0] + c.reg[0] * w, c.box[1] + c.reg[1] * h, c.box[2] + c.reg[2] * w, c.box[3] + c.reg[3] * h,
               c.box[4]};
    }
    square(all);
    cands[b] = std::move(all);
  }

  // ---- stages 2 and 3: crops of every image through RNet, then ONet, in batches (steps 5-9)
  auto refine = [&](int stage) {
    const int64_t size = stage == 2 ? 24 : 48;
    std::vector<Tensor> batch_crops;
    std::vector<std::pair<size_t, size_t>> owner;  // (image, candidate) of each crop row
    for (size_t b = 0; b < n_images; ++b) {
      Tensor c = crops(images[b].contiguous(), cands[b], size);
      if (!c.defined()) continue;
      batch_crops.push_back(c);
      for (size_t i = 0; i < cands[b].size(); ++i) owner.emplace_back(b, i);
    }
    std::vector<float> score(owner.size());
    if (!owner.empty()) {
      Tensor x = ops::cat(batch_crops, 0);
      auto store = [&](int64_t s, const Tensor& prob, const Tensor& reg, const Tensor* marks) {
        Tensor pc = prob.contiguous(), rc = reg.contiguous(), mc = marks ? marks->contiguous() : Tensor();
        for (int64_t i = 0; i < pc.size(0); ++i) {
          auto [b, k] = owner[size_t(s + i)];
          score[size_t(s + i)] = pc.data<float>()[i * 2 + 1];
          for (int j = 0; j < 4; ++j) cands[b][k].reg[j] = rc.data<float>()[i * 4 + j];
          if (marks)
            for (int j = 0; j < 10; ++j) cands[b][k].marks[j] = mc.data<float>()[i * 10 + j];
        }
      };
      if (stage == 2)
        in_batches(*rnet_, x, opts_.batch_size, [&](int64_t s, const RNet::Heads& o) { store(s, o.prob, o.reg, nullptr); });
      else
        in_batches(*onet_, x, opts_.batch_size,
                   [&](int64_t s, const ONet::Heads& o) { store(s, o.prob, o.reg, &o.landmarks); });
    }
    const double thr = opts_.thresholds[size_t(stage - 1)];
    std::vector<std::vector<Candidate>> passed(n_images);
    for (size_t i = 0; i < owner.size(); ++i) {
      auto [b, k] = owner[i];
      if (!(double(score[i]) > thr)) continue;
      Candidate c = cands[b][k];
      c.box[4] = score[i];
      passed[b].push_back(c);
    }
    for (size_t b = 0; b < n_images; ++b) {
      auto& cs = passed[b];
      if (stage == 2) {
        cs = take(cs, nms_torchvision(boxes_of(cs), 0.7));
        regress(cs);
        square(cs);
      } else {
        for (auto& c : cs) {  // landmarks from the box before regression (step 8)
          float w = c.box[2] - c.box[0] + 1, h = c.box[3] - c.box[1] + 1;
          for (int k = 0; k < 5; ++k) {
            c.marks[k] = w * c.marks[k] + c.box[0] - 1;
            c.marks[k + 5] = h * c.marks[k + 5] + c.box[1] - 1;
          }
        }
        regress(cs);
        cs = take(cs, nms_numpy(boxes_of(cs), 0.7, /*min_overlap=*/true));
      }
      cands[b] = std::move(cs);
    }
  };
  refine(2);
  refine(3);

  // ---- output (step 10 and MTCNN.detect's select_largest ordering)
  std::vector<std::vector<Face>> result(n_images);
  for (size_t b = 0; b < n_images; ++b) {
    auto& cs = cands[b];
    if (opts_.select_largest)
      std::stable_sort(cs.begin(), cs.end(), [](const Candidate& a, const Candidate& c) {
        return (a.box[2] - a.box[0]) * (a.box[3] - a.box[1]) > (c.box[2] - c.box[0]) * (c.box[3] - c.box[1]);
      });
    for (const auto& c : cs) {
      Face f;
      f.box = {c.box[0], c.box[1], c.box[2], c.box[3]};
      f.prob = c.box[4];
      for (int k = 0; k < 5; ++k) f.landmarks[size_t(k)] = {c.marks[k], c.marks[k + 5]};
      result[b].push_back(f);
    }
  }
  return result;
}

}  // namespace fk::models::mtcnn
