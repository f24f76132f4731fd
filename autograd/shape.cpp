// Derivatives of the shape ops (torch's reshape/view/permute/expand/narrow/select/index_select/cat/
// stack/F.pad/.to(dtype)). Each backward routes the gradient back to where the element came from:
// views reshape or permute it back, expand sums over the broadcast dims, slice/select/index_select
// scatter it into zeros, cat/stack cut it into pieces, pad crops it.
// Tests: tests/autograd/test_shape_ops_grad.cpp (float64 gradcheck on the cases in tests/cases/shape_ops.h).
#include "autograd/ops.h"

namespace fk {

namespace {

// The 1-d empty tensors that cat skips (see ops::cat).
bool cat_skips(const Tensor& t) { return t.dim() == 1 && t.size(0) == 0; }

// Gradient of a reshape-like op: the same elements, read back in x's shape.
Tensor reshape_like(const char* name, const Tensor& x, Tensor y) {
  return autograd::record(name, std::move(y), {x}, [shape = x.shape()](const Tensor& dy) {
    return autograd::Grads{ops::reshape(dy, shape)};  // dx = dy viewed in x's shape
  });
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) { return reshape_like("reshape", x, ops::reshape(x, shape)); }
Tensor view(const Tensor& x, const Shape& shape) { return reshape_like("view", x, ops::view(x, shape)); }
Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  return reshape_like("flatten", x, ops::flatten(x, start_dim, end_dim));
}
Tensor squeeze(const Tensor& x, int64_t dim) { return reshape_like("squeeze", x, ops::squeeze(x, dim)); }
Tensor unsqueeze(const Tensor& x, int64_t dim) { return reshape_like("unsqueeze", x, ops::unsqueeze(x, dim)); }

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  Tensor y = ops::permute(x, dims);
  // y's dim i is x's dim dims[i], so x's dim dims[i] is y's dim i
  std::vector<int64_t> inverse(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) inverse[size_t(normalize_dim(dims[i], x.dim(), "permute"))] = int64_t(i);
  return autograd::record("permute", y, {x}, [inverse](const Tensor& dy) {
    return autograd::Grads{ops::permute(dy, inverse)};  // dx = dy permuted back
  });
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  Tensor y = ops::transpose(x, dim0, dim1);
  return autograd::record("transpose", y, {x}, [dim0, dim1](const Tensor& dy) {
    return autograd::Grads{ops::transpose(dy, dim0, dim1)};  // dx = dy transposed back
  });
}

Tensor expand(const Tensor& x, const Shape& shape) {
  Tensor y = ops::expand(x, shape);
  return autograd::record("expand", y, {x}, [shape = x.shape()](const Tensor& dy) {
    return autograd::Grads{ops::sum_to(dy, shape)};  // dx = dy summed over every repeated dim
  });
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  Tensor y = ops::slice(x, dim, start, end, step);
  return autograd::record("slice", y, {x}, [shape = x.shape(), dim, start, end, step](const Tensor& dy) {
    // dx[start:end:step] = dy along dim; 0 elsewhere
    return autograd::Grads{ops::slice_backward(dy, shape, dim, start, end, step)};
  });
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  Tensor y = ops::select(x, dim, index);
  return autograd::record("select", y, {x}, [shape = x.shape(), dim, index](const Tensor& dy) {
    return autograd::Grads{ops::select_backward(dy, shape, dim, index)};  // dx[index] = dy along dim; 0 elsewhere
  });
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  Tensor y = ops::index_select(x, dim, index);
  return autograd::record("index_select", y, {x, index},
                          [shape = x.shape(), dim, index = autograd::saved(index)](const Tensor& dy) {
                            // dx[index[i]] += dy[i] along dim (a repeated index collects every copy)
                            Tensor dx = ops::index_add(zeros(shape, dy.dtype(), dy.device()), dim, index, dy);
                            return autograd::Grads{dx, Tensor()};
                          });
}

Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  Tensor y = ops::cat(xs, dim);
  if (!autograd::needs_grad(xs)) return y;
  // the dim as ops::cat resolved it (against the first tensor it does not skip)
  int64_t d = 0;
  for (const Tensor& x : xs)
    if (!cat_skips(x)) {
      d = normalize_dim(dim, x.dim(), "cat");
      break;
    }
  std::vector<Shape> shapes;
  std::vector<DType> dtypes;
  std::vector<Device> devices;
  for (const Tensor& x : xs) {
    shapes.push_back(x.shape());
    dtypes.push_back(x.dtype());
    devices.push_back(x.device());
  }
  return autograd::record("cat", y, xs, [shapes, dtypes, devices, d](const Tensor& dy) {
    // dx_i = dy[at_i : at_i + size_i] along dim; skipped empty tensors get an empty gradient
    autograd::Grads grads;
    int64_t at = 0;
    for (size_t i = 0; i < shapes.size(); ++i) {
      if (shapes[i].size() == 1 && shapes[i][0] == 0) {
        grads.push_back(zeros({0}, dtypes[i], devices[i]));
        continue;
      }
      int64_t size = shapes[i][size_t(d)];
      grads.push_back(ops::slice(dy, d, at, at + size));
      at += size;
    }
    return grads;
  });
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  Tensor y = ops::stack(xs, dim);
  if (!autograd::needs_grad(xs)) return y;
  int64_t d = normalize_dim(dim, xs[0].dim() + 1, "stack");
  size_t n = xs.size();
  return autograd::record("stack", y, xs, [d, n](const Tensor& dy) {
    autograd::Grads grads;  // dx_i = dy[i] along the new dim
    for (size_t i = 0; i < n; ++i) grads.push_back(ops::select(dy, d, int64_t(i)));
    return grads;
  });
}

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value) {
  Tensor y = ops::pad(x, pads, value);
  std::vector<int64_t> negated(pads.size());
  for (size_t i = 0; i < pads.size(); ++i) negated[i] = -pads[i];
  return autograd::record("pad", y, {x}, [negated](const Tensor& dy) {
    // dx = dy with the padding cropped off (and zeros where the forward cropped)
    return autograd::Grads{ops::pad(dy, negated, 0.0)};
  });
}

Tensor to_dtype(const Tensor& x, DType dtype) {
  Tensor y = x.to(dtype);
  if (!is_compute_float(dtype)) return y;  // integer results carry no gradient (as in PyTorch)
  return autograd::record("to_dtype", y, {x}, [from = x.dtype()](const Tensor& dy) {
    return autograd::Grads{dy.to(from)};  // dx = dy, converted back to x's dtype
  });
}

}  // namespace fk
