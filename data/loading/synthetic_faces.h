// Synthetic faces: a procedural generator of small face-like datasets, used to test that `facekit
// train` learns (its accuracy test reaches a set validation accuracy). An identity is a fixed face geometry and appearance (skin tone, face
// ellipse and jaw, ears, eyes and iris colour, eyebrow shape and tilt, nose, mouth and its curve,
// hair colour, volume and hairline, optional glasses, mole and beard). Each image draws that face
// under its own pose (in-plane rotation, scale, shift, a slight yaw that slides the inner features)
// and lighting (gradient, brightness, contrast, background colour and texture, pixel noise).
// Rendering is 3x3 supersampled filled shapes in plain double arithmetic, with a private splitmix64
// generator and no libm calls (sin/cos are polynomials here), so one seed gives byte-identical PNGs
// on any machine. Layout written: out_dir/{train,val}/id_XX/NNN.png (torchvision's ImageFolder).
// Tests: tests/data/loading/test_synthetic_faces.cpp; command: apps/synth.cpp (`facekit synth-faces`).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "data/image/image.h"

namespace fk::data::synth {

// splitmix64 (Steele, Lea, Flood 2014), kept private to this generator so its streams never change
// when other parts of facekit change theirs.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next_u64();
  double uniform();                      // [0, 1), 53 random bits
  double uniform(double lo, double hi);  // lo + (hi - lo) * uniform()
  double symmetric(double half_width);   // uniform in [-half_width, half_width)
  double normal();                       // ~N(0, 1): Irwin-Hall, sum of 12 uniforms minus 6
  bool chance(double p);                 // uniform() < p

 private:
  uint64_t state_;
};

// A seed from several numbers (splitmix64's mix folded over them; order matters).
uint64_t hash_seed(std::initializer_list<uint64_t> parts);

struct Rgb {
  double r = 0, g = 0, b = 0;  // 0..255
};

// One person. Lengths are in face units: the face ellipse's centre is the origin, y points down, and
// the nominal half-height of the face is 1 (a 112-pixel image puts 1 unit at about 40 pixels).
struct FaceIdentity {
  Rgb skin, hair, iris, lips;
  double face_rx = 0.75, face_ry = 1.0;  // face ellipse half-width, half-height
  double jaw = 0.3;                      // how much the lower half narrows towards the chin (0..0.5)
  double ear_size = 1.0;
  double eye_dx = 0.33, eye_y = -0.1;    // eye centres at (+-eye_dx, eye_y)
  double eye_rx = 0.12, eye_ry = 0.06;   // eye white half-axes
  double iris_r = 0.05;
  double brow_dy = 0.17, brow_len = 0.3, brow_thick = 0.05, brow_tilt = 0.0, brow_arch = 0.03;
  double nose_len = 0.28, nose_w = 0.12;
  double mouth_y = 0.52, mouth_w = 0.32, mouth_curve = 0.03, lip_thick = 0.06;
  double hairline_y = -0.55;  // where the fringe ends at the centre
  double hair_peak = 0.0;     // > 0: widow's peak (lower in the middle), < 0: rounded
  double hair_part = 0.0;     // sideways shift of the hairline's peak
  double hair_volume = 0.12;  // how far the hair stands out of the face outline
  double hair_sides = 0.0;    // how far down the sides the hair reaches (face units)
  bool glasses = false;
  Rgb glasses_colour;
  bool mole = false;
  double mole_x = 0.0, mole_y = 0.0;
  bool beard = false;
};

// One photograph of a person: where the face sits and how it is lit.
struct FacePose {
  double angle_deg = 0;               // in-plane rotation, counter-clockwise on screen
  double scale = 1;                   // 1 = face half-height 0.36 * min(width, height)
  double shift_x = 0, shift_y = 0;    // face centre offset as a fraction of the width / height
  double yaw = 0;                     // slides the inner features sideways (face units at depth 1)
  double light_angle = 0;             // direction the light comes from (radians)
  double light_strength = 0;          // brightness gain varies by +-light_strength across the face
  double brightness = 0;              // added after contrast, 0..255 scale
  double contrast = 1;                // scales around mid-grey 128
  double noise_sigma = 0;             // Gaussian pixel noise standard deviation, 0..255 scale
  Rgb background{128, 128, 128}, background2{128, 128, 128};  // the texture blends the two
  double bg_freq_x = 0, bg_freq_y = 0, bg_phase = 0;           // background stripes (radians/pixel)
  uint64_t noise_seed = 0;            // seeds the pixel noise, so rendering is a pure function
};

struct SyntheticFaceOptions {
  int64_t identities = 12;
  int64_t images_per_identity = 40;
  int64_t width = 112, height = 112;
  uint64_t seed = 0;
  double pose_noise = 1.0;   // 1: rotation +-10 deg, scale +-8 %, shift +-4 px at 112, yaw +-0.08
  double light_noise = 1.0;  // 1: gradient up to 35 %, brightness +-25, contrast +-20 %, noise 4,
                             //    random background; 0: flat mid-grey light and background
  double val_fraction = 0.25;  // the last round(n * val_fraction) images of each identity go to val
};

// Draws one identity: every feature uniformly within its range, colours from small palettes.
FaceIdentity random_identity(Rng& rng);
// Draws one image's pose and lighting; pose_noise and light_noise scale every random deviation
// (0 gives the canonical upright face in flat grey light).
FacePose random_pose(Rng& rng, double pose_noise, double light_noise);
// Renders the face on a width x height RGB image (3x3 supersampled, then lighting and noise).
Image render_face(const FaceIdentity& id, const FacePose& pose, int64_t width, int64_t height);

// The first n identities of a seed. Identities are drawn one after another and a draw too close to
// an earlier one (in normalised feature space) is redrawn, so no two people look alike; identity i
// does not depend on n.
std::vector<FaceIdentity> make_identities(uint64_t seed, int64_t n);
// The pose of image `image` of identity `identity` (its own seed from (seed, identity, image)).
FacePose image_pose(const SyntheticFaceOptions& opts, int64_t identity, int64_t image);
// Image `image` of identity `identity` as write_synthetic_faces writes it (`ids` from make_identities).
Image render_sample(const SyntheticFaceOptions& opts, const std::vector<FaceIdentity>& ids, int64_t identity,
                    int64_t image);
// How many of an identity's images go to val: round(images_per_identity * val_fraction), at least 1
// and at most images_per_identity - 1. Image k goes to val when k >= images_per_identity - that.
int64_t val_images_per_identity(const SyntheticFaceOptions& opts);

// Throws fk::Error naming the first bad option: identities 2..1000, images_per_identity 2..10000,
// width and height 32..1024, noises finite in [0, 4], val_fraction in (0, 1).
void check_options(const SyntheticFaceOptions& opts);

struct SyntheticFaceSummary {
  int64_t identities = 0, train_images = 0, val_images = 0;
};
// Writes out_dir/train/id_XX/NNN.png and out_dir/val/id_XX/NNN.png (XX and NNN zero-padded, at least
// 2 and 3 digits; NNN is the image index within the identity, so names are unique across splits).
// Refuses (fk::Error) an out_dir whose train/ or val/ already exists, so stale files never mix in.
// `progress`, when given, is called after each image with (images done, total).
SyntheticFaceSummary write_synthetic_faces(const std::string& out_dir, const SyntheticFaceOptions& opts,
                                           const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace fk::data::synth
