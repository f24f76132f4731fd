// CUDA vs CPU for the element-wise family (cuda/elementwise.cu) and the copy primitive
// (cuda/copy.h): forward and backward of every op on the broadcast cases of tests/cases/elementwise.h,
// float32 (rel 1e-6 for + - * /, 1e-5 for transcendental maps) and float64 (1e-12), comparisons
// exact in every dtype, non-contiguous inputs, in-place ops on strided slices, copies between all
// dtype pairs, and the errors for mixed-device operands.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>

#include "../cases/elementwise.h"
#include "../test_util.h"
#include "cuda/copy.h"
#include "tensor/dispatch.h"
#include "tensor/ops.h"

using namespace fk;

namespace {

const Device kGpu = Device::cuda();

Tensor gpu(const Tensor& t) { return t.to(kGpu); }

// Tolerances by dtype: float32 gets `rtol32` (and a small atol for values near 0), float64 1e-12.
struct Tol {
  double atol, rtol;
};
Tol tol_for(DType t, double rtol32) { return t == DType::Float32 ? Tol{rtol32 * 0.1, rtol32} : Tol{1e-12, 1e-12}; }

using Binary = std::function<Tensor(const Tensor&, const Tensor&)>;
using Unary = std::function<Tensor(const Tensor&)>;

// f(a, b) through autograd on the CPU and on the GPU: the output and both gradients must agree.
// (Backward of a broadcast operand sums over the broadcast dims, so the gradients get a looser
// tolerance in float32: the GPU sums in another order.)
void check_binary(const std::string& label, const Binary& f, const Tensor& a, const Tensor& b, Tol tol) {
  Tensor ac = a.clone().requires_grad_(), bc = b.clone().requires_grad_();
  Tensor ag = gpu(a).requires_grad_(), bg = gpu(b).requires_grad_();
  Tensor yc = f(ac, bc), yg = f(ag, bg);
  REQUIRE(yg.device().is_cuda());
  CHECK_CLOSE(yg, yc.detach(), tol.atol, tol.rtol, label + " forward");
  Tensor dy = randn(yc.shape(), yc.dtype());
  yc.backward(dy);
  yg.backward(gpu(dy));
  double gtol = a.dtype() == DType::Float32 ? 1e-5 : 1e-12;
  CHECK_CLOSE(ag.grad(), ac.grad(), gtol, gtol, label + " da");
  CHECK_CLOSE(bg.grad(), bc.grad(), gtol, gtol, label + " db");
}

// f(x) through autograd on both devices: output and dx.
void check_unary(const std::string& label, const Unary& f, const Tensor& x, Tol tol, bool backward = true) {
  Tensor xc = x.clone().requires_grad_(), xg = gpu(x).requires_grad_();
  Tensor yc = f(xc), yg = f(xg);
  REQUIRE(yg.device().is_cuda());
  CHECK_CLOSE(yg, yc.detach(), tol.atol, tol.rtol, label + " forward");
  if (!backward) return;
  Tensor dy = randn(yc.shape(), yc.dtype());
  yc.backward(dy);
  yg.backward(gpu(dy));
  CHECK_CLOSE(xg.grad(), xc.grad(), tol.atol, tol.rtol, label + " dx");
}

std::string what(const char* op, DType t, const char* shape_case) {
  return std::string(op) + " " + dtype_name(t) + " (" + shape_case + ")";
}

}  // namespace

TEST_CASE("elementwise cuda: binary ops match the CPU on every broadcast case, forward and backward") {
  for (DType t : {DType::Float32, DType::Float64}) {
    for (const auto& c : test::kBroadcastCases) {
      SUBCASE((std::string(dtype_name(t)) + " " + c.name).c_str()) {
        manual_seed(10);
        Tensor a = randn(c.a, t), b = randn(c.b, t);
        Tensor pos = ops::add(ops::abs(a), 0.5);  // pow's base stays positive
        Tol basic = tol_for(t, 1e-6), trans = tol_for(t, 1e-5);
        check_binary(what("add", t, c.name), [](auto& x, auto& y) { return fk::add(x, y); }, a, b, basic);
        check_binary(what("sub", t, c.name), [](auto& x, auto& y) { return fk::sub(x, y); }, a, b, basic);
        check_binary(what("mul", t, c.name), [](auto& x, auto& y) { return fk::mul(x, y); }, a, b, basic);
        check_binary(what("div", t, c.name), [](auto& x, auto& y) { return fk::div(x, y); }, a, b, basic);
        check_binary(what("pow", t, c.name), [](auto& x, auto& y) { return fk::pow(x, y); }, pos, b, trans);
        check_binary(what("maximum", t, c.name), [](auto& x, auto& y) { return fk::maximum(x, y); }, a, b, basic);
        check_binary(what("minimum", t, c.name), [](auto& x, auto& y) { return fk::minimum(x, y); }, a, b, basic);
        // relu_backward(dy, y) has no graph: forward only
        Tensor y = ops::relu(b);
        CHECK_CLOSE(ops::relu_backward(gpu(a), gpu(y)), ops::relu_backward(a, y), 0, 0,
                    what("relu_backward", t, c.name));
      }
    }
  }
}

TEST_CASE("elementwise cuda: unary maps and scalar forms match the CPU, forward and backward") {
  for (DType t : {DType::Float32, DType::Float64}) {
    SUBCASE(dtype_name(t)) {
      manual_seed(11);
      Tensor x = randn({3, 5, 7}, t);
      // keep the kinks of abs/relu/clamp away from the random values' neighbourhood
      x = ops::add(x, ops::mul(ops::sign(x), 0.01));
      Tensor pos = ops::add(ops::abs(x), 0.1);             // log, sqrt
      Tensor unit = ops::sub(ops::mul(rand({3, 5, 7}, t), 1.8), 0.9);  // acos: inside (-1, 1)
      Tol basic = tol_for(t, 1e-6), trans = tol_for(t, 1e-5);
      check_unary("neg", [](auto& v) { return fk::neg(v); }, x, basic);
      check_unary("abs", [](auto& v) { return fk::abs(v); }, x, basic);
      check_unary("relu", [](auto& v) { return fk::relu(v); }, x, basic);
      check_unary("clamp", [](auto& v) { return fk::clamp(v, -0.5, 0.7); }, x, basic);
      check_unary("clamp lo only", [](auto& v) { return fk::clamp(v, -0.5, std::nullopt); }, x, basic);
      check_unary("exp", [](auto& v) { return fk::exp(v); }, x, trans);
      check_unary("log", [](auto& v) { return fk::log(v); }, pos, trans);
      check_unary("sqrt", [](auto& v) { return fk::sqrt(v); }, pos, trans);
      check_unary("tanh", [](auto& v) { return fk::tanh(v); }, x, trans);
      check_unary("sigmoid", [](auto& v) { return fk::sigmoid(v); }, x, trans);
      check_unary("cos", [](auto& v) { return fk::cos(v); }, x, trans);
      check_unary("sin", [](auto& v) { return fk::sin(v); }, x, trans);
      check_unary("acos", [](auto& v) { return fk::acos(v); }, unit, trans);
      check_unary("add scalar", [](auto& v) { return fk::add(v, 1.25); }, x, basic);
      check_unary("sub scalar", [](auto& v) { return fk::sub(v, 1.25); }, x, basic);
      check_unary("scalar sub", [](auto& v) { return fk::sub(1.25, v); }, x, basic);
      check_unary("mul scalar", [](auto& v) { return fk::mul(v, -3.0); }, x, basic);
      check_unary("div scalar", [](auto& v) { return fk::div(v, 3.0); }, x, basic);
      check_unary("scalar div", [](auto& v) { return fk::div(3.0, v); }, x, basic);
      check_unary("pow 2", [](auto& v) { return fk::pow(v, 2.0); }, x, basic);
      check_unary("pow 1.7", [](auto& v) { return fk::pow(v, 1.7); }, pos, trans);
      check_unary("sign", [](const Tensor& v) { return ops::sign(v); }, x, basic, /*backward=*/false);
    }
  }
}

TEST_CASE("elementwise cuda: NaN and overflow rules are the CPU's") {
  for (DType t : {DType::Float32, DType::Float64}) {
    SUBCASE(dtype_name(t)) {
      Tensor x = tensor({NAN, -1000, -80, -1, 0, 1, 80, 1000, INFINITY, -INFINITY}, t);
      Tensor y = tensor({1, NAN, -80, 2, 0, 0.5, 81, 999, 1, 0}, t);
      for (auto& [name, f] : std::vector<std::pair<std::string, Unary>>{
               {"sigmoid", [](const Tensor& v) { return ops::sigmoid(v); }},
               {"relu", [](const Tensor& v) { return ops::relu(v); }},
               {"clamp", [](const Tensor& v) { return ops::clamp(v, -1.0, 1.0); }},
               {"sign", [](const Tensor& v) { return ops::sign(v); }},
               {"exp", [](const Tensor& v) { return ops::exp(v); }}}) {
        Tensor ref = f(x), got = f(gpu(x));
        CHECK_CLOSE(got, ref, 0, 1e-6, name);
        // sigmoid never gives NaN for a non-NaN input (no inf/inf)
        if (name == "sigmoid") CHECK_FALSE(std::isnan(got.to_vector<double>()[1]));
      }
      CHECK_CLOSE(ops::maximum(gpu(x), gpu(y)), ops::maximum(x, y), 0, 0, "maximum with NaN");
      CHECK_CLOSE(ops::minimum(gpu(x), gpu(y)), ops::minimum(x, y), 0, 0, "minimum with NaN");
      CHECK(std::isnan(ops::maximum(gpu(x), gpu(y)).to_vector<double>()[1]));  // NaN in b propagates
    }
  }
}

TEST_CASE("elementwise cuda: comparisons are exact in every dtype, with broadcasting and scalars") {
  manual_seed(12);
  for (DType t : {DType::Float32, DType::Float64, DType::Int64, DType::UInt8, DType::Bool}) {
    for (const auto& c : test::kBroadcastCases) {
      SUBCASE((std::string(dtype_name(t)) + " " + c.name).c_str()) {
        // small integers so that equality happens often
        Tensor a = randint(0, 3, c.a).to(t), b = randint(0, 3, c.b).to(t);
        Tensor ag = gpu(a), bg = gpu(b);
        auto same = [&](const Tensor& got, const Tensor& ref, const char* op) {
          REQUIRE(got.dtype() == DType::Bool);
          REQUIRE(got.device().is_cuda());
          CHECK_MESSAGE(got.to_vector<uint8_t>() == ref.to_vector<uint8_t>(), what(op, t, c.name));
        };
        same(ops::eq(ag, bg), ops::eq(a, b), "eq");
        same(ops::ne(ag, bg), ops::ne(a, b), "ne");
        same(ops::lt(ag, bg), ops::lt(a, b), "lt");
        same(ops::le(ag, bg), ops::le(a, b), "le");
        same(ops::gt(ag, bg), ops::gt(a, b), "gt");
        same(ops::ge(ag, bg), ops::ge(a, b), "ge");
        same(ops::eq(ag, 1.0), ops::eq(a, 1.0), "eq scalar");
        same(ops::lt(ag, 1.0), ops::lt(a, 1.0), "lt scalar");
        same(ops::ge(ag, 1.0), ops::ge(a, 1.0), "ge scalar");
      }
    }
  }
}

TEST_CASE("elementwise cuda: where broadcasts condition and both branches, with gradients") {
  for (DType t : {DType::Float32, DType::Float64}) {
    SUBCASE(dtype_name(t)) {
      manual_seed(13);
      Tensor cond = ops::gt(randn({3, 1, 4}, t), 0.0);
      Tensor cond_gpu = gpu(cond);
      Tensor a = randn({5, 1}, t), b = randn({5, 4}, t);  // with cond [3, 1, 4]: out [3, 5, 4]
      check_binary(
          what("where", t, "3-way broadcast"),
          [&](const Tensor& x, const Tensor& y) { return fk::where(x.device().is_cuda() ? cond_gpu : cond, x, y); }, a,
          b, tol_for(t, 1e-6));
    }
  }
}

TEST_CASE("elementwise cuda: non-contiguous inputs are read through their strides") {
  for (DType t : {DType::Float32, DType::Float64}) {
    SUBCASE(dtype_name(t)) {
      manual_seed(14);
      Tensor base = randn({6, 4}, t), other = randn({4, 6}, t);
      Tensor xt = ops::transpose(base, 0, 1);                  // [4, 6], strides {1, 4}
      Tensor xs = ops::slice(other, 1, 0, 6, 2);               // [4, 3], strides {6, 2}
      Tensor xtg = ops::transpose(gpu(base), 0, 1), xsg = ops::slice(gpu(other), 1, 0, 6, 2);
      REQUIRE_FALSE(xtg.is_contiguous());
      REQUIRE_FALSE(xsg.is_contiguous());
      Tol tol = tol_for(t, 1e-5);
      CHECK_CLOSE(ops::mul(xtg, gpu(other)), ops::mul(xt, other), tol.atol, tol.rtol, "mul(transposed, contiguous)");
      CHECK_CLOSE(ops::sub(xsg, ops::slice(xtg, 1, 0, 3)), ops::sub(xs, ops::slice(xt, 1, 0, 3)), tol.atol, tol.rtol,
                  "sub(slice, transposed slice)");
      CHECK_CLOSE(ops::tanh(xtg), ops::tanh(xt), tol.atol, tol.rtol, "tanh(transposed)");
      CHECK_CLOSE(ops::add(xtg, 2.0), ops::add(xt, 2.0), tol.atol, tol.rtol, "add scalar (transposed)");
      CHECK(ops::lt(xtg, gpu(other)).to_vector<uint8_t>() == ops::lt(xt, other).to_vector<uint8_t>());
      // the copies behind contiguous()/clone()/to(cpu) of a strided CUDA tensor
      CHECK(xtg.contiguous().device().is_cuda());
      CHECK(xtg.contiguous().is_contiguous());
      CHECK(xtg.to(Device::cpu()).to_vector<double>() == xt.to_vector<double>());
      CHECK(xsg.clone().to_vector<double>() == xs.to_vector<double>());
    }
  }
}

TEST_CASE("elementwise cuda: in-place ops on a strided slice touch only the slice") {
  for (DType t : {DType::Float32, DType::Float64}) {
    SUBCASE(dtype_name(t)) {
      manual_seed(15);
      Tensor cpu_base = randn({6, 5}, t);
      Tensor gpu_base = gpu(cpu_base);
      Tensor row = randn({5}, t), full_b = randn({3, 5}, t);
      Tensor cv = ops::slice(cpu_base, 0, 1, 6, 2), gv = ops::slice(gpu_base, 0, 1, 6, 2);  // rows 1, 3, 5
      ops::add_(cv, row, -0.75);
      ops::add_(gv, gpu(row), -0.75);
      ops::add_(cv, full_b);
      ops::add_(gv, gpu(full_b));
      ops::mul_(cv, full_b);
      ops::mul_(gv, gpu(full_b));
      ops::mul_(cv, 1.5);
      ops::mul_(gv, 1.5);
      Tol tol = tol_for(t, 1e-6);
      CHECK_CLOSE(gpu_base, cpu_base, tol.atol, tol.rtol, "add_/mul_ on rows 1, 3, 5");
      // x + alpha * y may round once (an FMA: nvcc contracts it, a CPU build without FMA does not),
      // so the two bases can differ in the last bit here; start the exact checks below from equal ones
      ops::copy_(cpu_base, gpu_base.to(Device::cpu()));
      CHECK_CLOSE(gpu_base, cpu_base, 0, 0, "bases equal before fill_");

      Tensor col_c = ops::slice(cpu_base, 1, 0, 5, 3), col_g = ops::slice(gpu_base, 1, 0, 5, 3);  // columns 0, 3
      ops::fill_(col_c, -4.0);
      ops::fill_(col_g, -4.0);
      CHECK_CLOSE(gpu_base, cpu_base, 0, 0, "fill_ on columns 0, 3");

      Tensor src = tensor({7, 8}, {2}, DType::Int64);  // broadcast along rows, converted to t
      ops::copy_(col_c, src);
      ops::copy_(col_g, gpu(src));
      CHECK_CLOSE(gpu_base, cpu_base, 0, 0, "copy_ int64 -> strided columns");
      ops::copy_(col_g, src);  // a CPU source is moved to the GPU first
      CHECK_CLOSE(gpu_base, cpu_base, 0, 0, "copy_ from a CPU source");
      CHECK(gpu_base.to_vector<double>()[3] == 8);
    }
  }
}

TEST_CASE("elementwise cuda: copy_strided converts between every dtype pair") {
  const std::vector<DType> dtypes = {DType::Float32, DType::Float64, DType::Int64, DType::UInt8, DType::Bool};
  Tensor values = tensor({0, 1, 2.5, 7, 0, 200, 3, 1, 0, 255, 4, 9}, {3, 4}, DType::Float64);
  for (DType from : dtypes) {
    for (DType to : dtypes) {
      SUBCASE((std::string(dtype_name(from)) + " -> " + dtype_name(to)).c_str()) {
        Tensor src_cpu = values.to(from);
        Tensor src = gpu(src_cpu);
        Tensor expect = src_cpu.to(to);
        // contiguous source and destination
        Tensor dst = empty({3, 4}, to, kGpu);
        cuda::copy_strided(dst, src);
        CHECK(dst.to_vector<double>() == expect.to_vector<double>());
        // transposed source into a strided destination
        Tensor big = zeros({4, 6}, to, kGpu);
        Tensor dview = ops::slice(big, 1, 0, 6, 2);  // [4, 3]
        cuda::copy_strided(dview, ops::transpose(src, 0, 1));
        CHECK(dview.to_vector<double>() == ops::transpose(expect, 0, 1).to_vector<double>());
        CHECK(ops::slice(big, 1, 1, 6, 2).to_vector<double>() == std::vector<double>(12, 0.0));  // untouched
        // Tensor::to(DType) of a CUDA tensor stays on the GPU
        Tensor conv = src.to(to);
        CHECK(conv.device().is_cuda());
        CHECK(conv.dtype() == to);
        CHECK(conv.to_vector<double>() == expect.to_vector<double>());
      }
    }
  }
}

TEST_CASE("elementwise cuda: full, ones and float16 copies on the GPU") {
  Tensor f = full({2, 3}, 2.5, DType::Float64, kGpu);
  CHECK(f.device().is_cuda());
  CHECK(f.to_vector<double>() == std::vector<double>(6, 2.5));
  CHECK(ones({4}, DType::Bool, kGpu).to_vector<uint8_t>() == std::vector<uint8_t>(4, 1));
  CHECK(ones({4}, DType::Int64, kGpu).to_vector<int64_t>() == std::vector<int64_t>(4, 1));
  // float16 is copied as bytes on the GPU; converting it goes through the host
  Tensor h = tensor({1, 2, 3, 4, 5, 6}, {2, 3}).to(DType::Float16);
  Tensor hg = ops::transpose(gpu(h), 0, 1).contiguous();
  CHECK(hg.device().is_cuda());
  CHECK(hg.to(DType::Float32).to_vector<float>() == std::vector<float>{1, 4, 2, 5, 3, 6});
}

TEST_CASE("elementwise cuda: a CPU operand with a CUDA operand is a clear error") {
  Tensor a = randn({2, 3}), b = gpu(randn({2, 3}));
  auto message = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::string m = message([&] { ops::add(a, b); });
  CHECK_MESSAGE(m.find("add: device mismatch") != std::string::npos, m);
  CHECK_MESSAGE(m.find("(cpu)") != std::string::npos, m);
  CHECK_MESSAGE(m.find("(cuda:0)") != std::string::npos, m);
  m = message([&] { ops::lt(b, a); });
  CHECK_MESSAGE(m.find("lt: device mismatch") != std::string::npos, m);
  m = message([&] { ops::where(ops::gt(a, 0.0), b, b); });
  CHECK_MESSAGE(m.find("where: device mismatch") != std::string::npos, m);
  Tensor bv = b;
  m = message([&] { ops::add_(bv, a); });
  CHECK_MESSAGE(m.find("add_: device mismatch") != std::string::npos, m);
}
