// Generator: normal() by Box-Muller (exact, portable: no std::normal_distribution, whose sequence
// differs between standard libraries); randint() by rejection (no modulo bias).
#include "tensor/random.h"

#include <cmath>

#include "tensor/error.h"

namespace fk {

double Generator::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1 = 1.0 - uniform();  // (0, 1]: log(u1) finite
  double u2 = uniform();
  double r = std::sqrt(-2.0 * std::log(u1));
  spare_ = r * std::sin(2.0 * M_PI * u2);
  has_spare_ = true;
  return r * std::cos(2.0 * M_PI * u2);
}

int64_t Generator::randint(int64_t low, int64_t high) {
  FK_CHECK(high > low, "randint: empty range [", low, ", ", high, ")");
  uint64_t span = uint64_t(high - low);
  uint64_t limit = UINT64_MAX - UINT64_MAX % span;
  uint64_t r;
  do {
    r = engine_();
  } while (r >= limit);
  return low + int64_t(r % span);
}

Generator& default_generator() {
  static Generator gen(0);
  return gen;
}

void manual_seed(uint64_t seed) { default_generator().seed(seed); }

}  // namespace fk
