// Face alignment: the least-squares similarity between point sets, the affine warp, the templates, and
// facenet-pytorch's extract_face. Semantics are stated in align.h; pipelines.md §1 has the sources.
// Tests: tests/data/image/test_align.cpp.
#include "data/image/align.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "tensor/parallel.h"

namespace fk::data {

// insightface arcface_dst (left eye, right eye, nose, left and right mouth corners)
const FaceTemplate arcface_112 = {
    "arcface_112", 112, 112,
    {{{38.2946, 51.6963}, {73.5318, 51.5014}, {56.0252, 71.7366}, {41.5493, 92.3655}, {70.7299, 92.2041}}}};

// SphereFace/CosFace 96x112 crops (ArcFace's points 8 px to the left)
const FaceTemplate sphereface_96x112 = {
    "sphereface_96x112", 96, 112,
    {{{30.2946, 51.6963}, {65.5318, 51.5014}, {48.0252, 71.7366}, {33.5493, 92.3655}, {62.7299, 92.2041}}}};

Affine invert_affine(const Affine& a) {
  // [A | t]^-1 = [A^-1 | -A^-1 t], written out as cv2.invertAffineTransform does
  const double det = a.m[0][0] * a.m[1][1] - a.m[0][1] * a.m[1][0];
  FK_CHECK(det != 0 && std::isfinite(det), "invert_affine: the matrix [[", a.m[0][0], ", ", a.m[0][1], "], [",
           a.m[1][0], ", ", a.m[1][1], "]] is singular");
  const double d = 1.0 / det;
  Affine inv;
  inv.m[0][0] = a.m[1][1] * d;
  inv.m[0][1] = -a.m[0][1] * d;
  inv.m[1][0] = -a.m[1][0] * d;
  inv.m[1][1] = a.m[0][0] * d;
  inv.m[0][2] = -inv.m[0][0] * a.m[0][2] - inv.m[0][1] * a.m[1][2];
  inv.m[1][2] = -inv.m[1][0] * a.m[0][2] - inv.m[1][1] * a.m[1][2];
  return inv;
}

// A similarity is [x'; y'] = [a -b; b a] [x; y] + t with a = c cos(theta), b = c sin(theta). Centring
// both point sets removes t, and what is left, sum_i |D_i - [a -b; b a] S_i|^2, is linear least squares
// in (a, b) whose two columns are orthogonal, so each is a projection:
//     a = sum_i S_i . D_i / sum_i |S_i|^2,     b = sum_i S_i x D_i / sum_i |S_i|^2   (x: 2-D cross)
// and t = mean(dst) - [a -b; b a] mean(src). This is exactly the minimiser Umeyama's method (skimage)
// finds with an SVD: it minimises the same sum over scale >= 0 and proper rotations, which are the
// same matrices [a -b; b a]; its determinant sign fix is what keeps its rotation proper.
Affine similarity_transform(const std::vector<Point2>& src, const std::vector<Point2>& dst) {
  FK_CHECK(src.size() == dst.size() && src.size() >= 2, "similarity_transform: need two equally long point lists of at "
           "least 2 points, got ", src.size(), " and ", dst.size());
  Point2 ms, md;  // means
  for (size_t i = 0; i < src.size(); ++i) {
    FK_CHECK(std::isfinite(src[i].x) && std::isfinite(src[i].y) && std::isfinite(dst[i].x) && std::isfinite(dst[i].y),
             "similarity_transform: point ", i, " is not finite");
    ms.x += src[i].x, ms.y += src[i].y;
    md.x += dst[i].x, md.y += dst[i].y;
  }
  const double n = double(src.size());
  ms.x /= n, ms.y /= n, md.x /= n, md.y /= n;
  double var = 0, dot = 0, cross = 0;
  for (size_t i = 0; i < src.size(); ++i) {
    const double sx = src[i].x - ms.x, sy = src[i].y - ms.y;  // S_i
    const double dx = dst[i].x - md.x, dy = dst[i].y - md.y;  // D_i
    var += sx * sx + sy * sy;
    dot += sx * dx + sy * dy;
    cross += sx * dy - sy * dx;
  }
  FK_CHECK(var > 0, "similarity_transform: the source points all coincide at (", ms.x, ", ", ms.y, ")");
  const double a = dot / var, b = cross / var;
  FK_CHECK(a != 0 || b != 0, "similarity_transform: no similarity fits (the best scale is 0)");
  Affine M;
  M.m[0][0] = a, M.m[0][1] = -b, M.m[0][2] = md.x - (a * ms.x - b * ms.y);
  M.m[1][0] = b, M.m[1][1] = a, M.m[1][2] = md.y - (b * ms.x + a * ms.y);
  return M;
}

Image warp_affine(const Image& img, const Affine& M, int64_t out_w, int64_t out_h) {
  FK_CHECK(out_w >= 1 && out_h >= 1 && out_w * out_h <= (int64_t(1) << 31), "warp_affine: bad output size ", out_w,
           "x", out_h);
  const Affine inv = invert_affine(M);
  const int64_t W = img.width, H = img.height;
  Image out(out_w, out_h);
  parallel_for(out_h, 16, [&](int64_t y0, int64_t y1) {
    for (int64_t oy = y0; oy < y1; ++oy)
      for (int64_t ox = 0; ox < out_w; ++ox) {
        const double sx = inv.m[0][0] * double(ox) + inv.m[0][1] * double(oy) + inv.m[0][2];
        const double sy = inv.m[1][0] * double(ox) + inv.m[1][1] * double(oy) + inv.m[1][2];
        // all four neighbours outside (or a NaN position): the pixel stays black
        if (!(sx >= -1 && sx < double(W) && sy >= -1 && sy < double(H))) continue;
        const int64_t x0 = int64_t(std::floor(sx)), ys = int64_t(std::floor(sy));
        const double fx = sx - double(x0), fy = sy - double(ys);
        const double wx[2] = {1 - fx, fx}, wy[2] = {1 - fy, fy};
        double acc[3] = {0, 0, 0};
        for (int j = 0; j < 2; ++j)
          for (int i = 0; i < 2; ++i) {
            const int64_t x = x0 + i, y = ys + j;
            if (x < 0 || x >= W || y < 0 || y >= H) continue;  // constant border: contributes 0
            const uint8_t* p = img.at(x, y);
            for (int c = 0; c < 3; ++c) acc[c] += wy[j] * wx[i] * double(p[c]);
          }
        uint8_t* o = out.at(ox, oy);
        for (int c = 0; c < 3; ++c) o[c] = uint8_t(std::clamp(std::floor(acc[c] + 0.5), 0.0, 255.0));
      }
  });
  return out;
}

Affine alignment_transform(const Landmarks5& landmarks, const FaceTemplate& tmpl, int64_t out_w, int64_t out_h) {
  FK_CHECK(out_w >= 1 && out_h >= 1, "align: bad output size ", out_w, "x", out_h);
  const double kx = double(out_w) / tmpl.width, ky = double(out_h) / tmpl.height;
  std::vector<Point2> src(landmarks.begin(), landmarks.end()), dst;
  for (const Point2& p : tmpl.points) dst.push_back({p.x * kx, p.y * ky});
  return similarity_transform(src, dst);
}

Image align(const Image& img, const Landmarks5& landmarks, const FaceTemplate& tmpl, int64_t out_w, int64_t out_h) {
  return warp_affine(img, alignment_transform(landmarks, tmpl, out_w, out_h), out_w, out_h);
}

Image align(const Image& img, const Landmarks5& landmarks, const FaceTemplate& tmpl) {
  return align(img, landmarks, tmpl, int64_t(tmpl.width), int64_t(tmpl.height));
}

Image extract_face(const Image& img, const std::array<float, 4>& box, int64_t image_size, int64_t margin) {
  FK_CHECK(!img.empty(), "extract_face: empty image");
  FK_CHECK(image_size >= 1 && margin >= 0 && margin < image_size, "extract_face: need 0 <= margin < image_size, got "
           "margin ", margin, ", image_size ", image_size);
  for (float v : box)
    FK_CHECK(std::isfinite(v) && std::abs(v) < 1e9f, "extract_face: box (", box[0], ", ", box[1], ", ", box[2], ", ",
             box[3], ") is not finite or out of range");
  // float32 throughout, as numpy evaluates facenet-pytorch's expressions on its float32 boxes
  const float mx = float(margin) * (box[2] - box[0]) / float(image_size - margin);
  const float my = float(margin) * (box[3] - box[1]) / float(image_size - margin);
  const float W = float(img.width), H = float(img.height);
  // int() in Python truncates toward zero, as the C++ conversion does
  const int64_t x1 = int64_t(std::max(box[0] - mx / 2, 0.0f));
  const int64_t y1 = int64_t(std::max(box[1] - my / 2, 0.0f));
  const int64_t x2 = int64_t(std::min(box[2] + mx / 2, W));
  const int64_t y2 = int64_t(std::min(box[3] + my / 2, H));
  FK_CHECK(x2 > x1 && y2 > y1, "extract_face: box (", box[0], ", ", box[1], ", ", box[2], ", ", box[3],
           ") leaves nothing of the ", img.width, "x", img.height, " image (crop ", x1, ",", y1, " to ", x2, ",", y2,
           ")");
  return resize_bilinear(crop(img, x1, y1, x2, y2), image_size, image_size);
}

}  // namespace fk::data
