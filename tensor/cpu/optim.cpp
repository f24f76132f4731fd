// CPU loops of the optimiser ops (tensor/optim_update.h): the elements of a list of arrays taken as one
// range, split evenly over the threads in one parallel region; the per-element math in optim_math.h.
#include "tensor/cpu/optim.h"

#include <algorithm>
#include <cstring>

#include "tensor/parallel.h"

namespace fk::cpu {

namespace {

// Elements per thread's share below which the loops stay on one thread (~10 us of work)
constexpr int64_t kOptimGrain = 1 << 15;

// fn(i, begin, end) over the arrays' elements taken as one range (`starts`: elements before array i,
// back() = total), split over the threads: array i's local elements [begin, end).
template <class Fn>
void for_each_segment(const std::vector<int64_t>& starts, Fn fn) {
  parallel_for(starts.back(), kOptimGrain, [&](int64_t b, int64_t e) {
    size_t i = size_t(std::upper_bound(starts.begin(), starts.end(), b) - starts.begin()) - 1;
    for (; b < e; ++i) {
      const int64_t end = std::min(e, starts[i + 1]);
      if (end > b) fn(i, b - starts[i], end - starts[i]);
      b = end;
    }
  });
}

}  // namespace

template <class T>
void sgd_update(const Segments<T>& s, bool first_step, const optim::SgdCoefs<T>& c) {
  for_each_segment(s.starts, [&](size_t i, int64_t b, int64_t e) {
    T* p = s.p[i];
    const T* g = s.g[i];
    if (c.use_momentum) {
      T* buf = s.state0[i];
      for (int64_t k = b; k < e; ++k) optim::sgd_update_element(p[k], g[k], buf[k], first_step, c);
    } else {
      T unused = 0;
      for (int64_t k = b; k < e; ++k) optim::sgd_update_element(p[k], g[k], unused, first_step, c);
    }
  });
}

template <class T>
void adam_update(const Segments<T>& s, const optim::AdamCoefs<T>& c) {
  for_each_segment(s.starts, [&](size_t i, int64_t b, int64_t e) {
    T* p = s.p[i];
    const T* g = s.g[i];
    T* m = s.state0[i];
    T* v = s.state1[i];
    T* vmax = c.amsgrad ? s.state2[i] : nullptr;
    for (int64_t k = b; k < e; ++k) optim::adam_update_element(p[k], g[k], m[k], v[k], vmax ? vmax + k : nullptr, c);
  });
}

template <class T>
void clip_scale(const Segments<T>& s, T coef) {
  for_each_segment(s.starts, [&](size_t i, int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) s.p[i][k] = optim::clip_scale_element(s.p[i][k], coef);
  });
}

template <class T>
void clip_value(const Segments<T>& s, T clip) {
  for_each_segment(s.starts, [&](size_t i, int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) s.p[i][k] = optim::clip_value_element(s.p[i][k], clip);
  });
}

void zero_bytes(const std::vector<void*>& data, const std::vector<int64_t>& starts, const std::vector<size_t>& elem) {
  for_each_segment(starts, [&](size_t i, int64_t b, int64_t e) {
    std::memset(static_cast<char*>(data[i]) + size_t(b) * elem[i], 0, size_t(e - b) * elem[i]);  // 0 is all-zero bits
  });
}

template void sgd_update<float>(const Segments<float>&, bool, const optim::SgdCoefs<float>&);
template void sgd_update<double>(const Segments<double>&, bool, const optim::SgdCoefs<double>&);
template void adam_update<float>(const Segments<float>&, const optim::AdamCoefs<float>&);
template void adam_update<double>(const Segments<double>&, const optim::AdamCoefs<double>&);
template void clip_scale<float>(const Segments<float>&, float);
template void clip_scale<double>(const Segments<double>&, double);
template void clip_value<float>(const Segments<float>&, float);
template void clip_value<double>(const Segments<double>&, double);

}  // namespace fk::cpu
