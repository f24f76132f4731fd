// gradcheck (see gradcheck.h): one backward for the analytic gradient, two forwards per input
// element for the numeric one.
#include "autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "autograd/node.h"
#include "tensor/ops.h"
#include "tensor/random.h"

namespace fk::autograd {

static Tensor random_like(const Shape& shape, Generator& gen) {
  Tensor t = empty(shape, DType::Float64);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = gen.normal();
  return t;
}

// sum(f(x) * g) with recording off
static double projected(const GradcheckFn& f, const std::vector<Tensor>& inputs, const Tensor& g) {
  NoGrad no_grad;
  Tensor out = f(inputs);
  return ops::sum(ops::mul(out.to(DType::Float64), g)).item();
}

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, double eps, double atol,
                          double rtol, bool allow_zero) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    FK_CHECK(x.defined() && x.dtype() == DType::Float64, "gradcheck: input ", i, " is ", x.str(),
             ", expected float64 (finite differences in float32 are too coarse)");
    FK_CHECK(x.is_contiguous() && x.is_leaf(), "gradcheck: input ", i, " must be a contiguous leaf tensor");
  }
  Generator gen(20261122);
  Tensor out = f(inputs);
  FK_CHECK(out.dtype() == DType::Float64, "gradcheck: f returned ", out.str(), ", expected float64");
  Tensor g = random_like(out.shape(), gen);

  std::vector<Tensor> initial(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].requires_grad()) continue;
    initial[i] = random_like(inputs[i].shape(), gen);
    Tensor x = inputs[i];
    x.set_grad(initial[i].clone());
  }
  if (out.requires_grad()) out.backward(g);

  GradcheckResult result;
  bool all_zero = true;  // every analytic entry exactly 0, every numeric one within atol of 0
  int64_t checked = 0;
  for (size_t i = 0; i < inputs.size() && result.ok; ++i) {
    Tensor x = inputs[i];
    if (!x.requires_grad()) continue;
    Tensor analytic = ops::sub(x.grad(), initial[i]);
    x.zero_grad();
    const double* a = analytic.data<double>();
    double* p = x.data<double>();
    double max_err = 0;
    int64_t first_bad = -1;
    double bad_a = 0, bad_n = 0;
    for (int64_t j = 0; j < x.numel(); ++j) {
      double orig = p[j];
      p[j] = orig + eps;
      double fp = projected(f, inputs, g);
      p[j] = orig - eps;
      double fm = projected(f, inputs, g);
      p[j] = orig;
      double numeric = (fp - fm) / (2 * eps);
      all_zero = all_zero && a[j] == 0 && std::abs(numeric) <= atol;
      ++checked;
      double err = std::abs(a[j] - numeric);
      if (!(err <= atol + rtol * std::abs(numeric))) {  // NaN fails too
        if (first_bad < 0) {
          first_bad = j;
          bad_a = a[j];
          bad_n = numeric;
        }
      }
      if (!(err <= max_err)) max_err = err;
    }
    if (first_bad >= 0) {
      std::ostringstream os;
      os << "gradcheck: input " << i << " " << shape_str(x.shape()) << ": analytic " << bad_a << " vs numeric "
         << bad_n << " at flat index " << first_bad << " (max |diff| " << max_err << ", atol " << atol << ", rtol "
         << rtol << ")";
      result = {false, os.str()};
    }
  }
  if (result.ok && all_zero && checked > 0 && !allow_zero)
    result = {false, "gradcheck: every analytic and numeric gradient is zero (" + std::to_string(checked) +
                         " entries), so the check proves nothing; pass allow_zero = true where zero is the right answer"};
  for (const Tensor& x : inputs)
    if (x.requires_grad()) {
      Tensor t = x;
      t.zero_grad();
    }
  return result;
}

}  // namespace fk::autograd
