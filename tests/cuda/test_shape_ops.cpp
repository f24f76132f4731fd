// CUDA vs CPU for the copying shape ops (tensor/shape_ops.h): index_select (index on the CPU or the
// GPU, several dtypes), index_add with repeated indices (float32 and float64), cat, stack, pad
// (pad and crop), slice_backward, select_backward, reshape/flatten of non-contiguous inputs; and
// every row of tests/cases/shape_ops.h through autograd, forward and gradients. Kernels: cuda/shape.cu
// (index ops) and cuda::copy_strided (the others).
#include "cases/shape_ops.h"
#include "test_util.h"

using namespace fk;

namespace {

const Device kGpu = Device::cuda();

Tensor gpu(const Tensor& t) { return t.to(kGpu); }

}  // namespace

TEST_CASE("index_select: GPU equals CPU on every dim, index on either device, several dtypes") {
  manual_seed(51);
  Tensor idx = tensor({3, 0, 3, 1, 2, 3}, DType::Int64);
  for (DType dt : {DType::Float32, DType::Float64, DType::Int64}) {
    Tensor x = dt == DType::Int64 ? randint(-100, 100, {4, 5, 6}) : randn({4, 5, 6}, dt);
    for (int64_t dim = 0; dim < 3; ++dim) {
      CAPTURE(dim);
      Tensor y = ops::index_select(x, dim, idx);
      Tensor yg = ops::index_select(gpu(x), dim, idx);  // CPU index
      CHECK(yg.device().is_cuda());
      CHECK_CLOSE(yg, y, 0, 0, std::string("index_select cpu index ") + dtype_name(dt));
      CHECK_CLOSE(ops::index_select(gpu(x), dim, gpu(idx)), y, 0, 0, std::string("index_select gpu index ") + dtype_name(dt));
      // a transposed input
      Tensor xt = ops::transpose(x, 0, 2);
      CHECK_CLOSE(ops::index_select(ops::transpose(gpu(x), 0, 2), dim, idx), ops::index_select(xt, dim, idx), 0, 0,
                  "index_select transposed");
    }
  }
}

TEST_CASE("index_select / index_add: out-of-range indices on the GPU are a clear error") {
  Tensor x = gpu(randn({3, 2}));
  CHECK_THROWS_WITH_AS(ops::index_select(x, 0, gpu(tensor({0, 3}, DType::Int64))),
                       doctest::Contains("index[1] = 3 is out of range"), Error);
  CHECK_THROWS_WITH_AS(ops::index_add(x, 0, tensor({-1}, DType::Int64), gpu(randn({1, 2}))),
                       doctest::Contains("out of range"), Error);
  CHECK_THROWS_AS(ops::index_add(x, 0, tensor({0}, DType::Int64), randn({1, 2})), Error);  // src on the CPU
}

TEST_CASE("index_add: GPU equals CPU with repeated indices, float32 and float64") {
  manual_seed(52);
  Tensor idx = tensor({2, 0, 2, 2, 1, 2, 0}, DType::Int64);
  for (DType dt : {DType::Float32, DType::Float64}) {
    const double tol = dt == DType::Float64 ? 1e-12 : 1e-5;
    for (int64_t dim = 0; dim < 3; ++dim) {
      CAPTURE(dim);
      Shape bshape{3, 4, 5};
      bshape[size_t(dim)] = 3;
      Shape sshape = bshape;
      sshape[size_t(dim)] = 7;
      Tensor base = randn(bshape, dt), src = randn(sshape, dt);
      Tensor ref = ops::index_add(base, dim, idx, src);
      CHECK_CLOSE(ops::index_add(gpu(base), dim, idx, gpu(src)), ref, tol, tol, "index_add cpu index");
      CHECK_CLOSE(ops::index_add(gpu(base), dim, gpu(idx), gpu(src)), ref, tol, tol, "index_add gpu index");
    }
  }
  // many threads on one element: 10000 ones into row 0
  Tensor many = zeros({10000}, DType::Int64);
  Tensor out = ops::index_add(gpu(zeros({2, 3}, DType::Float64)), 0, many, gpu(ones({10000, 3}, DType::Float64)));
  CHECK(out.to_vector<double>() == std::vector<double>{10000, 10000, 10000, 0, 0, 0});
}

TEST_CASE("cat / stack / pad: GPU equals CPU, non-contiguous pieces") {
  manual_seed(53);
  for (DType dt : {DType::Float32, DType::Float64}) {
    Tensor a = randn({3, 2}, dt), b = randn({2, 2}, dt), c = randn({2, 5}, dt);
    Tensor ref = ops::cat({ops::transpose(a, 0, 1), b, c}, 1);
    Tensor got = ops::cat({ops::transpose(gpu(a), 0, 1), gpu(b), gpu(c)}, 1);
    CHECK(got.device().is_cuda());
    CHECK_CLOSE(got, ref, 0, 0, "cat dim 1");
    CHECK_CLOSE(ops::cat({gpu(zeros({0}, dt)), gpu(b), gpu(b)}, 0), ops::cat({zeros({0}, dt), b, b}, 0), 0, 0,
                "cat skips an empty 1-d");
    CHECK_CLOSE(ops::stack({gpu(b), ops::slice(gpu(c), 1, 0, 5, 3), gpu(b)}, 1),
                ops::stack({b, ops::slice(c, 1, 0, 5, 3), b}, 1), 0, 0, "stack middle dim");
    Tensor x = randn({2, 3, 4}, dt);
    CHECK_CLOSE(ops::pad(gpu(x), {1, 2, -1, 1}, 0.5), ops::pad(x, {1, 2, -1, 1}, 0.5), 0, 0, "pad and crop");
    CHECK_CLOSE(ops::pad(ops::transpose(gpu(x), 0, 2), {2, 0, 0, 1, 1, 1}, -3.0),
                ops::pad(ops::transpose(x, 0, 2), {2, 0, 0, 1, 1, 1}, -3.0), 0, 0, "pad all dims of a transposed x");
  }
  CHECK_THROWS_WITH_AS(ops::cat({gpu(randn({2})), randn({2})}), doctest::Contains("is on cpu but tensor 0 is on cuda"),
                       Error);
}

TEST_CASE("slice_backward / select_backward / reshape: GPU equals CPU") {
  manual_seed(54);
  for (DType dt : {DType::Float32, DType::Float64}) {
    Tensor dy = randn({4, 2, 5}, dt);
    CHECK_CLOSE(ops::slice_backward(gpu(dy), {9, 2, 5}, 0, 1, 9, 2), ops::slice_backward(dy, {9, 2, 5}, 0, 1, 9, 2), 0,
                0, "slice_backward step 2");
    Tensor ds = randn({4, 5}, dt);
    CHECK_CLOSE(ops::select_backward(gpu(ds), {4, 3, 5}, 1, -1), ops::select_backward(ds, {4, 3, 5}, 1, -1), 0, 0,
                "select_backward");
    Tensor dt5 = randn({5, 4}, dt);  // a transposed dy
    CHECK_CLOSE(ops::select_backward(ops::transpose(gpu(dt5), 0, 1), {4, 3, 5}, 1, 0),
                ops::select_backward(ops::transpose(dt5, 0, 1), {4, 3, 5}, 1, 0), 0, 0, "select_backward transposed dy");
    // reshape and flatten of a permuted input must copy: the GPU copy holds the same values
    Tensor x = randn({2, 3, 4}, dt);
    Tensor r = ops::reshape(ops::permute(gpu(x), {1, 0, 2}), {3, 8});
    CHECK(r.device().is_cuda());
    CHECK(r.is_contiguous());
    CHECK_CLOSE(r, ops::reshape(ops::permute(x, {1, 0, 2}), {3, 8}), 0, 0, "reshape copy");
    CHECK_CLOSE(ops::flatten(ops::transpose(gpu(x), 0, 2)), ops::flatten(ops::transpose(x, 0, 2)), 0, 0, "flatten copy");
  }
}

TEST_CASE("shape ops: every case of tests/cases/shape_ops.h on the GPU, forward and gradients") {
  manual_seed(55);
  for (const auto& c : test::shape_cases()) {
    SUBCASE(c.name) {
      std::vector<Tensor> xs, xg;
      for (const Shape& s : c.inputs) {
        Tensor v = randn(s, DType::Float64);
        xs.push_back(v.clone().requires_grad_());
        xg.push_back(gpu(v).requires_grad_());
      }
      Tensor y = c.f(xs), yg = c.f(xg);
      REQUIRE(yg.device().is_cuda());
      CHECK_CLOSE(yg, y, 0, 0, std::string(c.name) + " forward");
      Tensor g = randn(y.shape(), DType::Float64);
      y.backward(g);
      yg.backward(gpu(g));
      for (size_t i = 0; i < xs.size(); ++i) {
        if (!xs[i].grad().defined()) continue;
        REQUIRE(xg[i].grad().defined());
        CHECK(xg[i].grad().device().is_cuda());
        CHECK_CLOSE(xg[i].grad(), xs[i].grad(), 1e-12, 1e-12, std::string(c.name) + " gradient " + std::to_string(i));
      }
    }
  }
}
