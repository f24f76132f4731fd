// Float64 gradchecks of the reductions over several dim sets, keepdim on and off.
#include "test_util.h"

using namespace fk;
using test::leaf;
using V = std::vector<Tensor>;

TEST_CASE("sum/mean/var: gradcheck over dim sets") {
  manual_seed(11);
  Tensor x = leaf({2, 3, 4});
  const std::vector<Dims> dim_sets = {{}, {0}, {1}, {-1}, {0, 2}, {1, 2}};
  for (const Dims& dims : dim_sets) {
    for (bool keep : {false, true}) {
      CHECK_GRADCHECK([&](const V& v) { return sum(v[0], dims, keep); }, {x});
      CHECK_GRADCHECK([&](const V& v) { return mean(v[0], dims, keep); }, {x});
      CHECK_GRADCHECK([&](const V& v) { return var(v[0], dims, true, keep); }, {x});
      CHECK_GRADCHECK([&](const V& v) { return var(v[0], dims, false, keep); }, {x});
    }
  }
}

TEST_CASE("max/min: gradcheck (values), along each dim and overall") {
  manual_seed(12);
  Tensor x = leaf({3, 4, 2});  // continuous random values: no ties
  for (int64_t d : {0, 1, 2}) {
    for (bool keep : {false, true}) {
      CHECK_GRADCHECK([&](const V& v) { return max(v[0], d, keep).first; }, {x});
      CHECK_GRADCHECK([&](const V& v) { return min(v[0], d, keep).first; }, {x});
    }
  }
  CHECK_GRADCHECK([](const V& v) { return max(v[0]); }, {x});
  CHECK_GRADCHECK([](const V& v) { return min(v[0]); }, {x});
}

TEST_CASE("max over all: ties share the gradient evenly") {
  Tensor x = tensor({3, 1, 3}, DType::Float64).requires_grad_();
  max(x).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{0.5, 0, 0.5});
}
