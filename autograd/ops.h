// The differentiable ops: fk::<op> computes with fk::ops::<op> and, when an input requires grad,
// records a Node whose backward sits next to it in autograd/<family>.cpp. This is the API library
// users and layers call. Same signatures and semantics as the raw ops in tensor/ (see there).
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "autograd/node.h"
#include "tensor/ops.h"

namespace fk {

using ops::Conv2dOptions;
using ops::Dims;
using ops::Pool2dOptions;

// ---- element-wise (autograd/elementwise.cpp)
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor sub(double a, const Tensor& b);
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);
Tensor div(double a, const Tensor& b);
Tensor pow(const Tensor& a, double exponent);
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor acos(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi);
// comparisons are not differentiable: they return Bool tensors
using ops::eq;
using ops::ge;
using ops::gt;
using ops::le;
using ops::lt;
using ops::ne;

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);
Tensor operator-(const Tensor& x);

// ---- reductions (autograd/reduce.cpp)
Tensor sum(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor var(const Tensor& x, const Dims& dims = {}, bool unbiased = true, bool keepdim = false);
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);  // values carry the grad
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor max(const Tensor& x);
Tensor min(const Tensor& x);
using ops::argmax;

// ---- shape (autograd/shape.cpp)
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor view(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor squeeze(const Tensor& x, int64_t dim);
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor expand(const Tensor& x, const Shape& shape);
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
Tensor select(const Tensor& x, int64_t dim, int64_t index);
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
Tensor cat(const std::vector<Tensor>& xs, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim = 0);
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value = 0.0);
// differentiable copy to a dtype (float32 <-> float64), like x.to(torch.float64)
Tensor to_dtype(const Tensor& x, DType dtype);

// ---- matrix products (autograd/linalg.cpp)
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- neural-network ops (autograd/conv.cpp, pool.cpp, norm.cpp, activation.cpp, loss.cpp, upsample.cpp)
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), const Conv2dOptions& opts = {});
Tensor max_pool2d(const Tensor& x, const Pool2dOptions& opts);
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& opts);
Tensor adaptive_avg_pool2d(const Tensor& x, std::array<int64_t, 2> output_size);
// running_mean/var are updated in place when training (they are buffers, never differentiated)
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean, Tensor running_var,
                  bool training, double momentum = 0.1, double eps = 1e-5);
Tensor prelu(const Tensor& x, const Tensor& weight);
// prelu(batch_norm(x, ...), alpha), or relu(batch_norm(x, ...)) when alpha is undefined: on the CPU one
// fused op (ops::batch_norm_act) that does not keep the batch-norm output; elsewhere (or for a
// shared slope) the two ops. Same values and gradients either way.
Tensor batch_norm_act(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                      Tensor running_var, bool training, double momentum, double eps, const Tensor& alpha);
// batch_norm(x, ...) + residual: on the CPU one fused op (ops::batch_norm_add) that does not keep the
// batch-norm output; elsewhere (or when the shapes differ, which add would broadcast) the two ops.
Tensor batch_norm_add(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                      Tensor running_var, bool training, double momentum, double eps, const Tensor& residual);
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
Tensor dropout(const Tensor& x, double p, bool training);
Tensor upsample_bilinear2d(const Tensor& x, std::array<int64_t, 2> output_size);
Tensor upsample_bilinear2d_scale(const Tensor& x, std::array<double, 2> scale_factor);  // interpolate(scale_factor=...)
// x / max(||x||_2 along dim, eps) (torch.nn.functional.normalize)
Tensor normalize(const Tensor& x, int64_t dim = 1, double eps = 1e-12);
Tensor nll_loss(const Tensor& logp, const Tensor& target, int64_t ignore_index = -100);
Tensor cross_entropy(const Tensor& logits, const Tensor& target, int64_t ignore_index = -100);

}  // namespace fk
