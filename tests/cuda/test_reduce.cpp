// CUDA vs CPU: the reductions of tensor/reduce.h (cuda/reduce.cu). The same random input on both
// devices; float64 must agree to 1e-10, float32 to 1e-5 relative (both devices accumulate in double,
// so only the order of the additions differs). Covers one and several reduced dims (adjacent or not),
// keepdim, non-contiguous inputs, the block kernels (long rows, 1M elements, N*H*W per channel),
// ties and NaN in max/min/argmax, sum_to, and the backward of each through autograd.
#include <cmath>
#include <limits>

#include "tensor/shape_ops.h"
#include "test_util.h"

using namespace fk;

namespace {
Tensor gpu(const Tensor& t) { return t.to(Device::cuda()); }
Tensor host(const Tensor& t) { return t.to(Device::cpu()); }
const DType kFloatTypes[] = {DType::Float32, DType::Float64};
double rtol(DType dt) { return dt == DType::Float64 ? 1e-10 : 1e-5; }
std::string dims_str(const ops::Dims& d) {
  std::string s = "{";
  for (size_t i = 0; i < d.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(d[i]);
  }
  return s + "}";
}

// sum, mean and var (both corrections) of x over dims, GPU vs CPU; x is a CPU tensor
void check_moments(const Tensor& x, const Tensor& xg, const ops::Dims& dims, bool keepdim, const std::string& what) {
  double rt = rtol(x.dtype()), at = rt;
  std::string label = what + " x=" + shape_str(x.shape()) + " dims=" + dims_str(dims) + " keepdim=" +
                      std::to_string(keepdim) + " " + dtype_name(x.dtype());
  Tensor s = ops::sum(xg, dims, keepdim);
  CHECK(s.device().is_cuda());
  CHECK_CLOSE(host(s), ops::sum(x, dims, keepdim), at * std::sqrt(double(x.numel())), rt, "sum " + label);
  CHECK_CLOSE(host(ops::mean(xg, dims, keepdim)), ops::mean(x, dims, keepdim), at, rt, "mean " + label);
  CHECK_CLOSE(host(ops::var(xg, dims, true, keepdim)), ops::var(x, dims, true, keepdim), at, rt, "var " + label);
  CHECK_CLOSE(host(ops::var(xg, dims, false, keepdim)), ops::var(x, dims, false, keepdim), at, rt,
              "var(unbiased=false) " + label);
}
}  // namespace

TEST_CASE("sum, mean, var: GPU matches CPU over one and several dims, with keepdim") {
  const ops::Dims dim_sets[] = {{}, {0}, {1}, {3}, {-1}, {1, 2}, {0, 1}, {2, 3}, {0, 2, 3}, {0, 3}, {0, 1, 2, 3}};
  for (DType dt : kFloatTypes) {
    SUBCASE(dtype_name(dt)) {
      manual_seed(401);
      Tensor x = randn({2, 3, 4, 5}, dt);
      Tensor xg = gpu(x);
      for (const ops::Dims& dims : dim_sets)
        for (bool keepdim : {false, true}) check_moments(x, xg, dims, keepdim, "small");
    }
  }
}

TEST_CASE("sum, mean, var: long reductions take the block kernels") {
  struct Big {
    Shape shape;
    ops::Dims dims;
  };
  const Big bigs[] = {
      {{1 << 20}, {}},              // mean over all of a 1M tensor: rows split over many blocks
      {{8, 16, 64, 64}, {0, 2, 3}}, // N*H*W per channel (a permuted copy, then one block per channel)
      {{300, 1000}, {1}},           // many long rows: one block per row
      {{100000, 3}, {0}},           // few long columns: transposed into rows
      {{4, 5000}, {-1}},            // var's two-pass block kernel
      {{64, 300, 7}, {1}},          // columns (inner 7): one thread per output
  };
  for (DType dt : kFloatTypes) {
    SUBCASE(dtype_name(dt)) {
      for (const Big& b : bigs) {
        manual_seed(402);
        Tensor x = ops::add(randn(b.shape, dt), 0.5);  // a non-zero mean: sums far from 0
        check_moments(x, gpu(x), b.dims, false, "large");
      }
    }
  }
}

TEST_CASE("sum, mean, var, max: non-contiguous inputs (transposed, sliced)") {
  for (DType dt : kFloatTypes) {
    SUBCASE(dtype_name(dt)) {
      manual_seed(403);
      Tensor base = randn({6, 5, 8}, dt);
      Tensor bg = gpu(base);
      Tensor xt = ops::transpose(base, 0, 2), xtg = ops::transpose(bg, 0, 2);              // (8, 5, 6)
      Tensor xs = ops::slice(base, 2, 1, 8, 2), xsg = ops::slice(bg, 2, 1, 8, 2);          // (6, 5, 4)
      REQUIRE(!xtg.is_contiguous());
      REQUIRE(!xsg.is_contiguous());
      for (const ops::Dims& dims : {ops::Dims{}, ops::Dims{0}, ops::Dims{1, 2}, ops::Dims{0, 2}}) {
        check_moments(xt, xtg, dims, false, "transposed");
        check_moments(xs, xsg, dims, true, "sliced");
      }
      auto [v, i] = ops::max(xtg, 1);
      auto [rv, ri] = ops::max(xt, 1);
      CHECK_CLOSE(host(v), rv, 0, 0, "max of a transposed input");
      CHECK(host(i).to_vector<int64_t>() == ri.to_vector<int64_t>());
    }
  }
}

TEST_CASE("max, min: values and the first index among ties, per dim and in long rows") {
  struct Case {
    Shape shape;
    int64_t dim;
  };
  const Case cases[] = {{{4, 7}, 0}, {{4, 7}, 1}, {{3, 4, 5}, 1}, {{3, 4, 5}, -1}, {{5, 2000}, 1}, {{3000, 2}, 0},
                        {{7}, 0}};
  for (DType dt : kFloatTypes) {
    SUBCASE(dtype_name(dt)) {
      manual_seed(404);
      for (const Case& c : cases) {
        Tensor x = randint(-3, 3, c.shape).to(dt);  // small integers: every row has ties
        Tensor xg = gpu(x);
        for (bool keepdim : {false, true}) {
          std::string label = "x=" + shape_str(c.shape) + " dim=" + std::to_string(c.dim) + " " + dtype_name(dt);
          auto [v, i] = ops::max(xg, c.dim, keepdim);
          auto [rv, ri] = ops::max(x, c.dim, keepdim);
          CHECK_CLOSE(host(v), rv, 0, 0, "max " + label);
          CHECK_MESSAGE(host(i).to_vector<int64_t>() == ri.to_vector<int64_t>(), "max indices " << label);
          CHECK(i.dtype() == DType::Int64);
          auto [mv, mi] = ops::min(xg, c.dim, keepdim);
          auto [rmv, rmi] = ops::min(x, c.dim, keepdim);
          CHECK_CLOSE(host(mv), rmv, 0, 0, "min " + label);
          CHECK_MESSAGE(host(mi).to_vector<int64_t>() == rmi.to_vector<int64_t>(), "min indices " << label);
          Tensor am = ops::argmax(xg, c.dim, keepdim);
          CHECK(am.shape() == ri.shape());
          CHECK_MESSAGE(host(am).to_vector<int64_t>() == ri.to_vector<int64_t>(), "argmax " << label);
        }
      }
    }
  }
}

TEST_CASE("max, min, argmax: NaN propagates on the GPU as on the CPU") {
  double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> v(600, 1.0);
  v[5] = 9;
  v[300] = nan;
  v[450] = nan;
  Tensor x = tensor(v, {2, 300}, DType::Float64);  // row 0: 9 at 5; row 1: NaN at 0 and 150
  auto [mv, mi] = ops::max(gpu(x), 1);
  auto [rv, ri] = ops::max(x, 1);
  CHECK_CLOSE(host(mv), rv, 0, 0, "max with NaN");
  CHECK(host(mi).to_vector<int64_t>() == std::vector<int64_t>{5, 0});
  CHECK(host(mi).to_vector<int64_t>() == ri.to_vector<int64_t>());
  CHECK(std::isnan(ops::max(gpu(x)).item()));
  CHECK(ops::argmax(gpu(x)).item() == 300);
  CHECK(std::isnan(ops::min(gpu(x)).item()));
}

TEST_CASE("max(), min(), argmax(): over all elements, small and 1M with ties") {
  for (DType dt : kFloatTypes) {
    SUBCASE(dtype_name(dt)) {
      manual_seed(405);
      for (Shape s : {Shape{}, Shape{3, 4}, Shape{1 << 20}, Shape{64, 128, 128}}) {
        Tensor x = s.empty() ? scalar_tensor(2.5, dt) : randint(-1000, 1000, s).to(dt);
        Tensor xg = gpu(x);
        std::string label = "x=" + shape_str(s) + " " + dtype_name(dt);
        CHECK_MESSAGE(ops::max(xg).item() == ops::max(x).item(), "max() " << label);
        CHECK_MESSAGE(ops::min(xg).item() == ops::min(x).item(), "min() " << label);
        CHECK_MESSAGE(ops::argmax(xg).item() == ops::argmax(x).item(), "argmax() " << label);
        CHECK(ops::max(xg).dim() == 0);
      }
      // the maximum also in a non-contiguous view
      Tensor x = randn({300, 40}, dt);
      CHECK(ops::argmax(ops::transpose(gpu(x), 0, 1)).item() == ops::argmax(ops::transpose(x, 0, 1)).item());
    }
  }
}

TEST_CASE("sum_to: GPU matches CPU") {
  for (DType dt : kFloatTypes) {
    SUBCASE(dtype_name(dt)) {
      manual_seed(406);
      Tensor g = randn({2, 3, 4, 5}, dt);
      for (Shape s : {Shape{3, 1, 1}, Shape{1, 5}, Shape{5}, Shape{2, 3, 4, 5}, Shape{1, 1, 1, 1}, Shape{}}) {
        Tensor r = ops::sum_to(gpu(g), s);
        CHECK(r.device().is_cuda());
        CHECK_CLOSE(host(r), ops::sum_to(g, s), rtol(dt), rtol(dt), "sum_to " + shape_str(s));
      }
    }
  }
}

TEST_CASE("index_reduce_backward: GPU matches CPU") {
  for (DType dt : kFloatTypes) {
    SUBCASE(dtype_name(dt)) {
      manual_seed(407);
      Shape xs{3, 4, 5};
      Tensor x = randn(xs, dt);
      for (int64_t dim : {0, 1, 2})
        for (bool keepdim : {false, true}) {
          auto [v, idx] = ops::max(x, dim, keepdim);
          Tensor dy = randn(v.shape(), dt);
          Tensor dx = ops::index_reduce_backward(gpu(dy), gpu(idx), xs, dim, keepdim);
          CHECK(dx.device().is_cuda());
          CHECK_CLOSE(host(dx), ops::index_reduce_backward(dy, idx, xs, dim, keepdim), 0, 0,
                      "index_reduce_backward dim=" + std::to_string(dim));
        }
    }
  }
}

TEST_CASE("sum, mean, var, max, min: backward through autograd, GPU matches CPU") {
  for (DType dt : kFloatTypes) {
    SUBCASE(dtype_name(dt)) {
      manual_seed(408);
      Tensor x0 = randn({3, 4, 5}, dt);
      double rt = rtol(dt);
      auto run = [&](const char* name, auto f) {
        Tensor xc = x0.clone().requires_grad_(), xg = gpu(x0).requires_grad_();
        Tensor yc = f(xc), yg = f(xg);
        Tensor g = randn(yc.shape(), dt);
        yc.backward(g);
        yg.backward(gpu(g));
        REQUIRE(xg.grad().defined());
        CHECK(xg.grad().device().is_cuda());
        CHECK_CLOSE(host(yg), yc, rt, rt, std::string(name) + " forward");
        CHECK_CLOSE(host(xg.grad()), xc.grad(), rt, rt, std::string(name) + " backward");
      };
      run("sum{1,2}", [](const Tensor& t) { return fk::sum(t, {1, 2}); });
      run("mean{0}", [](const Tensor& t) { return fk::mean(t, {0}, true); });
      run("var{-1}", [](const Tensor& t) { return fk::var(t, {-1}); });
      run("max(dim 1)", [](const Tensor& t) { return fk::max(t, 1).first; });
      run("min(dim 2)", [](const Tensor& t) { return fk::min(t, 2, true).first; });
      run("max()", [](const Tensor& t) { return fk::max(t); });
    }
  }
}
