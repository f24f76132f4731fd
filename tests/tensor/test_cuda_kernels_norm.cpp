// The per-index CUDA kernels of batch norm (cuda/norm_kernels.h) run on the CPU with cuda::emulate,
// compared with the CPU op fk::ops::batch_norm / batch_norm_backward: the index arithmetic and the
// shared math (tensor/cpu/norm_math.h) of the GPU kernels, tested without a GPU. The per-channel
// block reductions of cuda/norm.cu are covered by tests/cuda/test_norm.cpp on a GPU.
#include <vector>

#include "cuda/norm_kernels.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"
#include "tensor/norm.h"
#include "test_util.h"

using namespace fk;

namespace {

int64_t spatial(const Shape& s) {
  int64_t S = 1;
  for (size_t d = 2; d < s.size(); ++d) S *= s[d];
  return S;
}

// positive random values (running variances)
Tensor positive(const Shape& s, DType dt) { return ops::add(rand(s, dt), 0.5); }

}  // namespace

TEST_CASE("cuda batch_norm kernels: forward functor matches the CPU op (emulated)") {
  manual_seed(11);
  for (DType dt : {DType::Float64, DType::Float32}) {
    for (Shape shape : {Shape{7, 3}, Shape{4, 3, 6}, Shape{2, 4, 5, 3}}) {
      for (bool affine : {true, false}) {
        const int64_t N = shape[0], C = shape[1], S = spatial(shape);
        Tensor x = ops::add(randn(shape, dt), 3.0);
        Tensor w = affine ? randn({C}, dt) : Tensor(), b = affine ? randn({C}, dt) : Tensor();
        ops::BatchNormResult r = ops::batch_norm(x, w, b, Tensor(), Tensor(), true, 0.1, 1e-5);
        Tensor y = full(shape, std::nan(""), dt);  // assigned: NaN until written
        double tol = dt == DType::Float64 ? 1e-13 : 1e-5;
        dispatch_float(dt, "test", [&]<class T>() {
          cuda::emulate(N * C * S, cuda::BatchNormForward<T>{x.data<T>(), r.save_mean.data<T>(), r.save_invstd.data<T>(),
                                                             affine ? w.data<T>() : nullptr,
                                                             affine ? b.data<T>() : nullptr, C, S, y.data<T>()});
        });
        CHECK_CLOSE(y, r.y, tol, tol, "BatchNormForward(x=" + shape_str(shape) + ", affine=" + std::to_string(affine) + ")");
      }
    }
  }
}

TEST_CASE("cuda batch_norm kernels: eval statistics functor reads strided running stats") {
  manual_seed(12);
  const int64_t C = 5;
  Tensor x = randn({3, C, 2});
  Tensor rm = randn({C}, DType::Float64), rv = positive({C}, DType::Float64);
  ops::BatchNormResult r = ops::batch_norm(x.to(DType::Float64), Tensor(), Tensor(), rm, rv, false, 0.1, 1e-3);
  // the running stats interleaved at stride 2 (as a strided view would be)
  std::vector<double> rm2(2 * C, -7.0), rv2(2 * C, -7.0);
  for (int64_t c = 0; c < C; ++c) {
    rm2[size_t(2 * c)] = rm.to_vector<double>()[size_t(c)];
    rv2[size_t(2 * c)] = rv.to_vector<double>()[size_t(c)];
  }
  Tensor mean = full({C}, std::nan(""), DType::Float64), invstd = full({C}, std::nan(""), DType::Float64);
  cuda::emulate(C, cuda::BatchNormEvalStats<double>{rm2.data(), 2, rv2.data(), 2, 1e-3, mean.data<double>(),
                                                    invstd.data<double>()});
  CHECK_CLOSE(mean, r.save_mean, 0, 0, "BatchNormEvalStats mean");
  CHECK_CLOSE(invstd, r.save_invstd, 1e-15, 1e-15, "BatchNormEvalStats invstd");
  // and the hand value: invstd = 1/sqrt(var + eps)
  CHECK(invstd.to_vector<double>()[0] == doctest::Approx(1.0 / std::sqrt(rv.to_vector<double>()[0] + 1e-3)).epsilon(1e-14));
}

TEST_CASE("cuda batch_norm kernels: backward dx functor with the shared coefficients matches the CPU op") {
  manual_seed(13);
  for (bool training : {true, false}) {
    for (Shape shape : {Shape{6, 4}, Shape{3, 2, 5}, Shape{2, 3, 4, 4}}) {
      const int64_t N = shape[0], C = shape[1], S = spatial(shape), M = N * S;
      Tensor x = randn(shape, DType::Float64), dy = randn(shape, DType::Float64), w = randn({C}, DType::Float64);
      Tensor rm = randn({C}, DType::Float64), rv = positive({C}, DType::Float64);
      ops::BatchNormResult r = ops::batch_norm(x, w, Tensor(), rm, rv, training, 0.1, 1e-5);
      ops::BatchNormGrads g = ops::batch_norm_backward(dy, x, w, r.save_mean, r.save_invstd, training);
      // the per-channel sums the block kernel reduces, then its coefficients (cpu::bn_backward_coefs)
      std::vector<double> k(static_cast<size_t>(C)), ka(static_cast<size_t>(C)), kb(static_cast<size_t>(C));
      const double* xd = x.data<double>();
      const double* dyd = dy.data<double>();
      for (int64_t c = 0; c < C; ++c) {
        double mu = r.save_mean.data<double>()[c], is = r.save_invstd.data<double>()[c];
        double sum_dy = 0, sum_dy_xmu = 0;
        for (int64_t n = 0; n < N; ++n)
          for (int64_t s = 0; s < S; ++s) {
            int64_t off = cpu::bn_offset(n, c, s, C, S);
            sum_dy += dyd[off];
            sum_dy_xmu += dyd[off] * (xd[off] - mu);
          }
        CHECK(g.dbias.data<double>()[c] == doctest::Approx(sum_dy).epsilon(1e-12));
        CHECK(g.dweight.data<double>()[c] == doctest::Approx(sum_dy_xmu * is).epsilon(1e-12));
        cpu::BnBackwardCoefs co = cpu::bn_backward_coefs(sum_dy, sum_dy_xmu, is, w.data<double>()[c], M, training);
        k[size_t(c)] = co.k;
        ka[size_t(c)] = co.ka;
        kb[size_t(c)] = co.kb;
      }
      Tensor dx = full(shape, std::nan(""), DType::Float64);
      cuda::emulate(N * C * S, cuda::BatchNormBackwardDx<double>{dyd, xd, r.save_mean.data<double>(), k.data(),
                                                                 ka.data(), kb.data(), C, S, dx.data<double>()});
      CHECK_CLOSE(dx, g.dx, 1e-12, 1e-10,
                  "BatchNormBackwardDx(x=" + shape_str(shape) + ", training=" + std::to_string(training) + ")");
      if (!training) {  // eval: dx = w * invstd * dy exactly
        Tensor expect = ops::mul(dy, ops::reshape(ops::mul(w, r.save_invstd), shape.size() == 2 ? Shape{1, C}
                                                                         : shape.size() == 3 ? Shape{1, C, 1}
                                                                                             : Shape{1, C, 1, 1}));
        CHECK_CLOSE(dx, expect, 1e-12, 1e-12, "eval dx = w * invstd * dy");
      }
    }
  }
}
