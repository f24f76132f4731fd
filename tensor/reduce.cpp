// Reductions (see reduce.h). Every reduction is computed in the same layout: the kept dims move to
// the front and the reduced dims to the back (a permuted, contiguous copy), so each output element
// reduces one contiguous run of `inner` values. Sums accumulate in double for float32 too.
// CUDA tensors go to cuda/reduce.cu after the argument checks (tests/cuda/test_reduce.cpp); max()/min()/
// argmax() over all elements and sum_to are composed of the per-dim ops, so they route with them.
#include "tensor/reduce.h"

#include <cmath>
#include <limits>

#include "cuda/reduce.h"
#include "tensor/cpu/reduce_math.h"
#include "tensor/creation.h"
#include "tensor/dispatch.h"
#include "tensor/parallel.h"

namespace fk::ops {

// Sorted, de-duplicated, normalised dims; empty -> all.
static Dims normalize_dims(const Dims& dims, int64_t ndim, const char* op) {
  std::vector<bool> on(size_t(std::max<int64_t>(ndim, 1)), dims.empty());
  for (int64_t d : dims) {
    int64_t n = normalize_dim(d, ndim, op);
    FK_CHECK(!on[size_t(n)] || dims.empty(), op, ": dim ", d, " appears more than once");
    on[size_t(n)] = true;
  }
  Dims out;
  for (int64_t d = 0; d < ndim; ++d)
    if (on[size_t(d)]) out.push_back(d);
  return out;
}

Shape keepdim_shape(const Shape& x_shape, const Dims& dims, const char* op) {
  Shape s = x_shape;
  for (int64_t d : normalize_dims(dims, int64_t(x_shape.size()), op)) s[size_t(d)] = 1;
  return s;
}

// The permuted contiguous copy described above; sets outer (output count) and inner (run length).
struct Layout {
  Tensor data;  // (outer, inner) contiguous
  int64_t outer = 1, inner = 1;
  Shape out_shape;
};

static Layout reduce_layout(const Tensor& x, const Dims& dims_in, bool keepdim, const char* op) {
  Dims dims = normalize_dims(dims_in, x.dim(), op);
  std::vector<bool> red(size_t(x.dim()), false);
  for (int64_t d : dims) red[size_t(d)] = true;
  Shape perm_shape, perm_strides;
  Layout L;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (red[size_t(d)]) {
      if (keepdim) L.out_shape.push_back(1);
      continue;
    }
    perm_shape.push_back(x.shape()[size_t(d)]);
    perm_strides.push_back(x.strides()[size_t(d)]);
    L.out_shape.push_back(x.shape()[size_t(d)]);
    L.outer *= x.shape()[size_t(d)];
  }
  for (int64_t d : dims) {
    perm_shape.push_back(x.shape()[size_t(d)]);
    perm_strides.push_back(x.strides()[size_t(d)]);
    L.inner *= x.shape()[size_t(d)];
  }
  L.data = Tensor(x.storage(), perm_shape, perm_strides, x.offset(), x.dtype()).contiguous();
  return L;
}

// out[o] = finish(fold over the o-th run), for float inputs
template <class Fn>
static Tensor reduce_float(const Tensor& x, const Dims& dims, bool keepdim, const char* op, Fn fn) {
  check_float_input(x, op, "x");
  Layout L = reduce_layout(x, dims, keepdim, op);
  Tensor y = empty(L.out_shape, x.dtype());
  dispatch_float(x.dtype(), op, [&]<class T>() {
    const T* p = L.data.template data<T>();
    T* yp = y.data<T>();
    parallel_for(L.outer, std::max<int64_t>(1, 16384 / std::max<int64_t>(L.inner, 1)), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) yp[o] = T(fn(p + o * L.inner, L.inner));
    });
  });
  return y;
}

template <class T>
static double run_sum(const T* p, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += double(p[i]);
  return s;
}

// the device-agnostic checks of sum/mean/var, before a CUDA tensor leaves for cuda/reduce.cu
static void check_reduce_args(const Tensor& x, const Dims& dims, const char* op) {
  check_float_input(x, op, "x");
  normalize_dims(dims, x.dim(), op);
}

Tensor sum(const Tensor& x, const Dims& dims, bool keepdim) {
  check_reduce_args(x, dims, "sum");
  if constexpr (kWithCuda) {
    if (x.device().is_cuda()) return cuda::sum(x, dims, keepdim);
  }
  return reduce_float(x, dims, keepdim, "sum", [](auto p, int64_t n) { return run_sum(p, n); });
}

Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) {
  check_reduce_args(x, dims, "mean");
  if constexpr (kWithCuda) {
    if (x.device().is_cuda()) return cuda::mean(x, dims, keepdim);
  }
  return reduce_float(x, dims, keepdim, "mean", [](auto p, int64_t n) { return run_sum(p, n) / double(n); });
}

Tensor var(const Tensor& x, const Dims& dims, bool unbiased, bool keepdim) {
  check_reduce_args(x, dims, "var");
  if constexpr (kWithCuda) {
    if (x.device().is_cuda()) return cuda::var(x, dims, unbiased, keepdim);
  }
  // two passes (mean, then squared deviations): exact enough and simple
  return reduce_float(x, dims, keepdim, "var", [unbiased](auto p, int64_t n) {
    double m = run_sum(p, n) / double(n);
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += (double(p[i]) - m) * (double(p[i]) - m);
    return cpu::var_finish(ss, n, unbiased);
  });
}

// max/min with indices along one dim; NaN wins (propagates) like PyTorch; first index among ties.
template <bool IsMax>
static std::pair<Tensor, Tensor> extreme(const Tensor& x, int64_t dim, bool keepdim, const char* op) {
  check_float_input(x, op, "x");
  int64_t d = normalize_dim(dim, x.dim(), op);
  FK_CHECK(x.dim() == 0 || x.shape()[size_t(d)] > 0, op, ": cannot reduce over an empty dim ", dim, " of ",
           shape_str(x.shape()));
  if constexpr (kWithCuda) {
    if (x.device().is_cuda()) return IsMax ? cuda::max(x, dim, keepdim) : cuda::min(x, dim, keepdim);
  }
  Layout L = reduce_layout(x, x.dim() == 0 ? Dims{} : Dims{d}, keepdim, op);
  Tensor values = empty(L.out_shape, x.dtype());
  Tensor indices = empty(L.out_shape, DType::Int64);
  dispatch_float(x.dtype(), op, [&]<class T>() {
    const T* p = L.data.template data<T>();
    T* vp = values.data<T>();
    int64_t* ip = indices.data<int64_t>();
    for (int64_t o = 0; o < L.outer; ++o) {
      const T* run = p + o * L.inner;
      int64_t best = 0;
      for (int64_t i = 1; i < L.inner && !std::isnan(run[best]); ++i)
        if (cpu::extreme_replaces<IsMax>(run[i], run[best])) best = i;
      vp[o] = run[best];
      ip[o] = best;
    }
  });
  return {values, indices};
}

std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) { return extreme<true>(x, dim, keepdim, "max"); }
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) { return extreme<false>(x, dim, keepdim, "min"); }

static Tensor flat(const Tensor& x) {
  Tensor c = x.contiguous();
  return Tensor(c.storage(), {c.numel()}, {1}, c.offset(), c.dtype());
}

Tensor max(const Tensor& x) {
  FK_CHECK(x.defined() && x.numel() > 0, "max: empty tensor has no maximum");
  return extreme<true>(flat(x), 0, false, "max").first;
}
Tensor min(const Tensor& x) {
  FK_CHECK(x.defined() && x.numel() > 0, "min: empty tensor has no minimum");
  return extreme<false>(flat(x), 0, false, "min").first;
}
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) { return extreme<true>(x, dim, keepdim, "argmax").second; }
Tensor argmax(const Tensor& x) {
  FK_CHECK(x.defined() && x.numel() > 0, "argmax: empty tensor");
  return extreme<true>(flat(x), 0, false, "argmax").second;
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  FK_CHECK(g.dim() >= int64_t(shape.size()), "sum_to: cannot reduce ", shape_str(g.shape()), " to ", shape_str(shape));
  size_t lead = size_t(g.dim()) - shape.size();
  Dims dims;
  for (size_t d = 0; d < size_t(g.dim()); ++d) {
    if (d < lead) {
      dims.push_back(int64_t(d));
    } else if (shape[d - lead] == 1 && g.shape()[d] != 1) {
      dims.push_back(int64_t(d));
    } else {
      FK_CHECK(shape[d - lead] == g.shape()[d], "sum_to: cannot reduce ", shape_str(g.shape()), " to ",
               shape_str(shape));
    }
  }
  Tensor s = dims.empty() ? g.contiguous() : sum(g, dims, true);
  return Tensor(s.storage(), shape, contiguous_strides(shape), s.offset(), s.dtype());  // drop the leading 1s
}

Tensor index_reduce_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape, int64_t dim, bool keepdim) {
  int64_t nd = int64_t(x_shape.size());
  int64_t d = normalize_dim(dim, nd, "max_backward");
  if (nd == 0) return dy.clone();  // a 0-d input is its own maximum
  if constexpr (kWithCuda) {
    if (dy.device().is_cuda()) return cuda::index_reduce_backward(dy, indices, x_shape, dim, keepdim);
  }
  Tensor dx = zeros(x_shape, dy.dtype());
  int64_t outer = 1, inner = 1, n = x_shape[size_t(d)];
  for (int64_t i = 0; i < d; ++i) outer *= x_shape[size_t(i)];
  for (int64_t i = d + 1; i < nd; ++i) inner *= x_shape[size_t(i)];
  Tensor g = dy.contiguous();
  Tensor idx = indices.contiguous();
  (void)keepdim;  // dy and indices hold outer*inner values in the same order either way
  dispatch_float(dy.dtype(), "max_backward", [&]<class T>() {
    const T* gp = g.data<T>();
    const int64_t* ip = idx.data<int64_t>();
    T* xp = dx.data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) xp[(o * n + ip[o * inner + i]) * inner + i] += gp[o * inner + i];
  });
  return dx;
}

}  // namespace fk::ops
