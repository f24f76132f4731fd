// Synthetic faces (see data/loading/synthetic_faces.h): the generator's random draws, a shape filler, one
// drawing function per facial part, the lighting pass and the dataset writer.
// Determinism: plain double arithmetic only (+ - * /, floor, comparisons), no libm sin/cos/exp/log
// (their last bits may differ between C libraries), and floating-point contraction is switched off
// for this file, so a compiler using FMA (-march=native) gives the same bits as one without.
// Tests: tests/data/loading/test_synthetic_faces.cpp.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "data/loading/synthetic_faces.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "tensor/error.h"

namespace fk::data::synth {

namespace {

constexpr double kPi = 3.14159265358979323846;

// splitmix64's output function: a bijective 64-bit mix.
uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// sin by its Taylor series after reducing x to [-pi/2, pi/2] (error < 1e-13 there). Written out so
// the result does not depend on the C library's sin.
double sin_poly(double x) {
  x = x - 2 * kPi * std::floor(x / (2 * kPi) + 0.5);  // now in [-pi, pi]
  if (x > kPi / 2) x = kPi - x;                       // sin(pi - x) = sin(x)
  if (x < -kPi / 2) x = -kPi - x;
  double x2 = x * x, term = x, sum = x;
  for (int k = 1; k <= 8; ++k) {
    term = term * (-x2 / double((2 * k) * (2 * k + 1)));  // x^(2k+1) / (2k+1)!, alternating
    sum = sum + term;
  }
  return sum;
}
double cos_poly(double x) { return sin_poly(x + kPi / 2); }

double sq(double x) { return x * x; }
double clamp(double x, double lo, double hi) { return std::min(std::max(x, lo), hi); }

Rgb mix(const Rgb& a, const Rgb& b, double t) {
  return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}
Rgb shade(const Rgb& c, double f) { return {c.r * f, c.g * f, c.b * f}; }
Rgb jitter(Rng& rng, const Rgb& c, double amount) {
  return {clamp(c.r + rng.symmetric(amount), 0, 255), clamp(c.g + rng.symmetric(amount), 0, 255),
          clamp(c.b + rng.symmetric(amount), 0, 255)};
}
// (Draws inside a braced list happen left to right; inside a function call's arguments the order
// would be unspecified, so this file never draws twice in one call.)
Rgb random_colour(Rng& rng) { return {rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255)}; }
template <size_t N>
Rgb pick(Rng& rng, const Rgb (&palette)[N]) {
  return palette[size_t(rng.uniform() * double(N))];
}

// ---- the canvas and the shape filler

// The 3x3 supersampled picture the parts are painted on (painter's order: later parts cover earlier).
constexpr int kSuper = 3;

struct Canvas {
  int64_t width = 0, height = 0;  // in samples: kSuper times the image's
  std::vector<Rgb> samples;       // (height, width)
  Rgb& at(int64_t x, int64_t y) { return samples[size_t(y * width + x)]; }
};

struct Vec {
  double x = 0, y = 0;
};

// Where the face sits on the canvas. A face point (u, v) at depth d is first slid sideways by
// yaw * d (nearer features move more when the head turns), then rotated by the pose angle, scaled
// and moved to the face centre. Canvas y points down, so "counter-clockwise on screen" is
//   x = cx + s * (cos * u' + sin * v),   y = cy + s * (-sin * u' + cos * v),   u' = u + yaw * d.
struct Placement {
  double cx = 0, cy = 0, s = 1, cos_a = 1, sin_a = 0, yaw = 0;

  Vec to_canvas(double u, double v, double depth) const {
    double uu = u + yaw * depth;
    return {cx + s * (cos_a * uu + sin_a * v), cy + s * (-sin_a * uu + cos_a * v)};
  }
  // The inverse: rotation by -angle of the offset from the centre, divided by the scale.
  Vec to_face(double x, double y, double depth) const {
    double dx = (x - cx) / s, dy = (y - cy) / s;
    return {cos_a * dx - sin_a * dy - yaw * depth, sin_a * dx + cos_a * dy};
  }
};

// A box in face units that holds a part; only canvas samples inside its image are tested.
struct Box {
  double u0, v0, u1, v1;
};

// Paints `colour` (with `opacity`, 1 = opaque) over every canvas sample whose centre maps to a face
// point where inside(u, v) holds. Anti-aliasing comes from the 3x3 samples per pixel.
template <class Inside>
void fill(Canvas& cv, const Placement& pl, const Box& box, double depth, const Rgb& colour, double opacity,
          Inside inside) {
  double x0 = 1e300, y0 = 1e300, x1 = -1e300, y1 = -1e300;
  for (Vec corner : {Vec{box.u0, box.v0}, Vec{box.u1, box.v0}, Vec{box.u0, box.v1}, Vec{box.u1, box.v1}}) {
    Vec p = pl.to_canvas(corner.x, corner.y, depth);
    x0 = std::min(x0, p.x), x1 = std::max(x1, p.x), y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
  }
  int64_t i0 = std::max<int64_t>(0, int64_t(std::floor(x0))), i1 = std::min<int64_t>(cv.width - 1, int64_t(std::ceil(x1)));
  int64_t j0 = std::max<int64_t>(0, int64_t(std::floor(y0))), j1 = std::min<int64_t>(cv.height - 1, int64_t(std::ceil(y1)));
  for (int64_t j = j0; j <= j1; ++j) {
    for (int64_t i = i0; i <= i1; ++i) {
      Vec f = pl.to_face(double(i) + 0.5, double(j) + 0.5, depth);
      if (!inside(f.x, f.y)) continue;
      Rgb& px = cv.at(i, j);
      px = opacity >= 1 ? colour : mix(px, colour, opacity);
    }
  }
}

bool in_ellipse(double u, double v, double cu, double cv, double rx, double ry) {
  return sq((u - cu) / rx) + sq((v - cv) / ry) <= 1;
}
Box ellipse_box(double cu, double cv, double rx, double ry) { return {cu - rx, cv - ry, cu + rx, cv + ry}; }

void fill_ellipse(Canvas& cv, const Placement& pl, double cu, double cvv, double rx, double ry, double depth,
                  const Rgb& colour, double opacity = 1) {
  fill(cv, pl, ellipse_box(cu, cvv, rx, ry), depth, colour, opacity,
       [&](double u, double v) { return in_ellipse(u, v, cu, cvv, rx, ry); });
}

// ---- one function per facial part, in painting order

// The face outline: an ellipse whose lower half narrows towards the chin by `jaw`:
// half-width at height v > 0 is face_rx * (1 - jaw * v / face_ry).
bool in_face(const FaceIdentity& id, double u, double v) {
  double rx = v > 0 ? id.face_rx * (1 - id.jaw * v / id.face_ry) : id.face_rx;
  return sq(u / rx) + sq(v / id.face_ry) <= 1;
}

double nose_top(const FaceIdentity& id) { return id.eye_y + 0.06; }
double nose_tip(const FaceIdentity& id) { return id.eye_y + 0.06 + id.nose_len; }

// The hair mass: an ellipse a little larger than the face, centred slightly above it.
double hair_rx(const FaceIdentity& id) { return id.face_rx + id.hair_volume; }
double hair_ry(const FaceIdentity& id) { return id.face_ry * 0.92 + id.hair_volume; }
constexpr double kHairCentreV = -0.12;

// Background: two colours blended by soft stripes, 0.5 + 0.5 sin(fx x + fy y + phase) (x, y in pixels).
void draw_background(Canvas& cv, const FacePose& pose) {
  for (int64_t j = 0; j < cv.height; ++j) {
    for (int64_t i = 0; i < cv.width; ++i) {
      double x = (double(i) + 0.5) / kSuper, y = (double(j) + 0.5) / kSuper;
      double t = 0.5 + 0.5 * sin_poly(pose.bg_freq_x * x + pose.bg_freq_y * y + pose.bg_phase);
      cv.at(i, j) = mix(pose.background, pose.background2, t);
    }
  }
}

void draw_neck(Canvas& cv, const Placement& pl, const FaceIdentity& id) {
  double half = 0.45 * id.face_rx;
  fill(cv, pl, {-half, 0.2, half, 4.0}, 0, shade(id.skin, 0.82), 1,
       [&](double u, double v) { return v >= 0.2 && std::abs(u) <= half; });
}

// Hair behind the head: the hair ellipse, down to hair_sides.
void draw_hair_back(Canvas& cv, const Placement& pl, const FaceIdentity& id) {
  double rx = hair_rx(id), ry = hair_ry(id);
  fill(cv, pl, ellipse_box(0, kHairCentreV, rx, ry), 0, shade(id.hair, 0.8), 1, [&](double u, double v) {
    return v <= id.hair_sides && in_ellipse(u, v, 0, kHairCentreV, rx, ry);
  });
}

void draw_ears(Canvas& cv, const Placement& pl, const FaceIdentity& id) {
  double rx = 0.09 * id.ear_size, ry = 0.17 * id.ear_size, v = id.eye_y + 0.12;
  for (double side : {-1.0, 1.0}) {
    double u = side * (id.face_rx - 0.02);
    fill_ellipse(cv, pl, u, v, rx, ry, 0, shade(id.skin, 0.93));
    fill_ellipse(cv, pl, u + side * 0.02, v, rx * 0.5, ry * 0.6, 0, shade(id.skin, 0.75));
  }
}

void draw_face_shape(Canvas& cv, const Placement& pl, const FaceIdentity& id) {
  fill(cv, pl, ellipse_box(0, 0, id.face_rx, id.face_ry), 0, id.skin, 1,
       [&](double u, double v) { return in_face(id, u, v); });
}

// A beard covers the face below a line through the upper lip that rises towards the ears, but never
// above the tip of the nose.
void draw_beard(Canvas& cv, const Placement& pl, const FaceIdentity& id) {
  if (!id.beard) return;
  Rgb colour = mix(id.hair, id.skin, 0.2);
  double highest = nose_tip(id) + 0.02;
  fill(cv, pl, ellipse_box(0, 0, id.face_rx, id.face_ry), 0.2, colour, 0.9, [&](double u, double v) {
    return in_face(id, u, v) && v >= highest && v >= id.mouth_y - 0.1 - 0.3 * sq(u / id.face_rx);
  });
}

// The fringe: hair over the forehead above the hairline
//   v < hairline_y + hair_peak * (1 - |u - hair_part| / (0.5 face_rx)) + 0.35 (u / face_rx)^2,
// where the peak term only counts near the parting and the last term lowers the temples.
void draw_hair_front(Canvas& cv, const Placement& pl, const FaceIdentity& id) {
  double rx = hair_rx(id), ry = hair_ry(id);
  auto hairline = [&](double u) {
    double near_part = std::max(0.0, 1 - std::abs(u - id.hair_part) / (0.5 * id.face_rx));
    return id.hairline_y + id.hair_peak * near_part + 0.35 * sq(u / id.face_rx);
  };
  fill(cv, pl, ellipse_box(0, kHairCentreV, rx, ry), 0.2, id.hair, 1, [&](double u, double v) {
    return v < hairline(u) && in_ellipse(u, v, 0, kHairCentreV, rx, ry);
  });
}

// Each eye: a dark rim, the white, the iris and the pupil (both clipped to the white).
void draw_eyes(Canvas& cv, const Placement& pl, const FaceIdentity& id) {
  const double depth = 0.6;
  for (double side : {-1.0, 1.0}) {
    double cu = side * id.eye_dx, cvv = id.eye_y;
    fill_ellipse(cv, pl, cu, cvv, id.eye_rx + 0.018, id.eye_ry + 0.018, depth, shade(id.skin, 0.45));
    fill_ellipse(cv, pl, cu, cvv, id.eye_rx, id.eye_ry, depth, Rgb{242, 242, 236});
    auto in_white = [&](double u, double v) { return in_ellipse(u, v, cu, cvv, id.eye_rx, id.eye_ry); };
    double pupil_r = id.iris_r * 0.45;
    fill(cv, pl, ellipse_box(cu, cvv, id.iris_r, id.iris_r), depth, id.iris, 1,
         [&](double u, double v) { return in_white(u, v) && in_ellipse(u, v, cu, cvv, id.iris_r, id.iris_r); });
    fill(cv, pl, ellipse_box(cu, cvv, pupil_r, pupil_r), depth, Rgb{18, 16, 16}, 1,
         [&](double u, double v) { return in_white(u, v) && in_ellipse(u, v, cu, cvv, pupil_r, pupil_r); });
  }
}

// Each eyebrow: a band along the curve v = base - arch (1 - t^2) - tilt * t * L/2 (t in [-1, 1]
// from the inner to the outer end, mirrored for the left brow), thickness tapering to 60 % at the ends.
void draw_brows(Canvas& cv, const Placement& pl, const FaceIdentity& id) {
  const double depth = 0.6, half_len = id.brow_len / 2, base = id.eye_y - id.brow_dy;
  Rgb colour = shade(id.hair, 0.7);
  for (double side : {-1.0, 1.0}) {
    double cu = side * id.eye_dx;
    double reach = half_len * (1 + std::abs(id.brow_tilt)) + id.brow_arch + id.brow_thick;
    fill(cv, pl, {cu - half_len, base - reach, cu + half_len, base + reach}, depth, colour, 1,
         [&](double u, double v) {
           double t = side * (u - cu) / half_len;  // -1 inner end, +1 outer end
           if (t < -1 || t > 1) return false;
           double centre = base - id.brow_arch * (1 - t * t) - id.brow_tilt * t * half_len;
           double half_thick = 0.5 * id.brow_thick * (1 - 0.4 * t * t);
           return std::abs(v - centre) <= half_thick;
         });
  }
}

// The nose: a shaded wedge down one side of the bridge, the rounded tip and two nostrils.
void draw_nose(Canvas& cv, const Placement& pl, const FaceIdentity& id) {
  const double depth = 1.0, top = nose_top(id), tip = nose_tip(id), half_w = id.nose_w / 2;
  fill(cv, pl, {0, top, half_w, tip}, depth, shade(id.skin, 0.72), 0.7, [&](double u, double v) {
    double t = (v - top) / (tip - top);  // 0 at the top, 1 at the tip: the wedge widens downwards
    return t >= 0 && t <= 1 && u >= 0 && u <= half_w * t;
  });
  fill_ellipse(cv, pl, 0, tip - 0.02, half_w, 0.05, depth, shade(id.skin, 0.9));
  for (double side : {-1.0, 1.0})
    fill_ellipse(cv, pl, side * id.nose_w * 0.28, tip + 0.012, id.nose_w * 0.17, 0.022, depth, shade(id.skin, 0.38));
}

// The mouth: lips around the curve v = mouth_y - curve * (u / W)^2 (curve > 0 lifts the corners: a
// smile), each lip as thick as lip_thick * (1 - (u / W)^2), and a dark line between them.
void draw_mouth(Canvas& cv, const Placement& pl, const FaceIdentity& id) {
  const double depth = 0.7, w = id.mouth_w / 2;
  auto line = [&](double u) { return id.mouth_y - id.mouth_curve * sq(u / w); };
  auto profile = [&](double u) { return 1 - sq(u / w); };
  Box box{-w, id.mouth_y - std::abs(id.mouth_curve) - id.lip_thick, w, id.mouth_y + std::abs(id.mouth_curve) + id.lip_thick};
  fill(cv, pl, box, depth, shade(id.lips, 0.88), 1, [&](double u, double v) {  // upper lip
    return std::abs(u) <= w && v <= line(u) && v >= line(u) - 0.8 * id.lip_thick * profile(u);
  });
  fill(cv, pl, box, depth, id.lips, 1, [&](double u, double v) {  // lower lip
    return std::abs(u) <= w && v >= line(u) && v <= line(u) + id.lip_thick * profile(u);
  });
  fill(cv, pl, box, depth, shade(id.lips, 0.4), 1,
       [&](double u, double v) { return std::abs(u) <= w && std::abs(v - line(u)) <= 0.011; });
}

void draw_mole(Canvas& cv, const Placement& pl, const FaceIdentity& id) {
  if (id.mole) fill_ellipse(cv, pl, id.mole_x, id.mole_y, 0.03, 0.03, 0.5, shade(id.skin, 0.4));
}

// Glasses: a tinted lens and a frame ring around each eye, the bridge and the arms to the ears.
void draw_glasses(Canvas& cv, const Placement& pl, const FaceIdentity& id) {
  if (!id.glasses) return;
  const double depth = 0.6, frame = 0.03;
  double rx = id.eye_rx * 1.6 + 0.04, ry = id.eye_ry * 2.0 + 0.06, cvv = id.eye_y + 0.01;
  for (double side : {-1.0, 1.0}) {
    double cu = side * id.eye_dx;
    fill_ellipse(cv, pl, cu, cvv, rx - frame, ry - frame, depth, Rgb{205, 225, 250}, 0.15);
    fill(cv, pl, ellipse_box(cu, cvv, rx, ry), depth, id.glasses_colour, 1, [&](double u, double v) {
      return in_ellipse(u, v, cu, cvv, rx, ry) && !in_ellipse(u, v, cu, cvv, rx - frame, ry - frame);
    });
  }
  double bridge = id.eye_dx - rx + frame / 2, bar_v = id.eye_y - 0.02;
  fill(cv, pl, {-bridge, bar_v - 0.015, bridge, bar_v + 0.015}, depth, id.glasses_colour, 1,
       [&](double u, double v) { return std::abs(u) <= bridge && std::abs(v - bar_v) <= 0.015; });
  double arm0 = id.eye_dx + rx - frame / 2, arm1 = id.face_rx + 0.02;
  for (double side : {-1.0, 1.0})
    fill(cv, pl, {std::min(side * arm0, side * arm1), bar_v - 0.014, std::max(side * arm0, side * arm1), bar_v + 0.014},
         depth, id.glasses_colour, 1, [&](double u, double v) {
           return side * u >= arm0 && side * u <= arm1 && std::abs(v - bar_v) <= 0.014;
         });
}

// ---- lighting: per pixel, after averaging the samples

// gain = 1 + strength * (projection of the pixel's offset from the face centre on the light
// direction, in half image sizes, clipped to [-1, 1]); then contrast around 128, brightness, noise.
void light_and_store(const Canvas& cv, const FacePose& pose, const Vec& centre, Image& img) {
  Rng noise(pose.noise_seed);
  double lx = cos_poly(pose.light_angle), ly = sin_poly(pose.light_angle);
  double half_size = 0.5 * double(std::min(img.width, img.height));
  for (int64_t y = 0; y < img.height; ++y) {
    for (int64_t x = 0; x < img.width; ++x) {
      Rgb sum;
      for (int sy = 0; sy < kSuper; ++sy) {
        for (int sx = 0; sx < kSuper; ++sx) {
          const Rgb& s = cv.samples[size_t((y * kSuper + sy) * cv.width + x * kSuper + sx)];
          sum = {sum.r + s.r, sum.g + s.g, sum.b + s.b};
        }
      }
      double toward = ((double(x) + 0.5 - centre.x) * lx + (double(y) + 0.5 - centre.y) * ly) / half_size;
      double gain = 1 + pose.light_strength * clamp(toward, -1, 1);
      double channels[3] = {sum.r, sum.g, sum.b};
      uint8_t* px = img.at(x, y);
      for (int c = 0; c < 3; ++c) {
        double value = channels[c] / double(kSuper * kSuper) * gain;
        value = (value - 128) * pose.contrast + 128 + pose.brightness + pose.noise_sigma * noise.normal();
        px[c] = uint8_t(clamp(std::floor(value + 0.5), 0, 255));  // round half up, explicitly
      }
    }
  }
}

// The identity's features in comparable units (each range mapped to about [0, 1], colours / 255),
// for the "no two people alike" rule of make_identities.
std::vector<double> feature_vector(const FaceIdentity& id) {
  return {id.skin.r / 255, id.skin.g / 255, id.skin.b / 255, id.hair.r / 255, id.hair.g / 255, id.hair.b / 255,
          id.iris.r / 255, id.iris.g / 255, id.iris.b / 255,
          id.face_rx / 0.18, id.face_ry / 0.13, id.jaw / 0.45, id.eye_dx / 0.12, id.eye_y / 0.16,
          id.eye_rx / 0.055, id.eye_ry / 0.03, id.brow_dy / 0.09, id.brow_len / 0.14, id.brow_thick / 0.045,
          id.brow_tilt / 0.7, id.nose_len / 0.16, id.nose_w / 0.08, id.mouth_w / 0.2, id.mouth_curve / 0.13,
          id.hairline_y / 0.36, id.hair_volume / 0.18, id.hair_sides / 1.1,
          id.glasses ? 1.0 : 0.0, id.beard ? 1.0 : 0.0};
}

void check_range(const char* name, double value, double lo, double hi) {
  FK_CHECK(std::isfinite(value) && value >= lo && value <= hi, "synthetic_faces: ", name, " must be in [", lo, ", ",
           hi, "], got ", value);
}

std::string zero_padded(int64_t value, int64_t digits) {
  std::string s = std::to_string(value);
  return std::string(size_t(std::max<int64_t>(0, digits - int64_t(s.size()))), '0') + s;
}
int64_t digits_of(int64_t n) { return int64_t(std::to_string(n).size()); }

}  // namespace

// ---- Rng

uint64_t Rng::next_u64() {
  state_ += 0x9e3779b97f4a7c15ULL;
  return mix64(state_);
}
double Rng::uniform() { return double(next_u64() >> 11) * 0x1.0p-53; }
double Rng::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
double Rng::symmetric(double half_width) { return uniform(-half_width, half_width); }
double Rng::normal() {
  // Irwin-Hall: the sum of 12 uniforms has mean 6 and variance 12 * 1/12 = 1; close enough to a
  // Gaussian for pixel noise, and it needs no log or sqrt.
  double sum = 0;
  for (int k = 0; k < 12; ++k) sum += uniform();
  return sum - 6;
}
bool Rng::chance(double p) { return uniform() < p; }

uint64_t hash_seed(std::initializer_list<uint64_t> parts) {
  uint64_t h = 0x6a09e667f3bcc909ULL;
  for (uint64_t p : parts) h = mix64(h ^ mix64(p + 0x9e3779b97f4a7c15ULL));
  return h;
}

// ---- random draws

FaceIdentity random_identity(Rng& rng) {
  static const Rgb hair_palette[] = {{25, 22, 22},   {62, 40, 26},    {108, 70, 40}, {150, 110, 68},
                                     {214, 184, 118}, {165, 74, 34},  {178, 176, 172}};
  static const Rgb iris_palette[] = {{58, 36, 20}, {110, 70, 35}, {68, 112, 175}, {72, 124, 78}, {122, 132, 142}};
  static const Rgb frame_palette[] = {{20, 20, 22}, {190, 150, 60}, {150, 30, 35}, {95, 60, 35}};
  FaceIdentity id;
  id.skin = jitter(rng, mix(Rgb{246, 214, 190}, Rgb{92, 60, 44}, rng.uniform()), 10);
  id.hair = jitter(rng, pick(rng, hair_palette), 12);
  id.iris = jitter(rng, pick(rng, iris_palette), 10);
  id.lips = mix(shade(id.skin, 0.85), Rgb{186, 78, 84}, rng.uniform(0.3, 0.7));
  id.face_rx = rng.uniform(0.66, 0.84);
  id.face_ry = rng.uniform(0.92, 1.05);
  id.jaw = rng.uniform(0.0, 0.45);
  id.ear_size = rng.uniform(0.8, 1.2);
  id.eye_dx = rng.uniform(0.27, 0.39);
  id.eye_y = rng.uniform(-0.18, -0.02);
  id.eye_rx = rng.uniform(0.09, 0.145);
  id.eye_ry = rng.uniform(0.045, 0.075);
  id.iris_r = id.eye_ry * rng.uniform(0.8, 1.1);
  id.brow_dy = rng.uniform(0.13, 0.22);
  id.brow_len = rng.uniform(0.2, 0.34);
  id.brow_thick = rng.uniform(0.025, 0.07);
  id.brow_tilt = rng.uniform(-0.35, 0.35);
  id.brow_arch = rng.uniform(0.0, 0.06);
  id.nose_len = rng.uniform(0.2, 0.36);
  id.nose_w = rng.uniform(0.09, 0.17);
  id.mouth_y = nose_tip(id) + rng.uniform(0.14, 0.24);  // below the nose whatever its length
  id.mouth_w = rng.uniform(0.22, 0.42);
  id.mouth_curve = rng.uniform(-0.05, 0.08);
  id.lip_thick = rng.uniform(0.035, 0.075);
  id.hairline_y = rng.uniform(-0.78, -0.42);
  id.hair_peak = rng.uniform(-0.12, 0.15);
  id.hair_part = rng.uniform(-0.3, 0.3);
  id.hair_volume = rng.uniform(0.04, 0.22);
  id.hair_sides = rng.uniform(-0.35, 0.75);
  id.glasses = rng.chance(0.3);
  id.glasses_colour = pick(rng, frame_palette);
  id.mole = rng.chance(0.35);
  double mole_side = rng.chance(0.5) ? 1.0 : -1.0;
  id.mole_x = mole_side * rng.uniform(0.25, 0.5);
  id.mole_y = rng.uniform(0.05, 0.4);
  id.beard = rng.chance(0.2);
  return id;
}

FacePose random_pose(Rng& rng, double pose_noise, double light_noise) {
  // Every value is drawn whatever the noise levels, so the stream stays aligned between them.
  FacePose p;
  p.angle_deg = rng.symmetric(10) * pose_noise;
  p.scale = 1 + rng.symmetric(0.08) * pose_noise;
  p.shift_x = rng.symmetric(4.0 / 112) * pose_noise;
  p.shift_y = rng.symmetric(4.0 / 112) * pose_noise;
  p.yaw = rng.symmetric(0.08) * pose_noise;
  p.light_angle = rng.uniform(0, 2 * kPi);
  p.light_strength = rng.uniform(0, 0.35) * light_noise;
  p.brightness = rng.symmetric(25) * light_noise;
  p.contrast = 1 + rng.symmetric(0.2) * light_noise;
  p.noise_sigma = rng.uniform(2, 6) * light_noise;
  double bg_amount = 0.8 * std::min(1.0, light_noise);  // never fully saturated colours
  Rgb grey{128, 128, 128};
  p.background = mix(grey, random_colour(rng), bg_amount);
  Rgb second = random_colour(rng);
  p.background2 = mix(p.background, second, bg_amount * rng.uniform(0, 0.6));
  double stripe_angle = rng.uniform(0, kPi);
  double period = rng.uniform(8, 40);  // pixels, at 112
  p.bg_freq_x = 2 * kPi / period * cos_poly(stripe_angle);
  p.bg_freq_y = 2 * kPi / period * sin_poly(stripe_angle);
  p.bg_phase = rng.uniform(0, 2 * kPi);
  p.noise_seed = rng.next_u64();
  return p;
}

// ---- rendering

Image render_face(const FaceIdentity& id, const FacePose& pose, int64_t width, int64_t height) {
  FK_CHECK(width > 0 && height > 0, "render_face: image size must be positive, got ", width, "x", height);
  Canvas cv;
  cv.width = width * kSuper;
  cv.height = height * kSuper;
  cv.samples.resize(size_t(cv.width * cv.height));
  // Pixel sizes are for a 112-pixel image; the stripes and the face scale with the image.
  double size = double(std::min(width, height));
  FacePose scaled = pose;
  scaled.bg_freq_x = pose.bg_freq_x * 112 / size;
  scaled.bg_freq_y = pose.bg_freq_y * 112 / size;
  Vec centre{double(width) * (0.5 + pose.shift_x), double(height) * (0.53 + pose.shift_y)};  // pixels
  double angle = pose.angle_deg * kPi / 180;
  Placement pl{centre.x * kSuper, centre.y * kSuper, 0.36 * size * pose.scale * kSuper, cos_poly(angle),
               sin_poly(angle), pose.yaw};

  draw_background(cv, scaled);
  draw_neck(cv, pl, id);
  draw_hair_back(cv, pl, id);
  draw_ears(cv, pl, id);
  draw_face_shape(cv, pl, id);
  draw_beard(cv, pl, id);
  draw_hair_front(cv, pl, id);
  draw_eyes(cv, pl, id);
  draw_brows(cv, pl, id);
  draw_nose(cv, pl, id);
  draw_mouth(cv, pl, id);
  draw_mole(cv, pl, id);
  draw_glasses(cv, pl, id);

  Image img(width, height);
  light_and_store(cv, pose, centre, img);
  return img;
}

// ---- the dataset

std::vector<FaceIdentity> make_identities(uint64_t seed, int64_t n) {
  // A redraw happens when a new identity's squared feature distance to an earlier one is below this
  // (two random draws are typically about 5 apart in these units).
  const double min_distance2 = 1.0;
  Rng rng(hash_seed({seed, 0x1d}));
  std::vector<FaceIdentity> ids;
  std::vector<std::vector<double>> features;
  for (int64_t i = 0; i < n; ++i) {
    FaceIdentity candidate;
    std::vector<double> f;
    for (int attempt = 0; attempt < 100; ++attempt) {
      candidate = random_identity(rng);
      f = feature_vector(candidate);
      double nearest = 1e300;
      for (const auto& g : features) {
        double d2 = 0;
        for (size_t k = 0; k < f.size(); ++k) d2 += sq(f[k] - g[k]);
        nearest = std::min(nearest, d2);
      }
      if (nearest >= min_distance2) break;
    }
    ids.push_back(candidate);
    features.push_back(f);
  }
  return ids;
}

FacePose image_pose(const SyntheticFaceOptions& opts, int64_t identity, int64_t image) {
  Rng rng(hash_seed({opts.seed, 0x1e, uint64_t(identity), uint64_t(image)}));
  return random_pose(rng, opts.pose_noise, opts.light_noise);
}

Image render_sample(const SyntheticFaceOptions& opts, const std::vector<FaceIdentity>& ids, int64_t identity,
                    int64_t image) {
  FK_CHECK(identity >= 0 && identity < int64_t(ids.size()), "render_sample: identity ", identity, " out of range [0, ",
           ids.size(), ")");
  return render_face(ids[size_t(identity)], image_pose(opts, identity, image), opts.width, opts.height);
}

int64_t val_images_per_identity(const SyntheticFaceOptions& opts) {
  int64_t n = opts.images_per_identity;
  int64_t v = int64_t(std::floor(double(n) * opts.val_fraction + 0.5));
  return std::clamp<int64_t>(v, 1, n - 1);
}

void check_options(const SyntheticFaceOptions& opts) {
  FK_CHECK(opts.identities >= 2 && opts.identities <= 1000,
           "synthetic_faces: identities must be in [2, 1000], got ", opts.identities);
  FK_CHECK(opts.images_per_identity >= 2 && opts.images_per_identity <= 10000,
           "synthetic_faces: images per identity must be in [2, 10000] (train and val need one each), got ",
           opts.images_per_identity);
  FK_CHECK(opts.width >= 32 && opts.width <= 1024 && opts.height >= 32 && opts.height <= 1024,
           "synthetic_faces: image size must be within 32..1024 on each side, got ", opts.width, "x", opts.height);
  check_range("pose noise", opts.pose_noise, 0, 4);
  check_range("light noise", opts.light_noise, 0, 4);
  FK_CHECK(std::isfinite(opts.val_fraction) && opts.val_fraction > 0 && opts.val_fraction < 1,
           "synthetic_faces: val fraction must be in (0, 1), got ", opts.val_fraction);
}

SyntheticFaceSummary write_synthetic_faces(const std::string& out_dir, const SyntheticFaceOptions& opts,
                                           const std::function<void(int64_t, int64_t)>& progress) {
  namespace fs = std::filesystem;
  check_options(opts);
  FK_CHECK(!out_dir.empty(), "synthetic_faces: the output folder name is empty");
  for (const char* split : {"train", "val"}) {
    fs::path p = fs::path(out_dir) / split;
    FK_CHECK(!fs::exists(p), p.string(), ": already exists; remove it or pick another output folder");
  }
  std::vector<FaceIdentity> ids = make_identities(opts.seed, opts.identities);
  const int64_t n = opts.images_per_identity, n_train = n - val_images_per_identity(opts);
  const int64_t id_digits = std::max<int64_t>(2, digits_of(opts.identities - 1));
  const int64_t image_digits = std::max<int64_t>(3, digits_of(n - 1));
  SyntheticFaceSummary summary;
  summary.identities = opts.identities;
  for (int64_t i = 0; i < opts.identities; ++i) {
    std::string class_name = "id_" + zero_padded(i, id_digits);
    for (const char* split : {"train", "val"}) fs::create_directories(fs::path(out_dir) / split / class_name);
    for (int64_t k = 0; k < n; ++k) {
      bool val = k >= n_train;
      fs::path file = fs::path(out_dir) / (val ? "val" : "train") / class_name / (zero_padded(k, image_digits) + ".png");
      write_png(file.string(), render_sample(opts, ids, i, k));
      (val ? summary.val_images : summary.train_images) += 1;
      if (progress) progress(i * n + k + 1, opts.identities * n);
    }
  }
  return summary;
}

}  // namespace fk::data::synth
