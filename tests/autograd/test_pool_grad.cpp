// Gradient tests of max_pool2d, avg_pool2d and adaptive_avg_pool2d (autograd/pool.cpp,
// tensor/cpu/pool.cpp): float64 gradchecks for every row of tests/cases/pool.h and a hand-worked
// backward through the graph. Max-pool inputs are a shuffled grid of distinct values 0.01 apart, so
// no window holds a tie the finite differences (eps 1e-6) could flip.
#include <algorithm>
#include <numeric>

#include "cases/pool.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace fk;

// A float64 leaf holding a random permutation of 0.01 * (0, 1, ..., numel-1) - offset.
static Tensor distinct_leaf(const Shape& shape, uint64_t seed) {
  std::vector<double> v(size_t(numel_of(shape)));
  std::iota(v.begin(), v.end(), 0.0);
  Generator gen(seed);
  std::shuffle(v.begin(), v.end(), gen.engine());
  for (double& e : v) e = 0.01 * e - 0.005 * double(v.size());
  return tensor(v, shape, DType::Float64).requires_grad_();
}

TEST_CASE("max_pool2d: hand-worked backward through the graph") {
  Tensor x = tensor({1, 5, 2, 0, 3, 4, 8, 6, 7, 0, 1, 2, 9, 3, 4, 5}, {1, 1, 4, 4}, DType::Float64).requires_grad_();
  Tensor y = max_pool2d(x, {{2, 2}});
  y.backward(tensor({1, 2, 3, 4}, {1, 1, 2, 2}, DType::Float64));
  CHECK_CLOSE(x.grad(), tensor({0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0, 0, 4}, {1, 1, 4, 4}, DType::Float64), 0, 0,
              "max_pool2d dx");
}

TEST_CASE("pooling: gradcheck for every case") {
  for (const test::PoolCase& c : test::pool_cases) {
    SUBCASE(c.name) {
      manual_seed(31);
      Tensor x = c.kind == test::PoolKind::Max ? distinct_leaf(c.x, 32) : test::leaf(c.x);
      auto f = [&](const std::vector<Tensor>& in) {
        switch (c.kind) {
          case test::PoolKind::Max: return max_pool2d(in[0], c.opts);
          case test::PoolKind::Avg: return avg_pool2d(in[0], c.opts);
          default: return adaptive_avg_pool2d(in[0], c.output_size);
        }
      };
      CHECK_GRADCHECK(f, {x});
    }
  }
}

TEST_CASE("avg_pool2d: gradient flows through a chain with a non-contiguous dy") {
  // sum(expand) style gradients arrive with stride-0 dims: the backward must read them correctly
  manual_seed(33);
  Tensor x = test::leaf({2, 3, 6, 6});
  Tensor y = avg_pool2d(x, {{3, 3}, {2, 2}, {1, 1}});
  sum(y).backward();
  ops::Pool2dOptions o{{3, 3}, {2, 2}, {1, 1}};
  CHECK_CLOSE(x.grad(), ops::avg_pool2d_backward(ones_like(y), x.shape(), o), 1e-15, 0, "avg dx");
}
