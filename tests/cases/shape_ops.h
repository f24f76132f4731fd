// Cases for the shape ops: each row names an op applied with fixed parameters to inputs of given
// shapes (edge cases included: size-1 dims, negative dims and bounds, steps, empty pieces, crops).
// Read by the float64 gradchecks (tests/autograd/test_shape_ops_grad.cpp). The ops are deterministic
// data movement, so their forward tests (tests/tensor/test_shape_ops.cpp) are hand-worked, with the
// values and strides PyTorch gives typed in.
#pragma once

#include <functional>
#include <vector>

#include "autograd/ops.h"

namespace fk::test {

struct ShapeCase {
  const char* name;
  std::vector<Shape> inputs;                              // float64 leaves of these shapes
  std::function<Tensor(const std::vector<Tensor>&)> f;    // the op under test, differentiable
};

inline Tensor int64_index(const std::vector<double>& values) { return tensor(values, DType::Int64); }

inline const std::vector<ShapeCase>& shape_cases() {
  using V = std::vector<Tensor>;
  static const std::vector<ShapeCase> cases = {
      {"reshape: contiguous view", {{2, 3, 4}}, [](const V& v) { return reshape(v[0], {6, 4}); }},
      {"reshape: inferred -1", {{2, 3, 4}}, [](const V& v) { return reshape(v[0], {4, -1}); }},
      {"reshape: copy of a permuted input", {{2, 3, 4}},
       [](const V& v) { return reshape(permute(v[0], {1, 0, 2}), {3, 8}); }},
      {"reshape: 0-d to [1, 1]", {{}}, [](const V& v) { return reshape(v[0], {1, 1}); }},
      {"view: split a dim", {{2, 6}}, [](const V& v) { return view(v[0], {2, 2, 3}); }},
      {"flatten: inner dims", {{2, 3, 2, 2}}, [](const V& v) { return flatten(v[0], 1); }},
      {"permute: 3-d", {{2, 3, 4}}, [](const V& v) { return permute(v[0], {2, 0, 1}); }},
      {"transpose: outer dims", {{2, 3, 4}}, [](const V& v) { return transpose(v[0], 0, -1); }},
      {"squeeze: size-1 dim", {{2, 1, 3}}, [](const V& v) { return squeeze(v[0], 1); }},
      {"unsqueeze: last dim", {{2, 3}}, [](const V& v) { return unsqueeze(v[0], -1); }},
      {"expand: size-1 and new dims", {{3, 1}}, [](const V& v) { return expand(v[0], {2, 3, 4}); }},
      {"expand: 0-d", {{}}, [](const V& v) { return expand(v[0], {3}); }},
      {"slice: step 2", {{5, 4}}, [](const V& v) { return slice(v[0], 0, 1, 5, 2); }},
      {"slice: negative bounds", {{3, 5}}, [](const V& v) { return slice(v[0], -1, -3, -1); }},
      {"slice: end clamped", {{4, 3}}, [](const V& v) { return slice(v[0], 0, 2, 100); }},
      {"select: negative index", {{3, 4}}, [](const V& v) { return select(v[0], 1, -1); }},
      {"select: of a transposed view", {{3, 4}}, [](const V& v) { return select(transpose(v[0], 0, 1), 0, 2); }},
      {"index_select: repeated indices", {{4, 3}},
       [](const V& v) { return index_select(v[0], 0, int64_index({3, 0, 3, 1})); }},
      {"index_select: inner dim", {{2, 3, 2}}, [](const V& v) { return index_select(v[0], 1, int64_index({2, 0})); }},
      {"cat: dim 1 of three", {{2, 3}, {2, 1}, {2, 2}}, [](const V& v) { return cat({v[0], v[1], v[2]}, 1); }},
      {"cat: skips a 1-d empty tensor", {{0}, {2, 3}, {1, 3}}, [](const V& v) { return cat({v[0], v[1], v[2]}, 0); }},
      {"cat: of non-contiguous pieces", {{3, 2}, {2, 2}},
       [](const V& v) { return cat({transpose(v[0], 0, 1), v[1]}, -1); }},
      {"stack: new middle dim", {{2, 3}, {2, 3}, {2, 3}}, [](const V& v) { return stack({v[0], v[1], v[2]}, 1); }},
      {"stack: new last dim", {{3}, {3}}, [](const V& v) { return stack({v[0], v[1]}, -1); }},
      {"pad: pad and crop", {{2, 3, 4}}, [](const V& v) { return pad(v[0], {1, 2, -1, 1}, 0.5); }},
      {"pad: all dims", {{2, 2}}, [](const V& v) { return pad(v[0], {0, 1, 2, 0}); }},
      {"chain: permute, slice, reshape, expand", {{2, 3, 4}},
       [](const V& v) {
         Tensor t = slice(permute(v[0], {2, 1, 0}), 1, 1, 3);  // (4, 2, 2), non-contiguous
         return expand(unsqueeze(reshape(t, {4, 4}), 0), {3, 4, 4});
       }},
      {"to_dtype: float64 to float64", {{2, 3}}, [](const V& v) { return to_dtype(v[0], DType::Float64); }},
  };
  return cases;
}

}  // namespace fk::test
