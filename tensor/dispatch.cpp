// Argument checks shared by all ops (see dispatch.h).
#include "tensor/dispatch.h"

namespace fk {

void check_cpu(const Tensor& x, const char* op) {
  FK_CHECK(x.device().is_cpu(), op, ": input ", x.str(), " is on ", x.device().str(),
           ", and this op has no CUDA kernel: move it with .to(Device::cpu())");
}

void check_float_input(const Tensor& x, const char* op, const char* arg) {
  FK_CHECK(x.defined(), op, ": ", arg, " is an undefined tensor");
  FK_CHECK(is_compute_float(x.dtype()), op, ": ", arg, " has dtype ", dtype_name(x.dtype()),
           ", expected float32 or float64 (", arg, "=", shape_str(x.shape()), ")");
}

void check_same_type(const Tensor& a, const Tensor& b, const char* op) {
  FK_CHECK(a.dtype() == b.dtype(), op, ": dtype mismatch, ", a.str(), " vs ", b.str());
  FK_CHECK(a.device() == b.device(), op, ": device mismatch, ", a.str(), " vs ", b.str());
}

void check_dim(const Tensor& x, int64_t n, const char* op, const char* arg) {
  FK_CHECK(x.dim() == n, op, ": ", arg, " must be ", n, "-d, got ", shape_str(x.shape()));
}

}  // namespace fk
