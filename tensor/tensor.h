// fk::Tensor: an n-d array (shape, strides, offset) viewing a shared, reference-counted Storage, with
// a dtype and a device, plus the autograd state that torch.Tensor carries (requires_grad, .grad,
// grad_fn, hooks). Copying a Tensor copies the handle, not the data, exactly like PyTorch.
//
// Ops are free functions: `fk::conv2d(x, w)` records the graph when an input requires grad
// (autograd/ops.h); `fk::ops::conv2d` is the same computation without the graph (tensor/ops.h).
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "tensor/device.h"
#include "tensor/dtype.h"
#include "tensor/error.h"
#include "tensor/shape.h"
#include "tensor/storage.h"

namespace fk {

namespace autograd {
class Node;
}

class Tensor;
struct TensorImpl;

// A gradient hook receives the gradient flowing into a tensor and returns a replacement, or an
// undefined Tensor to keep it (torch.Tensor.register_hook).
using GradHook = std::function<Tensor(const Tensor&)>;

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
  // A view of `storage` (no copy).
  Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset, DType dtype);

  bool defined() const { return impl_ != nullptr; }

  // ---- metadata
  const Shape& shape() const;
  const Shape& strides() const;
  int64_t offset() const;  // in elements
  int64_t dim() const { return int64_t(shape().size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return numel_of(shape()); }
  DType dtype() const;
  Device device() const;
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const;
  // "float32[2, 3] (cpu)"
  std::string str() const;

  // ---- data (CPU)
  void* raw_data() const;  // address of the first element
  template <class T>
  T* data() const {
    check_data_access(dtype_of<T>::value);
    return static_cast<T*>(raw_data());
  }
  double item() const;  // the value of a one-element tensor, any dtype
  template <class T>
  std::vector<T> to_vector() const;  // all elements in row-major order, converted to T

  // ---- conversions (always return a new tensor unless nothing changes)
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;
  Tensor contiguous() const;  // itself when already contiguous
  Tensor clone() const;       // always a fresh contiguous copy
  // A contiguous copy in page-locked host memory (torch.Tensor.pin_memory): its copies to a GPU
  // run asynchronously. Needs a CUDA device.
  Tensor pin_memory() const;
  bool is_pinned() const;

  // ---- autograd (implemented in autograd/)
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);  // leaves only
  Tensor grad() const;                     // undefined until a backward reaches it
  void set_grad(const Tensor& g);
  void zero_grad();                        // sets .grad to undefined (PyTorch's set_to_none)
  bool is_leaf() const;
  std::shared_ptr<autograd::Node> grad_fn() const;
  // Reverse-mode: accumulates d(this)/d(leaf) into every leaf's .grad. A non-scalar tensor needs
  // `grad` (same shape). The graph is freed afterwards unless retain_graph.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;
  Tensor detach() const;  // same storage, no graph
  void register_hook(GradHook hook);
  void retain_grad();  // keep .grad on a non-leaf after backward

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  void check_data_access(DType want) const;
  std::shared_ptr<TensorImpl> impl_;
};

// Prints values like torch: "tensor([[1., 2.], [3., 4.]], dtype=float32)".
std::ostream& operator<<(std::ostream& os, const Tensor& t);

struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<autograd::Node> grad_fn;           // the node that made this tensor; null for leaves
  std::shared_ptr<autograd::Node> grad_accumulator;  // leaves: accumulates into .grad (made lazily)
  std::vector<GradHook> hooks;                       // leaves' hooks (a non-leaf's live on grad_fn)
  bool retains_grad = false;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;
  int64_t offset = 0;
  DType dtype = DType::Float32;
  std::unique_ptr<AutogradMeta> autograd;  // null until something autograd-related is set
};

}  // namespace fk
