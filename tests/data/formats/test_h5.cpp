// data/formats/h5.h: datasets, strings and attributes written and read back (groups by path, every
// stored dtype, UTF-8), the atomic write (an unfinished writer leaves the old file alone), and files
// that are not what they should be refused in one line naming the file and the object. h5py reading
// a gallery written this way: tests/apps/test_embed.cpp.
#include <filesystem>
#include <string>
#include <vector>

#include "data/formats/files.h"
#include "data/formats/h5.h"
#include "tensor/creation.h"
#include "test_util.h"

using namespace fk;
namespace fs = std::filesystem;

TEST_CASE("h5: datasets, strings and attributes round trip") {
  const fs::path d = test::scratch("h5");
  const std::string path = (d / "g.h5").string();
  manual_seed(3);
  const Tensor f32 = randn({4, 3}), f64 = randn({5}, DType::Float64);
  const Tensor i64 = tensor({7.0, -2.0, 1e12}, {3}, DType::Int64), scalar = full({}, 2.5, DType::Float64);
  const std::vector<std::string> names = {"Zoë", "", "a b/c", std::string(300, 'x')};
  {
    data::H5Writer w(path);
    w.dataset("embeddings", f32);
    w.dataset("people/Zoë/embedding", f64);
    w.dataset("ints", i64);
    w.dataset("scalar", scalar);
    w.strings("labels", names);
    w.strings("none", {});
    w.attribute("arch", "mobilefacenet");
    w.attribute("empty", "");
    w.close();
  }
  data::H5Reader r(path);
  CHECK_CLOSE(r.dataset("embeddings"), f32, 0, 0, "float32");
  CHECK(r.dataset("embeddings").dtype() == DType::Float32);
  CHECK_CLOSE(r.dataset("people/Zoë/embedding"), f64, 0, 0, "float64 in nested groups");
  CHECK(r.dataset("ints").to_vector<int64_t>() == std::vector<int64_t>{7, -2, 1000000000000});
  CHECK(r.dataset("scalar").dim() == 0);
  CHECK(r.dataset("scalar").item() == 2.5);
  CHECK(r.strings("labels") == names);
  CHECK(r.strings("none").empty());
  CHECK(r.attribute("arch") == "mobilefacenet");
  CHECK(r.attribute("empty").empty());
  CHECK(r.members() == std::vector<std::string>{"embeddings", "ints", "labels", "none", "people", "scalar"});
  CHECK(r.members("people") == std::vector<std::string>{"Zoë"});
  CHECK(r.has_dataset("people/Zoë/embedding"));
  CHECK_FALSE(r.has_dataset("people"));              // a group, not a dataset
  CHECK_FALSE(r.has_dataset("people/Nobody/embedding"));  // a missing link on the way
  CHECK_FALSE(r.has_attribute("weights"));
  fs::remove_all(d);
}

TEST_CASE("h5: an unfinished writer leaves the file on disk as it was") {
  const fs::path d = test::scratch("h5_atomic");
  const std::string path = (d / "g.h5").string();
  {
    data::H5Writer w(path);
    w.attribute("arch", "first");
    w.close();
  }
  {
    data::H5Writer w(path);
    w.attribute("arch", "second");
    // no close(): as if an error stopped the writing
  }
  CHECK(data::H5Reader(path).attribute("arch") == "first");
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(d)) ++files;
  CHECK(files == 1);  // no temporary left behind
  fs::remove_all(d);
}

TEST_CASE("h5: what is not there or not HDF5 is one line naming the file") {
  const fs::path d = test::scratch("h5_bad");
  const std::string good = (d / "g.h5").string();
  {
    data::H5Writer w(good);
    w.dataset("embeddings", zeros({2, 2}));
    w.dataset("counts", zeros({2}, DType::Int64));
    w.strings("labels", {"a", "b"});
    w.close();
  }
  data::H5Reader r(good);
  CHECK_THROWS_WITH_AS(r.dataset("paths"), (good + ": dataset 'paths' is missing").c_str(), Error);
  CHECK_THROWS_WITH_AS(r.strings("embeddings"),
                       (good + ": dataset 'embeddings': expected a 1-d array of strings").c_str(), Error);
  CHECK_THROWS_WITH_AS(r.strings("counts"), (good + ": dataset 'counts': not a string").c_str(), Error);
  CHECK_THROWS_WITH_AS(r.dataset("labels"), doctest::Contains((good + ": dataset 'labels': not a number array").c_str()),
                       Error);
  CHECK_THROWS_WITH_AS(r.attribute("arch"), (good + ": attribute 'arch' is missing").c_str(), Error);
  CHECK_THROWS_WITH_AS(data::H5Reader((d / "absent.h5").string()), doctest::Contains("absent.h5: cannot open"), Error);
  data::write_file_atomic((d / "text.h5").string(), "not hdf5 at all\n");
  CHECK_THROWS_WITH_AS(data::H5Reader((d / "text.h5").string()), doctest::Contains("text.h5: not an HDF5 file"), Error);
  // cut short: the superblock survives but the objects do not
  const std::string bytes = data::read_file(good);
  for (size_t cut : {size_t(100), bytes.size() / 2}) {
    CAPTURE(cut);
    const std::string p = (d / ("cut" + std::to_string(cut) + ".h5")).string();
    data::write_file_atomic(p, bytes.substr(0, cut));
    CHECK_THROWS_AS(
        {
          data::H5Reader c(p);
          c.dataset("embeddings");
          c.strings("labels");
        },
        Error);
  }
  CHECK_THROWS_WITH_AS(data::H5Writer((d / "no" / "such" / "dir.h5").string()),
                       doctest::Contains("dir.h5: cannot create the HDF5 file"), Error);
  fs::remove_all(d);
}
