// Tensor metadata, strided copies (contiguous/clone), dtype and device conversion, printing.
#include "tensor/tensor.h"

#include <cstring>
#include <iomanip>
#include <ostream>

#include "cuda/runtime.h"
#include "tensor/iterate.h"

#if defined(FK_WITH_CUDA)
#include "cuda/copy.h"
#endif

namespace fk {

Tensor::Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = dtype;
  impl_ = std::move(impl);
}

static const TensorImpl& checked(const std::shared_ptr<TensorImpl>& impl) {
  FK_CHECK(impl != nullptr, "use of an undefined tensor (default-constructed, or a .grad never computed)");
  return *impl;
}

const Shape& Tensor::shape() const { return checked(impl_).shape; }
const Shape& Tensor::strides() const { return checked(impl_).strides; }
int64_t Tensor::offset() const { return checked(impl_).offset; }
DType Tensor::dtype() const { return checked(impl_).dtype; }
Device Tensor::device() const { return checked(impl_).storage->device(); }
const std::shared_ptr<Storage>& Tensor::storage() const { return checked(impl_).storage; }

int64_t Tensor::size(int64_t d) const { return shape()[normalize_dim(d, dim(), "size")]; }

bool Tensor::is_contiguous() const {
  const auto& sh = shape();
  const auto& st = strides();
  int64_t expected = 1;
  for (size_t i = sh.size(); i-- > 0;) {
    if (sh[i] == 1) continue;  // a size-1 dim's stride never matters
    if (st[i] != expected) return false;
    expected *= sh[i];
  }
  return true;
}

std::string Tensor::str() const {
  if (!defined()) return "undefined";
  return std::string(dtype_name(dtype())) + shape_str(shape()) + " (" + device().str() + ")";
}

void* Tensor::raw_data() const {
  return static_cast<char*>(storage()->data()) + offset() * int64_t(dtype_size(dtype()));
}

void Tensor::check_data_access(DType want) const {
  FK_CHECK(defined(), "data access on an undefined tensor");
  FK_CHECK(dtype() == want, "data<", dtype_name(want), ">() on a ", str(), " tensor");
  FK_CHECK(device().is_cpu(), "data() on a ", str(), " tensor: copy it to the CPU first with .to(Device::cpu())");
}

// ---- element conversion through double (exact for every value our dtypes can hold but int64 > 2^53,
// which direct int64->int64 copies avoid by taking the memcpy path).
static double load_as_double(const void* p, DType t) {
  switch (t) {
    case DType::Float32: return *static_cast<const float*>(p);
    case DType::Float64: return *static_cast<const double*>(p);
    case DType::Float16: return half_to_float(*static_cast<const uint16_t*>(p));
    case DType::BFloat16: return bfloat16_to_float(*static_cast<const uint16_t*>(p));
    case DType::Int64: return double(*static_cast<const int64_t*>(p));
    case DType::UInt8: return *static_cast<const uint8_t*>(p);
    case DType::Bool: return *static_cast<const uint8_t*>(p) ? 1.0 : 0.0;
  }
  return 0;
}

static void store_from_double(void* p, DType t, double v) {
  switch (t) {
    case DType::Float32: *static_cast<float*>(p) = float(v); break;
    case DType::Float64: *static_cast<double*>(p) = v; break;
    case DType::Float16: *static_cast<uint16_t*>(p) = float_to_half(float(v)); break;
    case DType::BFloat16: *static_cast<uint16_t*>(p) = float_to_bfloat16(float(v)); break;
    case DType::Int64: *static_cast<int64_t*>(p) = int64_t(v); break;
    case DType::UInt8: *static_cast<uint8_t*>(p) = uint8_t(int64_t(v)); break;
    case DType::Bool: *static_cast<uint8_t*>(p) = v != 0.0; break;
  }
}

double Tensor::item() const {
  FK_CHECK(numel() == 1, "item(): tensor ", str(), " has ", numel(), " elements, expected exactly 1");
  Tensor c = device().is_cpu() ? *this : to(Device::cpu());
  return load_as_double(c.raw_data(), c.dtype());
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor c = to(Device::cpu()).to(dtype_of<T>::value).contiguous();
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<uint8_t> Tensor::to_vector<uint8_t>() const;

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  auto storage = std::make_shared<Storage>(size_t(numel()) * dtype_size(dtype()), device());
  Tensor out(storage, shape(), contiguous_strides(shape()), 0, dtype());
#if defined(FK_WITH_CUDA)
  if (device().is_cuda()) {  // a strided copy on the GPU (cuda/copy.h)
    cuda::copy_strided(out, *this);
    return out;
  }
#endif
  size_t es = dtype_size(dtype());
  const char* src = static_cast<const char*>(raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  if (is_contiguous()) {
    std::memcpy(dst, src, size_t(numel()) * es);
    return out;
  }
  int64_t i = 0;
  for_each_offset(shape(), strides(), [&](int64_t off) {
    std::memcpy(dst + i * int64_t(es), src + off * int64_t(es), es);
    ++i;
  });
  return out;
}

Tensor Tensor::pin_memory() const {
  FK_CHECK(device().is_cpu(), "pin_memory: ", str(), " is not on the CPU");
  if (is_pinned()) return *this;
  Tensor src = contiguous();
  size_t nbytes = size_t(numel()) * dtype_size(dtype());
  auto storage = std::make_shared<Storage>(nbytes, Device::cpu(), /*pinned=*/true);
  Tensor out(storage, shape(), contiguous_strides(shape()), 0, dtype());
  if (nbytes) std::memcpy(out.raw_data(), src.raw_data(), nbytes);
  return out;
}

bool Tensor::is_pinned() const { return storage()->pinned(); }

// A dtype that cuda::copy_strided converts from and to (float16/bfloat16 convert on the CPU).
[[maybe_unused]] static bool gpu_convertible(DType t) {
  return t == DType::Float32 || t == DType::Float64 || t == DType::Int64 || t == DType::UInt8 || t == DType::Bool;
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
#if defined(FK_WITH_CUDA)
  if (device().is_cuda() && gpu_convertible(dtype()) && gpu_convertible(target)) {  // stays on the GPU
    auto storage = std::make_shared<Storage>(size_t(numel()) * dtype_size(target), device());
    Tensor out(storage, shape(), contiguous_strides(shape()), 0, target);
    cuda::copy_strided(out, *this);
    return out;
  }
#endif
  Tensor src = to(Device::cpu()).contiguous();
  auto storage = std::make_shared<Storage>(size_t(numel()) * dtype_size(target), Device::cpu());
  Tensor out(storage, shape(), contiguous_strides(shape()), 0, target);
  const char* s = static_cast<const char*>(src.raw_data());
  char* d = static_cast<char*>(out.raw_data());
  size_t ss = dtype_size(dtype()), ds = dtype_size(target);
  for (int64_t i = 0; i < numel(); ++i) store_from_double(d + i * ds, target, load_as_double(s + i * ss, dtype()));
  return device().is_cpu() ? out : out.to(device());
}

Tensor Tensor::to(Device target) const {
  if (target == device()) return *this;
  Tensor src = contiguous();  // a non-contiguous CUDA tensor is made contiguous on its GPU first
  size_t nbytes = size_t(numel()) * dtype_size(dtype());
  auto storage = std::make_shared<Storage>(nbytes, target);
  Tensor out(storage, shape(), contiguous_strides(shape()), 0, dtype());
  using cuda::CopyKind;
  CopyKind kind = target.is_cuda() ? (src.device().is_cuda() ? CopyKind::DeviceToDevice : CopyKind::HostToDevice)
                                   : CopyKind::DeviceToHost;
  cuda::memcpy(out.raw_data(), src.raw_data(), nbytes, kind, target.is_cuda() ? target.index : src.device().index);
  return out;
}

// ---- printing, in torch's style: nested brackets, at most 6 values per dim (first and last 3).
static void print_rec(std::ostream& os, const Tensor& t, int64_t d, int64_t off, int indent) {
  int64_t n = t.shape()[size_t(d)];
  os << "[";
  auto idx_ok = [&](int64_t i) { return n <= 6 || i < 3 || i >= n - 3; };
  bool skipped = false;
  for (int64_t i = 0; i < n; ++i) {
    if (!idx_ok(i)) {
      if (!skipped) os << (d + 1 == t.dim() ? "..., " : "...,\n" + std::string(size_t(indent + 1), ' '));
      skipped = true;
      continue;
    }
    int64_t o = off + i * t.strides()[size_t(d)];
    if (d + 1 == t.dim()) {
      os << load_as_double(static_cast<const char*>(t.storage()->data()) + o * int64_t(dtype_size(t.dtype())), t.dtype());
    } else {
      print_rec(os, t, d + 1, o, indent + 1);
    }
    if (i + 1 < n) os << (d + 1 == t.dim() ? ", " : ",\n" + std::string(size_t(indent + 1), ' '));
  }
  os << "]";
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  Tensor c = t.to(Device::cpu());
  os << "tensor(";
  auto flags = os.flags();
  os << std::setprecision(4);
  if (c.dim() == 0) {
    os << load_as_double(c.raw_data(), c.dtype());
  } else {
    print_rec(os, c, 0, c.offset(), 7);
  }
  os.flags(flags);
  return os << ", dtype=" << dtype_name(t.dtype()) << (t.device().is_cpu() ? "" : ", device=" + t.device().str()) << ")";
}

}  // namespace fk
