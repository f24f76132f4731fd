// Derivatives of the reductions. The gradient of a reduced output is broadcast back over the
// reduced dims: dy is viewed with keepdim's shape and copied across x's shape.
#include "autograd/ops.h"

namespace fk {

using autograd::Grads;
using autograd::record;
using autograd::saved;

// dy (reduced shape) -> x's shape, each value repeated over the reduced dims
static Tensor broadcast_back(const Tensor& dy, const Shape& x_shape, const Dims& dims) {
  Shape kd = ops::keepdim_shape(x_shape, dims, "backward");
  Tensor g = dy.contiguous();
  Tensor g_kd(g.storage(), kd, contiguous_strides(kd), g.offset(), g.dtype());
  Tensor out = empty(x_shape, dy.dtype(), dy.device());
  ops::copy_(out, g_kd);
  return out;
}

static int64_t reduced_count(const Shape& x_shape, const Dims& dims) {
  Shape kd = ops::keepdim_shape(x_shape, dims, "backward");
  return numel_of(x_shape) / std::max<int64_t>(numel_of(kd), 1);
}

Tensor sum(const Tensor& x, const Dims& dims, bool keepdim) {
  // dx = dy broadcast over the reduced dims
  return record("sum", ops::sum(x, dims, keepdim), {x}, [s = x.shape(), dims](const Tensor& dy) {
    return Grads{broadcast_back(dy, s, dims)};
  });
}

Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) {
  // dx = dy / n broadcast over the reduced dims
  return record("mean", ops::mean(x, dims, keepdim), {x}, [s = x.shape(), dims](const Tensor& dy) {
    return Grads{ops::div(broadcast_back(dy, s, dims), double(reduced_count(s, dims)))};
  });
}

Tensor var(const Tensor& x, const Dims& dims, bool unbiased, bool keepdim) {
  // dx = dy * 2 (x - mean) / (n - unbiased)
  return record("var", ops::var(x, dims, unbiased, keepdim), {x}, [x = saved(x), dims, unbiased](const Tensor& dy) {
    double n = double(reduced_count(x.shape(), dims));
    Tensor centred = ops::sub(x, ops::mean(x, dims, true));
    Tensor g = broadcast_back(dy, x.shape(), dims);
    return Grads{ops::mul(ops::mul(g, centred), 2.0 / (n - (unbiased ? 1.0 : 0.0)))};
  });
}

static std::pair<Tensor, Tensor> extreme_dim(const char* name, const Tensor& x, int64_t dim, bool keepdim, bool is_max) {
  auto [values, indices] = is_max ? ops::max(x, dim, keepdim) : ops::min(x, dim, keepdim);
  // dx[index] = dy; every other position gets 0
  Tensor v = record(name, values, {x}, [s = x.shape(), idx = indices, dim, keepdim](const Tensor& dy) {
    return Grads{ops::index_reduce_backward(dy, idx, s, dim, keepdim)};
  });
  return {v, indices};
}
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) { return extreme_dim("max", x, dim, keepdim, true); }
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) { return extreme_dim("min", x, dim, keepdim, false); }

static Tensor extreme_all(const char* name, const Tensor& x, bool is_max) {
  Tensor y = is_max ? ops::max(x) : ops::min(x);
  // dx = dy / k at each of the k positions equal to the extremum (PyTorch's evenly_distribute_backward)
  return record(name, y, {x}, [x = saved(x), y = saved(y)](const Tensor& dy) {
    Tensor mask = ops::eq(x, y).to(x.dtype());
    return Grads{ops::mul(mask, ops::div(dy, ops::sum(mask)))};
  });
}
Tensor max(const Tensor& x) { return extreme_all("max", x, true); }
Tensor min(const Tensor& x) { return extreme_all("min", x, false); }

}  // namespace fk
