// GPU vs CPU for matmul, bmm and linear (cuda/linalg.cu, cuBLAS), on the shapes of tests/cases/linalg.h:
// float32 within 1e-5 relative to the result's scale (cuBLAS runs without TF32), float64 within 1e-12,
// transposed (column-major) operands read in place, the backward's products (dy b^T, a^T dy), and
// small-integer inputs, whose sums are exact: the results must be bit-identical.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "cases/linalg.h"
#include "tensor/creation.h"
#include "tensor/linalg.h"
#include "tensor/shape_ops.h"
#include "test_util.h"

#if defined(FK_WITH_CUDA)

using namespace fk;

namespace {

const Device kGpu = Device::cuda();

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector<double>()) m = std::max(m, std::abs(v));
  return m;
}

// GPU result (copied back) vs the CPU's: |a - b| <= tol * max(1, max|ref|) + tol * |ref|.
void check_gpu(const Tensor& gpu, const Tensor& ref, DType dt, const std::string& label) {
  REQUIRE(gpu.device().is_cuda());
  const double tol = dt == DType::Float32 ? 1e-5 : 1e-12;
  CHECK_CLOSE(gpu.to(Device::cpu()), ref, tol * std::max(1.0, max_abs(ref)), tol, label);
}

// A (rows, cols) matrix on the GPU stored column-major: the transpose of a contiguous (cols, rows) one.
Tensor transposed_on_gpu(const Tensor& m) { return ops::transpose(ops::transpose(m, 0, 1).contiguous().to(kGpu), 0, 1); }

}  // namespace

TEST_CASE("matmul: GPU equals CPU on every linalg case") {
  manual_seed(21);
  for (DType dt : {DType::Float32, DType::Float64})
    for (const test::MatmulCase& c : test::kMatmulCases) {
      SUBCASE((std::string(c.name) + " " + dtype_name(dt)).c_str()) {
        Tensor a = randn(c.a, dt), b = randn(c.b, dt);
        Tensor ref = ops::matmul(a, b);
        Tensor got = ops::matmul(a.to(kGpu), b.to(kGpu));
        CHECK(got.shape() == ref.shape());
        check_gpu(got, ref, dt, std::string("matmul ") + c.name + "(a=" + shape_str(c.a) + ", b=" + shape_str(c.b) + ")");
      }
    }
}

TEST_CASE("matmul: transposed and sliced operands on the GPU") {
  manual_seed(22);
  for (DType dt : {DType::Float32, DType::Float64}) {
    SUBCASE(dtype_name(dt)) {
      Tensor a = randn({37, 19}, dt), b = randn({19, 23}, dt);
      Tensor ref = ops::matmul(a, b);
      // column-major a and b (trans=true in cuBLAS), and every mix
      check_gpu(ops::matmul(transposed_on_gpu(a), transposed_on_gpu(b)), ref, dt, "matmul a^T-stored x b^T-stored");
      check_gpu(ops::matmul(transposed_on_gpu(a), b.to(kGpu)), ref, dt, "matmul a^T-stored x b");
      check_gpu(ops::matmul(a.to(kGpu), transposed_on_gpu(b)), ref, dt, "matmul a x b^T-stored");
      // a column slice: leading dimension larger than the row
      Tensor wide = randn({37, 30}, dt);
      Tensor as = ops::slice(wide, 1, 5, 24);
      check_gpu(ops::matmul(ops::slice(wide.to(kGpu), 1, 5, 24), b.to(kGpu)), ops::matmul(as, b), dt,
                "matmul sliced a x b");
      // batched with a transposed batch of right operands (B, K, N) viewed from (B, N, K)
      Tensor ab = randn({3, 5, 7}, dt), bb = randn({3, 4, 7}, dt);
      Tensor refb = ops::matmul(ab, ops::transpose(bb, 1, 2));
      check_gpu(ops::matmul(ab.to(kGpu), ops::transpose(bb.to(kGpu), 1, 2)), refb, dt, "matmul batched b^T");
      // a stepped view (stride 2 in both dims): neither layout, copied first
      Tensor big = randn({10, 8}, dt);
      Tensor stepped = ops::slice(ops::slice(big, 0, 0, 10, 2), 1, 0, 8, 2);  // (5, 4)
      Tensor rhs = randn({4, 3}, dt);
      check_gpu(ops::matmul(ops::slice(ops::slice(big.to(kGpu), 0, 0, 10, 2), 1, 0, 8, 2), rhs.to(kGpu)),
                ops::matmul(stepped, rhs), dt, "matmul stepped a");
    }
  }
}

TEST_CASE("matmul: backward products dy b^T and a^T dy on the GPU") {
  // autograd's matmul backward is two more matmuls with transposed operands: check them directly
  manual_seed(23);
  for (DType dt : {DType::Float32, DType::Float64}) {
    SUBCASE(dtype_name(dt)) {
      Tensor a = randn({2, 6, 9}, dt), b = randn({2, 9, 5}, dt), dy = randn({2, 6, 5}, dt);
      Tensor ag = a.to(kGpu), bg = b.to(kGpu), dyg = dy.to(kGpu);
      check_gpu(ops::matmul(dyg, ops::transpose(bg, 1, 2)), ops::matmul(dy, ops::transpose(b, 1, 2)), dt, "da = dy b^T");
      check_gpu(ops::matmul(ops::transpose(ag, 1, 2), dyg), ops::matmul(ops::transpose(a, 1, 2), dy), dt, "db = a^T dy");
    }
  }
}

TEST_CASE("bmm: GPU equals CPU on every bmm case") {
  manual_seed(24);
  for (DType dt : {DType::Float32, DType::Float64})
    for (const test::BmmCase& c : test::kBmmCases) {
      SUBCASE((std::string(c.name) + " " + dtype_name(dt)).c_str()) {
        Tensor a = randn(c.a, dt), b = randn(c.b, dt);
        check_gpu(ops::bmm(a.to(kGpu), b.to(kGpu)), ops::bmm(a, b), dt, std::string("bmm ") + c.name);
      }
    }
}

TEST_CASE("linear: GPU equals CPU on every linear case, forward and backward products") {
  manual_seed(25);
  for (DType dt : {DType::Float32, DType::Float64})
    for (const test::LinearCase& c : test::kLinearCases) {
      SUBCASE((std::string(c.name) + " " + dtype_name(dt)).c_str()) {
        const int64_t in = c.x.back();
        Tensor x = randn(c.x, dt), w = randn({c.out_features, in}, dt);
        Tensor b = c.bias ? randn({c.out_features}, dt) : Tensor();
        Tensor ref = ops::linear(x, w, b);
        Tensor got = ops::linear(x.to(kGpu), w.to(kGpu), b.defined() ? b.to(kGpu) : Tensor());
        CHECK(got.shape() == ref.shape());
        check_gpu(got, ref, dt, std::string("linear ") + c.name);
        // a transposed weight view (as a tied or transposed layer passes it)
        Tensor wt_gpu = transposed_on_gpu(w);
        check_gpu(ops::linear(x.to(kGpu), wt_gpu, b.defined() ? b.to(kGpu) : Tensor()), ref, dt,
                  std::string("linear ") + c.name + " weight stored transposed");
        // backward products: dx = dy W, dW = dy^T x (rows folded)
        const int64_t rows = x.numel() / in;
        Tensor dy = randn({rows, c.out_features}, dt), x2 = ops::reshape(x, {rows, in});
        check_gpu(ops::matmul(dy.to(kGpu), w.to(kGpu)), ops::matmul(dy, w), dt, std::string("linear dx ") + c.name);
        check_gpu(ops::matmul(ops::transpose(dy.to(kGpu), 0, 1), x2.to(kGpu)), ops::matmul(ops::transpose(dy, 0, 1), x2),
                  dt, std::string("linear dW ") + c.name);
      }
    }
}

TEST_CASE("matmul: small-integer inputs give bit-identical GPU and CPU results") {
  for (DType dt : {DType::Float32, DType::Float64}) {
    SUBCASE(dtype_name(dt)) {
      Tensor a = randint(-4, 5, {3, 33, 65}).to(dt), b = randint(-4, 5, {3, 65, 17}).to(dt);
      CHECK_CLOSE(ops::matmul(a.to(kGpu), b.to(kGpu)).to(Device::cpu()), ops::matmul(a, b), 0, 0, "matmul integers");
      Tensor x = randint(-4, 5, {40, 31}).to(dt), w = randint(-4, 5, {9, 31}).to(dt), bias = randint(-4, 5, {9}).to(dt);
      CHECK_CLOSE(ops::linear(x.to(kGpu), w.to(kGpu), bias.to(kGpu)).to(Device::cpu()), ops::linear(x, w, bias), 0, 0,
                  "linear integers");
    }
  }
}

TEST_CASE("matmul: mixed CPU and GPU operands are refused") {
  Tensor a = randn({3, 4}), b = randn({4, 2});
  CHECK_THROWS_AS(ops::matmul(a.to(kGpu), b), Error);
  CHECK_THROWS_AS(ops::linear(a.to(kGpu), randn({2, 4}), Tensor()), Error);
}

#endif  // FK_WITH_CUDA
