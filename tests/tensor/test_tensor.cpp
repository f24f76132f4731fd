// The Tensor core: creation, views over shared storage, strided copies, dtype conversion
// (half/bfloat16 bit-exact), the seeded generator, printing, and misuse errors.
#include <cmath>
#include <cstring>
#include <sstream>

#include "test_util.h"

using namespace fk;

TEST_CASE("creation: zeros/ones/full/arange shapes, dtypes and values") {
  Tensor z = zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.strides() == Shape{3, 1});
  CHECK(z.dtype() == DType::Float32);
  CHECK(z.to_vector<float>() == std::vector<float>(6, 0));
  CHECK(ones({2}, DType::Float64).to_vector<double>() == std::vector<double>{1, 1});
  CHECK(full({2}, 3.5).to_vector<float>() == std::vector<float>{3.5, 3.5});
  CHECK(arange(5).to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4});
  CHECK(arange(1, 2, 0.25, DType::Float64).to_vector<double>() == std::vector<double>{1, 1.25, 1.5, 1.75});
  CHECK(arange(0, 10, 3, DType::Int64).to_vector<int64_t>() == std::vector<int64_t>{0, 3, 6, 9});
  CHECK(scalar_tensor(2).dim() == 0);
  CHECK(scalar_tensor(2).item() == 2);
  CHECK(empty({0, 3}).numel() == 0);
}

TEST_CASE("storage: 64-byte aligned and shared between views") {
  Tensor a = zeros({7, 3});
  CHECK(reinterpret_cast<uintptr_t>(a.raw_data()) % 64 == 0);
  Tensor v(a.storage(), {3}, {1}, 3, DType::Float32);  // a[1]
  v.data<float>()[0] = 5;
  CHECK(a.to_vector<float>()[3] == 5);
  CHECK(a.storage().use_count() == 2);
}

TEST_CASE("contiguous/clone: strided views copy in row-major order") {
  Tensor a = arange(6, DType::Float64);
  Tensor t(a.storage(), {3, 2}, {1, 3}, 0, DType::Float64);  // (2,3) transposed
  CHECK_FALSE(t.is_contiguous());
  Tensor c = t.contiguous();
  CHECK(c.is_contiguous());
  CHECK(c.to_vector<double>() == std::vector<double>{0, 3, 1, 4, 2, 5});
  CHECK(a.contiguous().storage() == a.storage());  // no copy when already contiguous
  CHECK(a.clone().storage() != a.storage());
  Tensor bcast(a.storage(), {2, 3}, {0, 1}, 1, DType::Float64);  // stride-0 rows
  CHECK(bcast.contiguous().to_vector<double>() == std::vector<double>{1, 2, 3, 1, 2, 3});
}

TEST_CASE("to(dtype): float conversions, int64, bool") {
  Tensor x = tensor({-1.5, 0, 2.25});
  CHECK(x.to(DType::Float64).to_vector<double>() == std::vector<double>{-1.5, 0, 2.25});
  CHECK(x.to(DType::Int64).to_vector<int64_t>() == std::vector<int64_t>{-1, 0, 2});  // truncation, as torch
  CHECK(x.to(DType::Bool).to_vector<uint8_t>() == std::vector<uint8_t>{1, 0, 1});
  CHECK(x.to(DType::Float32).storage() == x.storage());  // same dtype: no copy
}

TEST_CASE("float16/bfloat16: bit-exact conversions, rounding to nearest even") {
  // values and their IEEE half bit patterns (checked with numpy.float16)
  const std::vector<std::pair<float, uint16_t>> halves = {
      {1.0f, 0x3c00}, {-2.0f, 0xc000}, {65504.0f, 0x7bff}, {1e5f, 0x7c00}, {5.960464477539063e-08f, 0x0001},
      {6.103515625e-05f, 0x0400}, {0.333251953125f, 0x3555}, {1.0009765625f, 0x3c01}, {1.00048828125f, 0x3c00},
      {1.00146484375f, 0x3c02}, {0.0f, 0x0000}, {-0.0f, 0x8000}, {2.9802322387695312e-08f, 0x0000}};
  for (auto [f, h] : halves) {
    CAPTURE(f);
    CHECK(float_to_half(f) == h);
    // exactly representable values come back unchanged (the others are the rounding cases)
    if (std::abs(f) < 65520 && f != 1.00048828125f && f != 1.00146484375f && f != 2.9802322387695312e-08f) CHECK(half_to_float(h) == f);
  }
  CHECK(std::isinf(half_to_float(0x7c00)));
  CHECK(std::isnan(half_to_float(0x7e00)));
  CHECK(std::isnan(half_to_float(float_to_half(NAN))));
  CHECK(float_to_bfloat16(1.0f) == 0x3f80);
  CHECK(float_to_bfloat16(1.00390625f) == 0x3f80);  // halfway, rounds to even
  CHECK(float_to_bfloat16(1.01171875f) == 0x3f82);  // halfway, rounds to even (up)
  CHECK(bfloat16_to_float(0xc0a0) == -5.0f);
  Tensor h = tensor({0.5, -3, 1000}).to(DType::Float16);
  CHECK(h.dtype() == DType::Float16);
  CHECK(h.to(DType::Float32).to_vector<float>() == std::vector<float>{0.5, -3, 1000});
  CHECK(tensor({0.5, -3}).to(DType::BFloat16).to(DType::Float32).to_vector<float>() == std::vector<float>{0.5, -3});
}

TEST_CASE("random: manual_seed makes randn/rand/randint reproducible") {
  manual_seed(42);
  Tensor a = randn({1000});
  Tensor u = rand({1000}, DType::Float64);
  Tensor i = randint(3, 7, {1000});
  manual_seed(42);
  CHECK(randn({1000}).to_vector<float>() == a.to_vector<float>());
  CHECK(rand({1000}, DType::Float64).to_vector<double>() == u.to_vector<double>());
  CHECK(randint(3, 7, {1000}).to_vector<int64_t>() == i.to_vector<int64_t>());
  // moments of 1000 standard normals: mean within 4.5 sigma/sqrt(n), variance near 1
  CHECK(std::abs(ops::mean(a).item()) < 0.15);
  CHECK(ops::var(a).item() == doctest::Approx(1.0).epsilon(0.15));
  auto iv = i.to_vector<int64_t>();
  for (int64_t v : iv) CHECK((v >= 3 && v < 7));
  CHECK(ops::min(u).item() >= 0);
  CHECK(ops::max(u).item() < 1);
}

TEST_CASE("printing: torch-style values") {
  std::ostringstream os;
  os << tensor({1, 2, 3, 4}, {2, 2});
  CHECK(os.str() == "tensor([[1, 2],\n        [3, 4]], dtype=float32)");
  std::ostringstream big;
  big << arange(100);
  CHECK(big.str().find("...") != std::string::npos);
  CHECK(zeros({2, 3}).str() == "float32[2, 3] (cpu)");
}

TEST_CASE("errors: misuse throws fk::Error naming the problem") {
  Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH_AS(x.data<double>(), doctest::Contains("data<float64>() on a float32[2, 3]"), Error);
  CHECK_THROWS_WITH_AS(x.item(), doctest::Contains("has 6 elements"), Error);
  CHECK_THROWS_WITH_AS(x.size(2), doctest::Contains("dim 2 out of range"), Error);
  CHECK_THROWS_WITH_AS(Tensor().shape(), doctest::Contains("undefined tensor"), Error);
  CHECK_THROWS_WITH_AS(tensor({1, 2, 3}, {2, 2}), doctest::Contains("3 values do not fill shape [2, 2]"), Error);
  CHECK_THROWS_AS(empty({-1}), Error);
  CHECK_THROWS_AS(randint(5, 5, {1}), Error);
}

TEST_CASE("device: CUDA tensors fail clearly without a GPU") {
  if (cuda::device_count() > 0) return;  // covered by the cuda test suite
  CHECK_THROWS_AS(zeros({2}).to(Device::cuda()), Error);
}

TEST_CASE("npy: write and read back every dtype") {
  std::string dir = std::filesystem::temp_directory_path() / "fk_npy_test";
  std::filesystem::create_directories(dir);
  for (DType t : {DType::Float32, DType::Float64, DType::Int64, DType::UInt8, DType::Bool}) {
    Tensor x = arange(0, 6, 1, DType::Float64).to(t);
    Tensor x23(x.storage(), {2, 3}, {3, 1}, 0, t);
    data::write_npy(dir + "/a.npy", x23);
    Tensor y = data::read_npy(dir + "/a.npy");
    CHECK(y.dtype() == t);
    CHECK(y.shape() == Shape{2, 3});
    CHECK(y.to_vector<double>() == x.to_vector<double>());
  }
  data::write_npy(dir + "/s.npy", scalar_tensor(3));
  CHECK(data::read_npy(dir + "/s.npy").dim() == 0);
  std::string bytes = data::read_file(dir + "/a.npy");
  CHECK_THROWS_WITH_AS(data::parse_npy(bytes.substr(0, bytes.size() - 1), "t.npy"), doctest::Contains("t.npy"),
                       Error);
  CHECK_THROWS_WITH_AS(data::parse_npy("garbage!!!!!", "g.npy"), doctest::Contains("bad magic"), Error);
  // found by fuzz_npy: a zero dim hid an overflowing product of the others
  std::string overflow = test::fixture_path("../fuzz/corpus/npy/regression-overflowing-shape.npy");
  CHECK_THROWS_WITH_AS(data::read_npy(overflow), doctest::Contains("is too large"), Error);
  CHECK_THROWS_WITH_AS(empty({0, int64_t(1) << 40, int64_t(1) << 40}), doctest::Contains("too large"), Error);
  CHECK_THROWS_WITH_AS(data::read_npy(dir + "/missing.npy"), doctest::Contains("cannot open"), Error);
  std::filesystem::remove_all(dir);
}
