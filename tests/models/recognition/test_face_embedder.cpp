// The recognition front end (models/recognition/face_embedder.h): per-architecture preprocessing, the input
// tensor of a crop, crops of a detected face for every template, and the Embedder on the real
// MobileFaceNet checkpoint (../shared/data/weights/mobilefacenet_casia, skipped when absent) against
// the PyTorch embeddings of tests/fixtures/mobilefacenet (make_inception_mobilefacenet.py).
#include <cmath>
#include <filesystem>

#include "autograd/node.h"
#include "data/image/align.h"
#include "models/recognition/face_embedder.h"
#include "models/model_case.h"
#include "test_util.h"

using namespace fk;

namespace {

const std::string kCkpt = std::string(FK_SHARED_DATA_DIR) + "/weights/mobilefacenet_casia/068.ckpt";

// The LFW crops behind tests/fixtures/mobilefacenet/det/input.npy, back as images: the tensor holds
// (pixel - 127.5) / 128 of 8-bit pixels, so this is exact.
std::vector<data::Image> fixture_crops() {
  Tensor x = test::fixture("mobilefacenet/det/input.npy");  // (3, 3, 112, 96)
  std::vector<data::Image> out;
  for (int64_t n = 0; n < x.size(0); ++n) out.push_back(data::tensor_to_image(add(mul(select(x, 0, n), 128.0), 127.5)));
  return out;
}

models::mtcnn::Face face_at(float x1, float y1, float x2, float y2) {
  models::mtcnn::Face f;
  f.box = {x1, y1, x2, y2};
  // landmarks exactly where the SphereFace template puts them, for a 96x112 face at (x1, y1) scaled 2x
  for (size_t k = 0; k < 5; ++k)
    f.landmarks[k] = {float(x1 + 2 * data::sphereface_96x112.points[k].x),
                      float(y1 + 2 * data::sphereface_96x112.points[k].y)};
  return f;
}

}  // namespace

TEST_CASE("face embedder: each architecture's crop and normalisation") {
  models::FacePreprocess m = models::default_preprocess("mobilefacenet");
  CHECK(m.crop == "sphereface");
  CHECK(m.width == 96);
  CHECK(m.height == 112);
  CHECK(m.describe() == "sphereface 96x112, RGB, (x - 127.5) / 128");
  CHECK(models::default_preprocess("ir_se_50").describe() == "arcface 112x112, RGB, (x - 127.5) / 128");
  CHECK(models::default_preprocess("iresnet50").describe() == "arcface 112x112, RGB, (x - 127.5) / 127.5");
  CHECK(models::default_preprocess("inception_resnet_v1").describe() == "facenet 160x160 margin 0, RGB, (x - 127.5) / 128");
  CHECK(models::default_preprocess("resnet50_vggface2").describe() ==
        "vggface2 224x224, BGR, (x - (91.4953, 103.8827, 131.0912)) / (1, 1, 1)");
  CHECK_THROWS_WITH_AS(models::default_preprocess("pnet"), doctest::Contains("does not produce a face embedding"), Error);
  CHECK_THROWS_WITH(models::default_preprocess("nope"), doctest::Contains("unknown architecture 'nope'"));
  CHECK(models::with_crop(m, "arcface").crop == "arcface");
  CHECK_THROWS_WITH_AS(models::with_crop(m, "facenet"), doctest::Contains("the facenet crop is square"), Error);
  CHECK_THROWS_WITH_AS(models::with_crop(m, "tight"), doctest::Contains("unknown face crop 'tight'"), Error);
}

TEST_CASE("face embedder: face_tensor is the PyTorch input, channels reversed for BGR nets") {
  std::vector<data::Image> crops = fixture_crops();
  Tensor x = test::fixture("mobilefacenet/det/input.npy");
  models::FacePreprocess p = models::default_preprocess("mobilefacenet");
  for (int64_t n = 0; n < 3; ++n)
    CHECK_CLOSE(models::face_tensor(crops[size_t(n)], p), select(x, 0, n), 0, 0, "crop " + std::to_string(n));

  data::Image px(1, 1);
  px.at(0, 0)[0] = 200, px.at(0, 0)[1] = 100, px.at(0, 0)[2] = 50;
  models::FacePreprocess v = models::default_preprocess("resnet50_vggface2");
  v.width = v.height = 1;
  // BGR minus the BGR means
  CHECK_CLOSE(models::face_tensor(px, v), tensor({50 - 91.4953f, 100 - 103.8827f, 200 - 131.0912f}, {3, 1, 1}), 1e-5, 0,
              "vggface2 pixel");
  // a crop of another size is resized to the input first
  CHECK(models::face_tensor(px, p).shape() == Shape{3, 112, 96});
}

TEST_CASE("face embedder: crops of a detected face for every template") {
  data::Image img(400, 300);
  for (int64_t y = 0; y < 300; ++y)
    for (int64_t x = 0; x < 400; ++x) img.at(x, y)[0] = uint8_t(x % 256), img.at(x, y)[1] = uint8_t(y % 256);
  models::mtcnn::Face f = face_at(100, 50, 292, 274);  // a 192x224 face whose landmarks sit on the template
  models::FacePreprocess p = models::default_preprocess("mobilefacenet");
  data::Image c = models::crop_face(img, f, p);
  CHECK(c.width == 96);
  CHECK(c.height == 112);
  // the landmarks lie exactly on the template scaled 2x, so the crop is a plain 2x downscale:
  // crop pixel (x, y) samples the image at (100 + 2x + 0.5, 50 + 2y + 0.5): red = x-coordinate
  CHECK(std::abs(int(c.at(10, 20)[0]) - (100 + 20)) <= 1);
  CHECK(std::abs(int(c.at(10, 20)[1]) - (50 + 40)) <= 1);
  CHECK(models::crop_face(img, f, models::default_preprocess("ir_50")).width == 112);
  data::Image fn = models::crop_face(img, f, models::default_preprocess("inception_resnet_v1"));
  CHECK(fn == data::extract_face(img, f.box, 160, 0));
  // vggface2: box plus 15 % each side = x 71..321, y 17..308 (291 px high, partly outside: black), the
  // shorter side (251 wide) to 224, centre crop
  data::Image v = models::crop_face(img, f, models::default_preprocess("resnet50_vggface2"));
  CHECK(v.width == 224);
  CHECK(v.height == 224);
}

TEST_CASE("face embedder: MobileFaceNet 068.ckpt embeddings equal PyTorch's, flip modes") {
  if (!std::filesystem::exists(kCkpt)) {
    FK_SKIP(kCkpt << " not found (the shared data folder is absent)");
  }
  std::vector<data::Image> crops = fixture_crops();
  models::EmbedderOptions o;
  o.arch = "mobilefacenet", o.weights = kCkpt, o.weights_key = "net_state_dict", o.batch_size = 2;
  models::Embedder plain(o);
  CHECK(plain.meta().arch == "mobilefacenet");
  CHECK(plain.meta().weights_sha256 == "e839247cdbdfc023fb7cadeaf53a4549d50c8fc24ad154c02e35920ea8910d99");
  CHECK(plain.meta().flip == "none");
  Tensor e = plain.embed(crops);  // batches of 2 and 1
  REQUIRE(e.shape() == Shape{3, 128});
  Tensor want = normalize(test::fixture("mobilefacenet/embeddings_068.npy"), 1);
  CHECK_SCALED(e, want, 1e-4, "normalised 068.ckpt embeddings");

  // flip: the mirror images through the same model, concatenated or summed, then normalised
  Tensor mirrored;
  {
    autograd::NoGrad ng;
    std::vector<Tensor> xs;
    for (const auto& c : crops) xs.push_back(models::face_tensor(models::mirror(c), plain.preprocess()));
    mirrored = plain.model().forward(stack(xs, 0));
  }
  Tensor raw = test::fixture("mobilefacenet/embeddings_068.npy");
  o.flip = "concat";
  Tensor ec = models::Embedder(o).embed(crops);
  REQUIRE(ec.shape() == Shape{3, 256});
  CHECK_SCALED(ec, normalize(cat({raw, mirrored}, 1), 1), 1e-4, "flip concat");
  o.flip = "sum";
  CHECK_SCALED(models::Embedder(o).embed(crops), normalize(add(raw, mirrored), 1), 1e-4, "flip sum");
  // same person (crops 0, 1) closer than different people, with the mirror too
  auto cosine = [&](int64_t i, int64_t j) { return sum(mul(select(ec, 0, i), select(ec, 0, j))).item(); };
  CHECK(cosine(0, 1) > cosine(0, 2) + 0.3);
  CHECK(cosine(0, 1) > cosine(1, 2) + 0.3);

  o.flip = "twice";
  CHECK_THROWS_WITH_AS(models::Embedder{o}, doctest::Contains("unknown flip mode 'twice'"), Error);
}

TEST_CASE("face embedder: weights that do not fit name the file") {
  if (!std::filesystem::exists(kCkpt)) {
    FK_SKIP(kCkpt << " not found (the shared data folder is absent)");
  }
  CHECK_THROWS_WITH_AS(models::load_model("ir_50", kCkpt, "net_state_dict"),
                       doctest::Contains((kCkpt + ": weights do not fit ir_50").c_str()), Error);
  CHECK_THROWS_WITH(models::load_model("mobilefacenet", kCkpt, "state"), doctest::Contains("no weights under key 'state'"));
}
