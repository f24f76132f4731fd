// read_torch / read_pickle_arrays / read_weights against files PyTorch 1.13 and numpy wrote
// (tests/fixtures/make_torch_files.py): both checkpoint formats, every storage dtype, views, shared
// storages, state dicts with BatchNorm, nested checkpoints, whole pickled modules, Python-2 numpy pickles,
// and the real facenet-pytorch MTCNN weights (skipped when ../shared/data is absent).
#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "data/formats/weights.h"
#include "tests/test_util.h"

namespace {

using namespace fk;

std::string tf(const std::string& rel) { return test::fixture_path("torch_files/" + rel); }

std::string escape(const std::string& key) {
  std::string out;
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '-') {
      out += char(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::vector<std::string> keys_of(const StateDict& sd) {
  std::vector<std::string> k;
  for (const auto& [name, t] : sd) k.push_back(name);
  return k;
}

// Every value bit-exact against <folder>/<key>.npy, the tensor contiguous with its own dtype.
void check_values(const StateDict& sd, const std::string& folder, const std::string& prefix, const std::string& label) {
  for (const auto& [name, t] : sd) {
    std::string key = name.substr(prefix.size());
    Tensor want = data::read_npy(tf(folder + "/" + escape(key) + ".npy"));
    CHECK_MESSAGE(t.is_contiguous(), label, ": ", name, " not contiguous");
    CHECK_MESSAGE(t.offset() == 0, label, ": ", name, " has offset ", t.offset());
    CHECK_CLOSE(t, want, 0.0, 0.0, label + ": " + name);
  }
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

TEST_CASE("read_torch: every storage dtype, views, offsets and shared storages, in both formats") {
  const std::vector<std::pair<std::string, DType>> want = {
      {"f32", DType::Float32}, {"f16", DType::Float16},        {"bf16", DType::BFloat16},
      {"f64", DType::Float64}, {"i64", DType::Int64},          {"i32", DType::Int64},
      {"u8", DType::UInt8},    {"bool", DType::Bool},          {"transposed", DType::Float32},
      {"offset_view", DType::Float32}, {"shared_a", DType::Float32}, {"shared_b", DType::Float32},
      {"count", DType::Int64}};
  for (const char* file : {"dtypes.pt", "dtypes_legacy.pt"}) {
    SUBCASE(file) {
      StateDict sd = data::read_torch(tf(file));
      REQUIRE(sd.size() == want.size());
      for (size_t i = 0; i < want.size(); ++i) {
        CHECK(sd.items()[i].first == want[i].first);
        CHECK_MESSAGE(sd.items()[i].second.dtype() == want[i].second, file, ": ", want[i].first, " is ",
                      sd.items()[i].second.str());
      }
      check_values(sd, "dtypes", "", file);
      CHECK(sd.at("transposed").shape() == Shape{4, 3});
      CHECK(sd.at("count").shape().empty());
      CHECK(sd.at("count").item() == 7);
      CHECK(sd.at("bf16").to(DType::Float32).to_vector<float>() == data::read_npy(tf("dtypes/bf16.npy")).to_vector<float>());
    }
  }
}

TEST_CASE("read_torch: a model.state_dict() with BatchNorm keeps key order, buffers and num_batches_tracked") {
  std::vector<std::string> keys = read_lines(tf("net/keys.txt"));
  REQUIRE(keys.size() == 11);
  for (const char* file : {"net_state_dict.pt", "net_state_dict_legacy.pt"}) {
    SUBCASE(file) {
      StateDict sd = data::read_torch(tf(file));
      CHECK(keys_of(sd) == keys);
      check_values(sd, "net", "", file);
      CHECK(sd.at("bn.num_batches_tracked").dtype() == DType::Int64);
      CHECK(sd.at("bn.num_batches_tracked").item() == 2);
    }
  }
}

TEST_CASE("read_torch: a nested training checkpoint is flattened with dotted keys, numbers skipped") {
  std::vector<std::string> keys = read_lines(tf("net/keys.txt"));
  for (auto& k : keys) k = "net_state_dict." + k;
  for (const char* file : {"checkpoint.pt", "checkpoint_legacy.pt"}) {
    SUBCASE(file) {
      StateDict sd = data::read_torch(tf(file));
      CHECK(keys_of(sd) == keys);  // 'epoch' and 'lr' are not tensors
      check_values(sd, "net", "net_state_dict.", file);
    }
  }
}

TEST_CASE("read_torch: a whole pickled nn.Module gives exactly model.state_dict()'s keys and values") {
  std::vector<std::string> keys = read_lines(tf("net/keys.txt"));
  for (const char* file : {"whole_model.pt", "whole_model_legacy.pt"}) {
    SUBCASE(file) {
      StateDict sd = data::read_torch(tf(file));
      // Sequential children recursed in order, the bias-less Linear's None skipped, the
      // non-persistent buffer 'scratch' left out.
      CHECK(keys_of(sd) == keys);
      CHECK_FALSE(sd.contains("scratch"));
      check_values(sd, "net", "", file);
    }
  }
}

TEST_CASE("read_pickle_arrays: Python-2 numpy pickles (protocol 2 and 0) load exactly") {
  SUBCASE("protocol 2") {
    StateDict sd = data::read_pickle_arrays(tf("py2_proto2.pkl"));
    // "b\xe9ta" is a py2 str: latin-1 decoded, as pickle.load(f, encoding='latin1')
    CHECK(keys_of(sd) == std::vector<std::string>{"conv1.weight", "fc.weight", "fc.bias", "b\xc3\xa9ta", "mask"});
    check_values(sd, "py2", "", "py2_proto2.pkl");
    CHECK(sd.at("fc.bias").dtype() == DType::Float64);  // stored big-endian, swapped
    CHECK(sd.at("mask").dtype() == DType::Bool);
  }
  SUBCASE("protocol 0") {
    StateDict sd = data::read_pickle_arrays(tf("py2_proto0.pkl"));
    CHECK(keys_of(sd) == std::vector<std::string>{"conv1.weight", "fc.weight", "fc.bias", "b\xc3\xa9ta", "m\xc3\xa4sk"});
    for (const auto& [name, t] : sd) {
      std::string exp = name == "m\xc3\xa4sk" ? "mask" : name;
      CHECK_CLOSE(t, data::read_npy(tf("py2/" + escape(exp) + ".npy")), 0.0, 0.0, "py2_proto0.pkl: " + name);
    }
  }
  SUBCASE("Fortran order is honoured") {
    StateDict sd = data::read_pickle_arrays(tf("py2_proto2.pkl"));
    Tensor w = sd.at("fc.weight");
    CHECK(w.shape() == Shape{3, 4});
    CHECK(w.is_contiguous());
  }
}

TEST_CASE("read_pickle_arrays: numpy arrays pickled by CPython with protocols 2 and 4") {
  for (const char* file : {"py3_proto2.pkl", "py3_proto4.pkl"}) {
    SUBCASE(file) {
      StateDict sd = data::read_pickle_arrays(tf(file));
      CHECK(keys_of(sd) == std::vector<std::string>{"a", "fortran", "i", "nested.u8"});
      check_values(sd, "py3", "", file);
    }
  }
}

TEST_CASE("read_weights: sniffs the format by content, not by extension") {
  std::string fmt;
  CHECK(data::read_weights(tf("dtypes.pt"), &fmt).size() == 13);
  CHECK(fmt == "torch-zip");
  CHECK(data::read_weights(tf("whole_model_legacy.pt"), &fmt).size() == 11);
  CHECK(fmt == "torch-legacy");
  CHECK(data::read_weights(tf("py2_proto2.pkl"), &fmt).size() == 5);
  CHECK(fmt == "pickle");
  StateDict npy = data::read_weights(tf("dtypes/f32.npy"), &fmt);
  CHECK(fmt == "npy");
  CHECK(keys_of(npy) == std::vector<std::string>{"array"});
  CHECK(npy.at("array").shape() == Shape{2, 3});

  // An .npz (zip without data.pkl) under a misleading .pt name.
  std::string path = (std::filesystem::temp_directory_path() / ("fk_test_read_weights_npz_" + std::to_string(::getpid()) + ".pt")).string();
  StateDict arrays;
  arrays.set("x", fk::tensor({1, 2, 3}, {3}));
  data::write_npz(path, arrays);
  StateDict back = data::read_weights(path, &fmt);
  std::filesystem::remove(path);
  CHECK(fmt == "npz");
  CHECK(keys_of(back) == std::vector<std::string>{"x"});
}

TEST_CASE("read_torch: the facenet-pytorch MTCNN weights load with documented keys, shapes and strides") {
  std::string dir = std::string(FK_SHARED_DATA_DIR) + "/mtcnn";
  if (!std::filesystem::exists(dir + "/pnet.pt")) {
    FK_SKIP(dir << " not present (real MTCNN weights)");
  }
  // net -> [(key, shape, position-weighted sum)] computed by PyTorch (make_torch_files.py)
  std::map<std::string, std::vector<std::tuple<std::string, std::string, double>>> expected;
  for (const std::string& line : read_lines(tf("mtcnn_checks.txt"))) {
    std::istringstream is(line);
    std::string net, key, shape;
    double sum = 0;
    is >> net >> key >> shape >> sum;
    expected[net].emplace_back(key, shape, sum);
  }
  REQUIRE(expected.size() == 3);
  const std::map<std::string, size_t> counts = {{"pnet", 13}, {"rnet", 16}, {"onet", 21}};
  const std::map<std::string, int64_t> values = {{"pnet", 6632}, {"rnet", 100178}, {"onet", 389040}};
  for (const char* net : {"pnet", "rnet", "onet"})
    for (std::string sub : {"", "zip_format/"})
      if (!std::filesystem::exists(dir + "/" + sub + net + ".pt"))
        FK_SKIP(dir << "/" << sub << net << ".pt not present (real MTCNN weights)");
  for (const char* net : {"pnet", "rnet", "onet"}) {
    for (std::string sub : {"", "zip_format/"}) {
      std::string path = dir + "/" + sub + net + ".pt";
      std::string fmt;
      StateDict sd = data::read_weights(path, &fmt);
      CHECK(fmt == (sub.empty() ? "torch-legacy" : "torch-zip"));
      REQUIRE(sd.size() == counts.at(net));
      REQUIRE(expected[net].size() == sd.size());
      int64_t total = 0;
      for (size_t i = 0; i < sd.size(); ++i) {
        const auto& [key, t] = sd.items()[i];
        const auto& [want_key, want_shape, want_sum] = expected[net][i];
        CHECK(key == want_key);
        std::string shape;
        for (int64_t d : t.shape()) {
          if (!shape.empty()) shape += ',';
          shape += std::to_string(d);
        }
        CHECK_MESSAGE(shape == want_shape, path, ": ", key);
        CHECK(t.dtype() == DType::Float32);
        auto v = t.to_vector<double>();
        double sum = 0;
        for (size_t j = 0; j < v.size(); ++j) sum += v[j] * double(1 + j % 7);
        // Reading the TensorFlow-layout strides wrongly permutes elements and changes this sum.
        CHECK_MESSAGE(std::abs(sum - want_sum) <= 1e-9 * (1 + std::abs(want_sum)), path, ": ", key, " sum ", sum,
                      " vs ", want_sum);
        total += t.numel();
      }
      CHECK(total == values.at(net));
    }
  }
  StateDict onet = data::read_torch(dir + "/onet.pt");
  CHECK(onet.at("dense5.weight").shape() == Shape{256, 1152});
  CHECK(onet.at("dense6_3.weight").shape() == Shape{10, 256});
}
