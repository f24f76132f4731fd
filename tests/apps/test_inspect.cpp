// `facekit inspect`: --help, the listing (format, keys in order with dtype and shape, parameter count) of
// a facekit-written checkpoint, a PyTorch-written one and a numpy .npz, --json, and a missing file
// (exit 1, "facekit: <path>: ...").
#include <nlohmann/json.hpp>
#include <string>

#include "test_util.h"

namespace {

using Run = fk::test::CliRun;
Run run(const std::string& args) { return fk::test::run_cli(args); }

using fk::test::has;

}  // namespace

TEST_CASE("inspect: --help names the file argument and --json") {
  Run r = run("inspect --help");
  CHECK_MESSAGE(r.code == 0, r.out);
  CHECK(has(r.out, "--json"));
  CHECK(has(r.out, "file"));
  CHECK(run("inspect").code == 2);  // the file is required: usage error
}

TEST_CASE("inspect: lists format, keys with dtype and shape, and the parameter count") {
  std::string pt = fk::test::fixture_path("weights_out/facekit_written.pt");
  Run r = run("inspect " + pt);
  REQUIRE_MESSAGE(r.code == 0, r.out);
  // floating tensors: f32 1+5+24+6+0, f64 1+4+6, f16 1+5+12, bf16 24, f32_2d x3 = 12*3 -> 125
  CHECK_MESSAGE(has(r.out, pt + ": torch-zip, 24 tensors, 125 parameters"), r.out);
  CHECK(has(r.out, "f32_4d"));
  CHECK(has(r.out, "[2, 3, 2, 2]"));
  CHECK(has(r.out, "bfloat16"));
  CHECK(has(r.out, "[4, 3]"));  // the transposed view
  CHECK(r.out.find("f32_0d") < r.out.find("bool_4d"));  // file order

  Run z = run("inspect " + fk::test::fixture_path("weights_out/numpy_savez_compressed.npz"));
  REQUIRE_MESSAGE(z.code == 0, z.out);
  CHECK_MESSAGE(has(z.out, "npz, 3 tensors, 28 parameters"), z.out);  // weight 24 + bias 4; count is int64

  Run t = run("inspect " + fk::test::fixture_path("weights_out/torch_saved.pt"));
  REQUIRE_MESSAGE(t.code == 0, t.out);
  CHECK(has(t.out, "torch-zip, 44 tensors"));
}

TEST_CASE("inspect: --json output parses and matches the file") {
  Run r = run("inspect --json " + fk::test::fixture_path("weights_out/numpy_savez.npz") + " 2>/dev/null");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["format"] == "npz");
  CHECK(j["num_tensors"] == 3);
  CHECK(j["parameters"] == 28);
  REQUIRE(j["tensors"].size() == 3);
  CHECK(j["tensors"][0]["name"] == "weight");
  CHECK(j["tensors"][0]["dtype"] == "float32");
  CHECK(j["tensors"][0]["shape"] == std::vector<int64_t>{2, 3, 2, 2});
  CHECK(j["tensors"][2]["dtype"] == "int64");
  CHECK(j["tensors"][2]["shape"] == std::vector<int64_t>{});
}

TEST_CASE("inspect: a missing or broken file exits 1 naming it") {
  Run r = run("inspect /nonexistent/model.pt");
  CHECK(r.code == 1);
  CHECK_MESSAGE(r.out.rfind("facekit: /nonexistent/model.pt: ", 0) == 0, r.out);
  Run b = run("inspect " + fk::test::fixture_path("weights_out/manifest.txt"));
  CHECK(b.code == 1);
  CHECK_MESSAGE(has(b.out, "facekit: " + fk::test::fixture_path("weights_out/manifest.txt") + ": "), b.out);
}
