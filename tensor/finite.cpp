// count_nonfinite (finite.h). Tests: tests/tensor/test_finite.cpp.
#include "tensor/finite.h"

#include <cmath>

#include "tensor/error.h"

namespace fk {

namespace {
template <typename T>
NonFinite scan(const T* p, int64_t n) {
  NonFinite r;
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) {
      if (r.count++ == 0) r.first = i;
    }
  return r;
}
}  // namespace

NonFinite count_nonfinite(const Tensor& t) {
  if (!t.defined() || t.numel() == 0) return {};
  FK_CHECK(t.device().is_cpu(), "count_nonfinite: the tensor is on ", t.device().str(), "; copy it to the CPU first");
  switch (t.dtype()) {
    case DType::Float32: {
      Tensor c = t.contiguous();
      return scan(c.data<float>(), c.numel());
    }
    case DType::Float64: {
      Tensor c = t.contiguous();
      return scan(c.data<double>(), c.numel());
    }
    case DType::Float16:
    case DType::BFloat16: {
      Tensor c = t.to(DType::Float32);  // exact: every half / bfloat16 value is a float
      return scan(c.data<float>(), c.numel());
    }
    default:
      return {};
  }
}

NonFiniteEntries count_nonfinite(const StateDict& sd) {
  NonFiniteEntries r;
  for (const auto& [key, t] : sd) {
    const NonFinite n = count_nonfinite(t);
    if (n.count > 0 && r.count == 0) r.first_key = key;
    r.count += n.count;
  }
  return r;
}

std::string nonfinite_text(int64_t count) {
  return std::to_string(count) + " non-finite value" + (count == 1 ? "" : "s") + " (NaN or Inf)";
}

}  // namespace fk
