// write_torch: the data.pkl and storages equal what PyTorch 1.13's torch.save writes for the same
// OrderedDict (goldens tests/fixtures/weights_out/torch_saved*.pt), the archive has PyTorch's layout,
// and a checkpoint of every dtype, a transposed view and a tied weight is byte-identical to
// facekit_written.pt, which tests/fixtures/make_writer_roundtrip.py --check verified with torch.load.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "data/formats/files.h"
#include "data/formats/weights.h"
#include "data/formats/zip.h"
#include "tensor/creation.h"
#include "tensor/shape_ops.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace {

// A fresh folder under the temp dir, removed at scope exit.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag) {
    path = fs::temp_directory_path() / ("fk_" + tag + "_" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

std::string out_path(const std::string& name) { return fk::test::fixture_path("weights_out/" + name); }

std::string tensor_bytes(const fk::Tensor& t) {
  fk::Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.raw_data()), size_t(c.numel()) * fk::dtype_size(c.dtype()));
}

// The dict make_writer_roundtrip.py saves as torch_saved.pt, built with facekit.
fk::StateDict golden_dict() {
  using fk::DType;
  fk::StateDict sd;
  sd.set("conv.weight", fk::test::fixture("weights_out/f32_4d.npy"));
  fk::Tensor lin = fk::test::fixture("weights_out/f32_2d.npy");
  sd.set("lin.weight", lin);
  sd.set("lin.weight_t", fk::ops::transpose(lin, 0, 1));
  const DType dtypes[] = {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16,
                          DType::Int64,   DType::UInt8,   DType::Bool};
  for (int64_t i = 0; i < 40; ++i)
    sd.set("blocks." + std::to_string(i) + ".w", fk::full({i % 5 + 1}, double(i)).to(dtypes[i % 7]));
  sd.set("bn.num_batches_tracked", fk::scalar_tensor(7, DType::Int64));
  return sd;
}

// Every entry of `ours` under prefix `a` equals the entry of `theirs` under prefix `b`, and vice versa.
void check_same_entries(const fk::data::ZipReader& ours, const std::string& a, const fk::data::ZipReader& theirs,
                        const std::string& b) {
  REQUIRE(ours.entries().size() == theirs.entries().size());
  for (const auto& e : theirs.entries()) {
    std::string rel = e.name.substr(b.size());
    INFO("entry " << rel);
    REQUIRE(ours.contains(a + rel));
    CHECK(ours.read(a + rel) == theirs.read(e.name));
  }
}

}  // namespace

TEST_CASE("write_torch: data.pkl and storages equal torch.save's for the same OrderedDict") {
  TempDir dir("torch_writer_golden");
  SUBCASE("43 tensors of every dtype, a transposed view, > 255 memo entries") {
    fk::data::write_torch(dir / "torch_saved.pt", golden_dict());
    auto ours = fk::data::ZipReader::open(dir / "torch_saved.pt");
    auto theirs = fk::data::ZipReader::open(out_path("torch_saved.pt"));
    check_same_entries(ours, "torch_saved/", theirs, "torch_saved/");
  }
  SUBCASE("one tensor (SETITEM without MARK), archive named by the file") {
    fk::StateDict one;
    one.set("only", fk::test::fixture("weights_out/f64_1d.npy"));
    fk::data::write_torch(dir / "torch_saved_one.pt", one);
    auto ours = fk::data::ZipReader::open(dir / "torch_saved_one.pt");
    auto theirs = fk::data::ZipReader::open(out_path("torch_saved_one.pt"));
    check_same_entries(ours, "torch_saved_one/", theirs, "torch_saved_one/");
  }
}

TEST_CASE("write_torch: archive layout (entries, 64-byte aligned data, storage bytes, version 3)") {
  TempDir dir("torch_writer_layout");
  fk::StateDict sd;
  fk::Tensor w = fk::tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  sd.set("w", w);
  sd.set("w_tied", w);  // same tensor: one storage
  sd.set("steps", fk::scalar_tensor(3, fk::DType::Int64));
  sd.set("half", fk::tensor({0.5, -1}, {2}).to(fk::DType::Float16));
  fk::data::write_torch(dir / "model.pth", sd);

  auto zip = fk::data::ZipReader::open(dir / "model.pth");
  std::vector<std::string> names;
  for (const auto& e : zip.entries()) {
    names.push_back(e.name);
    CHECK_MESSAGE(e.data_offset % 64 == 0, e.name << " data at " << e.data_offset);
    CHECK(e.method == 0);
  }
  CHECK(names == std::vector<std::string>{"model/data.pkl", "model/data/0", "model/data/1", "model/data/2",
                                          "model/version"});
  CHECK(zip.read("model/version") == "3\n");
  CHECK(zip.read("model/data/0") == tensor_bytes(w));
  CHECK(zip.read("model/data/1") == tensor_bytes(sd.at("steps")));
  CHECK(zip.read("model/data/2") == tensor_bytes(sd.at("half")));
  std::string pkl = zip.read("model/data.pkl");
  CHECK(pkl.compare(0, 2, "\x80\x02") == 0);
  CHECK(pkl.find("ccollections\nOrderedDict\n") != std::string::npos);
  CHECK(pkl.find("ctorch\nHalfStorage\n") != std::string::npos);
  CHECK(pkl.back() == '.');
  // the file replaced atomically: no temporary left behind
  size_t files = 0;
  for ([[maybe_unused]] const auto& f : fs::directory_iterator(dir.path)) ++files;
  CHECK(files == 1);
}

TEST_CASE("write_torch: output is byte-identical to the verified fixture facekit_written.pt") {
  // manifest.txt: "<key> <source .npy> <npy|bfloat16|transpose|alias>" (make_writer_roundtrip.py)
  std::ifstream manifest(out_path("manifest.txt"));
  REQUIRE_MESSAGE(manifest.good(), "missing " << out_path("manifest.txt") << ": run make_writer_roundtrip.py");
  fk::StateDict sd;
  std::map<std::string, fk::Tensor> loaded;  // each .npy read once: its views and aliases share its storage
  std::string key, src, how;
  while (manifest >> key >> src >> how) {
    if (!loaded.count(src)) loaded[src] = fk::test::fixture("weights_out/" + src + ".npy");
    fk::Tensor t = loaded[src];
    if (how == "bfloat16") t = t.to(fk::DType::BFloat16);
    if (how == "transpose") t = fk::ops::transpose(t, 0, 1);
    REQUIRE_MESSAGE((how == "npy" || how == "alias" || how == "bfloat16" || how == "transpose"), "how=" << how);
    sd.set(key, t);
  }
  REQUIRE(sd.size() == 24);

  // Kept on mismatch, so it can be checked with --check and committed when the change is intended.
  fs::path keep = fs::temp_directory_path() / ("fk_written_" + std::to_string(::getpid()));
  fs::create_directories(keep);
  std::string ours_path = (keep / "facekit_written.pt").string();
  fk::data::write_torch(ours_path, sd);
  std::string ours = fk::data::read_file(ours_path), committed;
  if (fs::exists(out_path("facekit_written.pt"))) committed = fk::data::read_file(out_path("facekit_written.pt"));
  bool same = ours == committed;
  CHECK_MESSAGE(same, "write_torch output (" << ours.size() << " bytes) differs from the committed fixture ("
                                             << committed.size() << " bytes); kept at " << ours_path
                                             << " : verify with /usr/bin/python3 tests/fixtures/make_writer_roundtrip.py"
                                             << " --check " << ours_path);
  if (same) fs::remove_all(keep);
}

TEST_CASE("write_torch: errors name the file and the key") {
  TempDir dir("torch_writer_errors");
  fk::StateDict sd;
  sd.set("ok", fk::ones({2}));
  sd.set("missing", fk::Tensor());
  CHECK_THROWS_WITH_AS(fk::data::write_torch(dir / "x.pt", sd), doctest::Contains("tensor 'missing' is undefined"),
                       fk::Error);
  CHECK_FALSE(fs::exists(dir / "x.pt"));
  fk::StateDict good;
  good.set("w", fk::ones({2}));
  CHECK_THROWS_WITH_AS(fk::data::write_torch(dir / "no_such_dir/x.pt", good),
                       doctest::Contains("no_such_dir/x.pt: cannot write"), fk::Error);
}
