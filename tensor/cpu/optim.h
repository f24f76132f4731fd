// CPU kernels of the optimiser ops (tensor/optim_update.h) over lists of contiguous arrays.
// Tests: tests/tensor/test_optim_update.cpp, tests/layers/test_optim_fused.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tensor/cpu/optim_math.h"

namespace fk::cpu {

// Parallel arrays of the tensors updated together: p[i] (updated in place), g[i], the state arrays
// (SGD: state0 = momentum buffers; Adam: state0 = exp_avg, state1 = exp_avg_sq, state2 =
// max_exp_avg_sq), and starts[i] = elements before array i (starts.back() = the total).
template <class T>
struct Segments {
  std::vector<T*> p;
  std::vector<const T*> g;
  std::vector<T*> state0, state1, state2;
  std::vector<int64_t> starts{0};
};

template <class T>
void sgd_update(const Segments<T>& s, bool first_step, const optim::SgdCoefs<T>& c);
template <class T>
void adam_update(const Segments<T>& s, const optim::AdamCoefs<T>& c);
template <class T>
void clip_scale(const Segments<T>& s, T coef);  // s.p only
template <class T>
void clip_value(const Segments<T>& s, T clip);  // s.p only
// data[i] (elem[i] bytes per element) zeroed over the elements of `starts`
void zero_bytes(const std::vector<void*>& data, const std::vector<int64_t>& starts, const std::vector<size_t>& elem);

}  // namespace fk::cpu
