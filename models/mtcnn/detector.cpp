// The MTCNN detector (see detector.h). Each numbered step matches docs/reference/mtcnn.md section 2.
#include "models/mtcnn/detector.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <filesystem>
#include <stdexcept>

#include "autograd/node.h"
#include "data/image/area_resize.h"
#include "data/formats/weights.h"
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

// The detector's reusable storage, one per thread (capacities only grow): NMS runs on the candidates
// in place without allocating once the largest lists have been seen.
struct Scratch {
  NmsScratch nms;
  std::vector<Candidate> kept;
};

// NMS over cs in place: cs becomes the kept candidates in the flavour's output order (nms.h)
void nms_in_place(std::vector<Candidate>& cs, NmsKind kind, double threshold, Scratch& s) {
  nms(cs.size(), [&](size_t i) -> const Box& { return cs[i].box; }, kind, threshold, s.nms);
  s.kept.clear();
  for (uint32_t i : s.nms.keep) s.kept.push_back(cs[i]);
  cs.swap(s.kept);
}

// MTCNN's input normalisation, (v - 127.5) * 0.0078125, applied by resize_area as it writes
constexpr float kSub = 127.5f, kMul = 0.0078125f;

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

// Crops per work item of stages 2 and 3: the net's maps for 16 crops stay in L2 (ONet: ~1 MB).
constexpr int64_t kCropChunk = 16;

// Runs item(0) with every thread (the first forward of a net prepares its engine: packs the weights,
// fixes the kernels), then items 1 .. n-1 in one parallel region, one item per thread at a time, each
// single-threaded (nested regions run serially) with gradients off and flush-to-zero on. An exception
// in a worker is carried out of the region and rethrown (the first by item order).
template <class Item>
void first_then_parallel(int64_t n, Item&& item) {
  if (n <= 0) return;
  item(int64_t(0));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(n));
  parallel_for_dynamic(n - 1, 1, 1 << 20, [&](int64_t i0, int64_t i1) {
    autograd::NoGrad no_grad;  // per thread
    cpu::FlushDenormals ftz;
    for (int64_t i = i0 + 1; i < i1 + 1; ++i) {
      try {
        item(i);
      } catch (...) {
        errors[size_t(i)] = std::current_exception();
      }
    }
  });
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

// runs `net` over `x` in chunks of min(batch, kCropChunk) rows, f(first row, heads of that chunk);
// f must be safe to call concurrently for different chunks.
template <class Net, class F>
void in_chunks(Net& net, const Tensor& x, int64_t batch, F f) {
  const int64_t n = x.size(0), chunk = std::max<int64_t>(1, std::min(batch, kCropChunk));
  first_then_parallel((n + chunk - 1) / chunk, [&](int64_t c) {
    const int64_t s = c * chunk, e = std::min(n, s + chunk);
    f(s, net.heads(ops::slice(x, 0, s, e).contiguous()));
  });
}

// ---- stage 1 (steps 1-4): the pyramid of every image through PNet, in two parallel regions for all
// images and scales together. The first resamples every level (area resize + normalisation) in pieces
// of rows. The second runs PNet on bands of output rows: PNet is fully convolutional, output row y
// reads input rows 2y .. 2y+11, so a band of output rows [y0, y1) is PNet on input rows
// [2*y0, 2*y1 + 10) alone (the even offset keeps the ceil-mode pool's windows), and the bands of all
// levels are items handed out to the threads, largest level first, each running the whole net
// single-threaded on a band small enough for its maps to stay in cache. The first band runs before
// the region with every thread: that call prepares the engine (packs the weights, fixes the kernels),
// after which PNet::heads only reads the model and is safe to call from several threads.

// PNet output rows per band: ~4-9 % extra work on the 10-row overlaps, maps of a band of a
// 640-pixel-wide level within L2
constexpr int64_t kBandRows = 16;
// pyramid rows per resampling piece
constexpr int64_t kResampleRows = 8;

struct PyramidLevel {
  size_t image;
  float scale;
  int64_t hs, ws;  // resampled size
  int64_t h;       // PNet output rows: ceil((hs - 2) / 2) - 4
  Tensor input;    // (1, 3, hs, ws), normalised
};

struct PNetBand {
  size_t level;
  int64_t y0, y1;  // PNet output rows
  std::vector<Candidate> cands;
};

// the windows of one band with face probability >= threshold, boxes in image pixels (step 2)
void band_candidates(const PNet::Heads& out, PNetBand& band, float scale, double threshold) {
  std::vector<Candidate>& cs = band.cands;
  const Tensor prob = out.prob.contiguous(), reg = out.reg.contiguous();
  const int64_t h = prob.size(2), w = prob.size(3);
  FK_CHECK(h == band.y1 - band.y0, "mtcnn: a PNet band gave ", h, " rows, expected ", band.y1 - band.y0);
  const float* p = prob.data<float>() + h * w;  // channel 1: face
  const float* r = reg.data<float>();
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      const float score = p[y * w + x];
      if (!(double(score) >= threshold)) continue;
      const float gx = float(x), gy = float(band.y0 + y);
      Candidate c;
      c.box = {std::floor((2.0f * gx + 1.0f) / scale), std::floor((2.0f * gy + 1.0f) / scale),
               std::floor((2.0f * gx + 12.0f) / scale), std::floor((2.0f * gy + 12.0f) / scale), score};
      for (int k = 0; k < 4; ++k) c.reg[size_t(k)] = r[(k * h + y) * w + x];
      cs.push_back(c);
    }
}

// the candidates of every image after PNet, NMS, PNet's regression and squaring (steps 1-4)
std::vector<std::vector<Candidate>> propose(PNet& pnet, const std::vector<Tensor>& images,
                                            const DetectorOptions& opts, Scratch& scratch) {
  std::vector<Tensor> imgs;
  std::vector<PyramidLevel> levels;
  for (size_t b = 0; b < images.size(); ++b) {
    imgs.push_back(images[b].contiguous());  // (3, H, W)
    const int64_t H = imgs[b].size(1), W = imgs[b].size(2);
    for (double scale : pyramid_scales(std::min(H, W), opts.min_face_size, opts.factor)) {
      const int64_t hs = int64_t(double(H) * scale + 1), ws = int64_t(double(W) * scale + 1);
      levels.push_back({b, float(scale), hs, ws, (hs - 1) / 2 - 4, empty_uninitialized({1, 3, hs, ws})});
    }
  }
  // resampling: (level, first row) pieces
  std::vector<std::pair<size_t, int64_t>> pieces;
  for (size_t l = 0; l < levels.size(); ++l)
    for (int64_t r = 0; r < levels[l].hs; r += kResampleRows) pieces.emplace_back(l, r);
  parallel_for_dynamic(int64_t(pieces.size()), 1, 1 << 20, [&](int64_t i0, int64_t i1) {
    cpu::FlushDenormals ftz;
    for (int64_t i = i0; i < i1; ++i) {
      PyramidLevel& L = levels[pieces[size_t(i)].first];
      const Tensor& img = imgs[L.image];
      const int64_t H = img.size(1), W = img.size(2), r0 = pieces[size_t(i)].second;
      data::resize_area(img.data<float>(), 3, H, W, {0, H, 0, W}, L.hs, L.ws, kSub, kMul,
                        L.input.data<float>(), r0, std::min(L.hs, r0 + kResampleRows));
    }
  });

  std::vector<PNetBand> bands;
  for (size_t l = 0; l < levels.size(); ++l)
    for (int64_t y = 0; y < levels[l].h; y += kBandRows) {
      // a last band of one row may read only 11 input rows (when hs is odd): it joins the band before
      if (levels[l].h - y == 1 && y > 0) {
        bands.back().y1 = levels[l].h;
        break;
      }
      bands.push_back({l, y, std::min(levels[l].h, y + kBandRows), {}});
    }
  first_then_parallel(int64_t(bands.size()), [&](int64_t i) {
    PNetBand& band = bands[size_t(i)];
    const PyramidLevel& L = levels[band.level];
    const int64_t r0 = 2 * band.y0, r1 = std::min(L.hs, 2 * band.y1 + 10);
    band_candidates(pnet.heads(ops::slice(L.input, 2, r0, r1).contiguous()), band, L.scale, opts.thresholds[0]);
  });

  // per level NMS 0.5, per image NMS 0.7 across levels, then PNet's regression and squaring
  std::vector<std::vector<Candidate>> cands(images.size());
  std::vector<Candidate> level;
  for (size_t l = 0, bi = 0; l < levels.size(); ++l) {
    level.clear();
    for (; bi < bands.size() && bands[bi].level == l; ++bi) level.insert(level.end(), bands[bi].cands.begin(), bands[bi].cands.end());
    nms_in_place(level, NmsKind::Torchvision, 0.5, scratch);
    auto& all = cands[levels[l].image];
    all.insert(all.end(), level.begin(), level.end());
  }
  for (auto& all : cands) {
    nms_in_place(all, NmsKind::Torchvision, 0.7, scratch);
    for (auto& c : all) {  // PNet's regression uses w = x2 - x1 (no +1)
      const float w = c.box[2] - c.box[0], h = c.box[3] - c.box[1];
      c.box = {c.box[0] + c.reg[0] * w, c.box[1] + c.reg[1] * h, c.box[2] + c.reg[2] * w, c.box[3] + c.reg[3] * h,
               c.box[4]};
    }
    square(all);
  }
  return cands;
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
  NmsScratch s;
  nms(boxes.size(), [&](size_t i) -> const Box& { return boxes[i]; }, NmsKind::Torchvision, threshold, s);
  return {s.keep.begin(), s.keep.end()};
}

std::vector<int64_t> nms_numpy(const std::vector<Box>& boxes, double threshold, bool min_overlap) {
  NmsScratch s;
  nms(boxes.size(), [&](size_t i) -> const Box& { return boxes[i]; },
      min_overlap ? NmsKind::NumpyMin : NmsKind::NumpyUnion, threshold, s);
  return {s.keep.begin(), s.keep.end()};
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

  thread_local Scratch scratch;
  // ---- stage 1: PNet over the pyramid of every image (steps 1-4)
  std::vector<std::vector<Candidate>> cands = propose(*pnet_, images, opts_, scratch);

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
        in_chunks(*rnet_, x, opts_.batch_size, [&](int64_t s, const RNet::Heads& o) { store(s, o.prob, o.reg, nullptr); });
      else
        in_chunks(*onet_, x, opts_.batch_size,
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
        nms_in_place(cs, NmsKind::Torchvision, 0.7, scratch);
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
        nms_in_place(cs, NmsKind::NumpyMin, 0.7, scratch);
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
