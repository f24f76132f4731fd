// Galleries (models/recognition/gallery.h) and what they are made of: numpy string arrays (data/formats/npy.h, checked
// against numpy-written fixtures from tests/fixtures/make_gallery.py), SHA-256 fingerprints
// (data/formats/sha256.h), the .npz round trip, the compatibility check and cosine scores.
#include <cmath>
#include <filesystem>
#include <fstream>

#include "data/formats/files.h"
#include "data/formats/npy.h"
#include "data/formats/weights.h"
#include "data/formats/sha256.h"
#include "data/formats/zip.h"
#include "models/recognition/gallery.h"
#include "test_util.h"

using namespace fk;
namespace fs = std::filesystem;

namespace {

fs::path scratch_file(const std::string& name) {
  return fs::temp_directory_path() / ("facekit_test_" + std::to_string(::getpid()) + "_" + name);
}

models::Gallery small_gallery() {
  models::Gallery g;
  g.embeddings = tensor({1, 0, 0, 0.6, 0.8, 0, 0, 0, 1}, {3, 3}, DType::Float32);
  g.labels = {"obama", "Zoë", "obama"};
  g.paths = {"a/obama/1.jpg", "a/Zoë/1.jpg", "a/obama/2.jpg"};
  g.meta = {"mobilefacenet", std::string(64, 'a'), "sphereface", "sphereface 96x112, RGB, (x - 127.5) / 128", "concat"};
  return g;
}

}  // namespace

TEST_CASE("npy strings: numpy's '<U' arrays read back as UTF-8") {
  std::string bytes = data::read_file(test::fixture_path("gallery/strings.npy"));
  CHECK(data::npy_holds_strings(bytes, "strings.npy"));
  CHECK(data::parse_npy_strings(bytes, "strings.npy") ==
        std::vector<std::string>{"obama", "Zoë Saldaña", "日本", ""});
  std::string scalar = data::read_file(test::fixture_path("gallery/scalar.npy"));
  CHECK(data::parse_npy_strings(scalar, "scalar.npy") == std::vector<std::string>{"ir_50"});
  // numpy's own bytes for the same arrays: our encoder writes what numpy writes, up to the header's
  // shape spelling ("(4, )" vs "(4,)"), so compare the decoded values and the data bytes
  std::string mine = data::encode_npy_strings({"obama", "Zoë Saldaña", "日本", ""});
  CHECK(mine.substr(mine.size() - 4 * 4 * 11) == bytes.substr(bytes.size() - 4 * 4 * 11));
  CHECK(data::parse_npy_strings(data::encode_npy_strings({"ir_50"}, true), "x") == std::vector<std::string>{"ir_50"});
}

TEST_CASE("npy strings: other dtypes and damaged arrays are refused with a message") {
  std::string bytes = data::read_file(test::fixture_path("gallery/bytes.npy"));
  CHECK_FALSE(data::npy_holds_strings(bytes, "bytes.npy"));
  CHECK_THROWS_WITH_AS(data::parse_npy_strings(bytes, "bytes.npy"), doctest::Contains("expected a numpy string array"),
                       Error);
  std::string good = data::encode_npy_strings({"abc", "de"});
  CHECK_THROWS_WITH_AS(data::parse_npy_strings(good.substr(0, good.size() - 1), "cut.npy"),
                       doctest::Contains("cut.npy: .npy data is"), Error);
  // a float array is not a string array
  CHECK_THROWS_AS(data::parse_npy_strings(data::encode_npy(tensor({1.0f})), "f.npy"), Error);
  // invalid UTF-8 survives as Latin-1 code points instead of throwing
  auto back = data::parse_npy_strings(data::encode_npy_strings({std::string("a\xff") + "b"}), "x");
  CHECK(back[0] == "a\xc3\xbf" "b");
}

TEST_CASE("sha256: FIPS 180-4 examples and a file read in chunks") {
  CHECK(data::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(data::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(data::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // one million 'a': crosses many 64-byte blocks and the 1 MiB read buffer of sha256_file
  std::string million(1000000, 'a');
  CHECK(data::sha256_hex(million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  fs::path p = scratch_file("sha.bin");
  std::string two_mib = std::string(1 << 20, 'a') + std::string(1 << 20, 'b') + "tail";
  { std::ofstream(p, std::ios::binary) << two_mib; }
  CHECK(data::sha256_file(p.string()) == data::sha256_hex(two_mib));
  fs::remove(p);
  CHECK_THROWS_WITH_AS(data::sha256_file(p.string()), doctest::Contains((p.string() + ": cannot open").c_str()), Error);
}

TEST_CASE("gallery: save and load round trip, identities, cosine scores") {
  models::Gallery g = small_gallery();
  fs::path p = scratch_file("gallery.npz");
  models::save_gallery(p.string(), g);
  models::Gallery back = models::load_gallery(p.string());
  CHECK_CLOSE(back.embeddings, g.embeddings, 0, 0, "embeddings");
  CHECK(back.labels == g.labels);
  CHECK(back.paths == g.paths);
  CHECK(back.meta == g.meta);
  CHECK(back.identities() == std::vector<std::string>{"Zoë", "obama"});
  Tensor q = tensor({0.6f, 0.8f, 0.0f}, {1, 3});
  CHECK_CLOSE(models::cosine_scores(q, back.embeddings), tensor({0.6f, 1.0f, 0.0f}, {1, 3}), 1e-6, 0, "scores");
  CHECK_THROWS_WITH_AS(models::cosine_scores(tensor({1.0f, 0.0f}, {1, 2}), back.embeddings),
                       doctest::Contains("embedding sizes differ"), Error);
  fs::remove(p);
}

TEST_CASE("gallery: a query made differently is refused, naming what differs") {
  models::Gallery g = small_gallery();
  models::GalleryMeta q = g.meta;
  CHECK_NOTHROW(models::check_compatible(g, q, "g.npz"));
  q.flip = "none";
  q.weights_sha256 = std::string(64, 'b');
  try {
    models::check_compatible(g, q, "g.npz");
    FAIL("a query with other weights and flip was accepted");
  } catch (const Error& e) {
    std::string m = e.what();
    CHECK_MESSAGE(m.find("g.npz was made with other settings than this query") != std::string::npos, m);
    CHECK_MESSAGE(m.find("weights_sha256") != std::string::npos, m);
    CHECK_MESSAGE(m.find("flip: gallery 'concat', query 'none'") != std::string::npos, m);
    CHECK_MESSAGE(m.find("arch") == std::string::npos, m);
  }
}

TEST_CASE("gallery: files that are not galleries, or inconsistent ones, get one-line errors") {
  fs::path p = scratch_file("notgallery.npz");
  data::write_npz(p.string(), [] {
    StateDict sd;
    sd.set("embeddings", tensor({1.0f, 2.0f}, {1, 2}));
    return sd;
  }());
  CHECK_THROWS_WITH_AS(models::load_gallery(p.string()), doctest::Contains("not a facekit gallery (no 'labels'"), Error);
  models::Gallery g = small_gallery();
  g.labels.pop_back();
  CHECK_THROWS_WITH_AS(models::save_gallery(p.string(), g), doctest::Contains("gallery sizes disagree"), Error);
  // labels of another length than the embeddings, written by hand
  data::ZipWriter zip;
  zip.add("embeddings.npy", data::encode_npy(tensor({1.0f, 2.0f}, {1, 2})));
  zip.add("labels.npy", data::encode_npy_strings({"a", "b"}));
  zip.add("paths.npy", data::encode_npy_strings({"a", "b"}));
  for (const char* m : {"arch", "weights_sha256", "crop", "preprocessing", "flip"})
    zip.add(std::string(m) + ".npy", data::encode_npy_strings({"x"}, true));
  data::write_file_atomic(p.string(), zip.finish());
  CHECK_THROWS_WITH_AS(models::load_gallery(p.string()), doctest::Contains("1 embeddings but 2 labels"), Error);
  fs::remove(p);
}

TEST_CASE("gallery: identities ranked by their nearest image or by their centroid") {
  models::Gallery g;
  // obama: two images at 0 and 90 degrees; biden: one at 30 degrees (unit vectors in the plane)
  const double c30 = std::sqrt(3.0) / 2;
  g.embeddings = tensor({1.0f, 0.0f, 0.0f, 1.0f, float(c30), 0.5f}, {3, 2});
  g.labels = {"obama", "obama", "biden"};
  g.paths = {"o1", "o2", "b1"};
  Tensor q = tensor({1.0f, 0.0f, 0.0f, 1.0f}, {2, 2});  // along image o1, then along o2
  auto nearest = models::rank_identities(g, q);
  REQUIRE(nearest.size() == 2);
  REQUIRE(nearest[0].size() == 2);
  CHECK(nearest[0][0].identity == "obama");
  CHECK(nearest[0][0].score == doctest::Approx(1.0));
  CHECK(nearest[0][0].row == 0);
  CHECK(nearest[0][1].identity == "biden");
  CHECK(nearest[0][1].score == doctest::Approx(c30));
  CHECK(nearest[1][0].row == 1);
  // obama's centroid points at 45 degrees: cos 45 = 0.707 < cos 30 for the first query, so biden wins
  auto centroid = models::rank_identities(g, q, "centroid");
  CHECK(centroid[0][0].identity == "biden");
  CHECK(centroid[0][1].score == doctest::Approx(std::sqrt(0.5)));
  CHECK(centroid[0][1].row == -1);
  CHECK_THROWS_WITH_AS(models::rank_identities(g, q, "farthest"), doctest::Contains("unknown match rule"), Error);
}
