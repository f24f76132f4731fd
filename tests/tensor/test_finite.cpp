// count_nonfinite (tensor/finite.h): NaN and both infinities counted in float32, float64 and bfloat16,
// the first in logical order of a non-contiguous view, none in integer tensors, and over a state dict
// the total and the first key.
#include <cmath>

#include "tensor/creation.h"
#include "tensor/finite.h"
#include "tensor/shape_ops.h"
#include "test_util.h"

using fk::Tensor;

TEST_CASE("count_nonfinite: NaN and infinities, first index in logical order, integer tensors have none") {
  Tensor a = fk::zeros({2, 3});
  a.data<float>()[1] = NAN;        // (0, 1)
  a.data<float>()[3] = INFINITY;   // (1, 0)
  a.data<float>()[5] = -INFINITY;  // (1, 2)
  fk::NonFinite n = fk::count_nonfinite(a);
  CHECK(n.count == 3);
  CHECK(n.first == 1);
  // the transpose (3, 2) reads a00, a10 = inf, ...: its first is at logical index 1, same count
  Tensor t = fk::ops::transpose(a, 0, 1);
  CHECK(fk::count_nonfinite(t).first == 1);
  CHECK(fk::count_nonfinite(t).count == 3);
  CHECK(fk::count_nonfinite(fk::ops::slice(a, 1, 2, 3)).first == 1);  // column 2: 0, -inf
  Tensor d = fk::zeros({4}, fk::DType::Float64);
  CHECK(fk::count_nonfinite(d).count == 0);
  CHECK(fk::count_nonfinite(d).first == -1);
  d.data<double>()[2] = NAN;
  CHECK(fk::count_nonfinite(d).first == 2);
  CHECK(fk::count_nonfinite(a.to(fk::DType::BFloat16)).count == 3);
  CHECK(fk::count_nonfinite(fk::zeros({5}, fk::DType::Int64)).count == 0);
  CHECK(fk::count_nonfinite(Tensor()).count == 0);

  fk::StateDict sd;
  sd.set("clean", fk::zeros({3}));
  sd.set("first.bad", d);
  sd.set("second.bad", a);
  fk::NonFiniteEntries e = fk::count_nonfinite(sd);
  CHECK(e.count == 4);
  CHECK(e.first_key == "first.bad");
  CHECK(fk::count_nonfinite(fk::StateDict()).first_key.empty());
  CHECK(fk::nonfinite_text(1) == "1 non-finite value (NaN or Inf)");
  CHECK(fk::nonfinite_text(3) == "3 non-finite values (NaN or Inf)");
}
