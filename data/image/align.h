// Face alignment and cropping (pipelines.md §1-2, mtcnn.md §3-4):
//  - similarity_transform: the least-squares similarity (rotation, uniform scale, translation; never a
//    reflection) taking source points onto destination points, as skimage's
//    SimilarityTransform.estimate (Umeyama) computes it;
//  - warp_affine: cv2.warpAffine(img, M, (w, h)) with bilinear sampling and a black border;
//  - align: five landmarks onto a template (ArcFace 112x112, SphereFace 96x112), insightface's norm_crop;
//  - extract_face: facenet-pytorch's extract_face on a PIL image (margin, crop, Pillow BILINEAR).
// Tests: tests/data/image/test_align.cpp (skimage, numpy and PIL fixtures from
// tests/fixtures/make_image_align.py).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "data/image/image.h"

namespace fk::data {

struct Point2 {
  double x = 0;
  double y = 0;
};

// Five facial landmarks in MTCNN's order: left eye, right eye, nose tip, left and right mouth corners
// (left/right as seen in the picture).
using Landmarks5 = std::array<Point2, 5>;

// A 2x3 affine map: [x', y'] = [m00 x + m01 y + m02, m10 x + m11 y + m12].
struct Affine {
  double m[2][3] = {{1, 0, 0}, {0, 1, 0}};
  Point2 apply(Point2 p) const {
    return {m[0][0] * p.x + m[0][1] * p.y + m[0][2], m[1][0] * p.x + m[1][1] * p.y + m[1][2]};
  }
};

// The inverse map (cv2.invertAffineTransform); throws when the 2x2 part is singular.
Affine invert_affine(const Affine& a);

// The similarity M minimising sum_i |dst_i - M src_i|^2 over rotation, scale >= 0 and translation
// (skimage SimilarityTransform.estimate, non-reflective Umeyama). Needs at least two points; throws
// when the source points all coincide or no similarity fits (skimage returns NaN there).
Affine similarity_transform(const std::vector<Point2>& src, const std::vector<Point2>& dst);

// Where the five landmarks go in a canonical face crop of width x height pixels.
struct FaceTemplate {
  const char* name;
  double width;
  double height;
  Landmarks5 points;
};

// insightface's ArcFace template for 112x112 crops (its norm_crop / arcface_dst).
extern const FaceTemplate arcface_112;
// The classic 96x112 (wide x high) template of SphereFace/CosFace; ArcFace's is this shifted by 8 px.
extern const FaceTemplate sphereface_96x112;

// cv2.warpAffine(img, M, (out_w, out_h), INTER_LINEAR, BORDER_CONSTANT 0): output pixel (x, y) takes
// the source at M^-1 (x, y) (pixel centres at integer coordinates), interpolated bilinearly from the
// four neighbours; neighbours outside the source count as black; the result is rounded to nearest.
// Computed in double precision: OpenCV quantises the sampling position to 1/32 px and the weights to
// 15-bit fixed point, which this does not reproduce; measured on photos, 92-97% of the values are
// identical and the rest differ by 1-3 grey levels (on noisy synthetic images up to 4).
Image warp_affine(const Image& img, const Affine& M, int64_t out_w, int64_t out_h);

// Aligns a face: fits the similarity taking `landmarks` to the template points scaled to the output
// size (x by out_w / template width, y by out_h / template height: x2 for a 224x224 ArcFace crop, as
// insightface's tutorial does; anisotropic when the aspect ratio changes, pipelines.md §1c), then
// warps. With the template's own size this is insightface's norm_crop.
Image align(const Image& img, const Landmarks5& landmarks, const FaceTemplate& tmpl, int64_t out_w, int64_t out_h);
Image align(const Image& img, const Landmarks5& landmarks, const FaceTemplate& tmpl = arcface_112);
// The similarity align() uses.
Affine alignment_transform(const Landmarks5& landmarks, const FaceTemplate& tmpl, int64_t out_w, int64_t out_h);

// facenet-pytorch's extract_face(img, box, image_size, margin) for a PIL image: the margin is given in
// output pixels (mx = margin * (x2 - x1) / (image_size - margin), likewise my), the box grows by half
// of it on each side, is clipped to the image and truncated to integers, then cropped and resized to
// image_size x image_size with Pillow's BILINEAR. `box` is (x1, y1, x2, y2) in float32, the precision
// of facenet-pytorch's detector output, and the arithmetic is float32 as numpy does it there.
Image extract_face(const Image& img, const std::array<float, 4>& box, int64_t image_size = 160, int64_t margin = 0);

}  // namespace fk::data
