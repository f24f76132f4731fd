// The seeded random number generator behind randn/rand/randint, weight init, dropout and shuffling.
// One global generator (fk::manual_seed(s) like torch.manual_seed) so one seed drives every random
// choice; the sequences are facekit's own (mt19937_64 + Box-Muller), identical on every platform,
// not PyTorch's.
#pragma once

#include <cstdint>
#include <random>

namespace fk {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) { this->seed(seed); }
  void seed(uint64_t s) {
    engine_.seed(s);
    has_spare_ = false;
  }
  // uniform in [0, 1) with 53 random bits
  double uniform() { return double(engine_() >> 11) * (1.0 / 9007199254740992.0); }
  // standard normal (Box-Muller, both values used)
  double normal();
  // uniform integer in [low, high)
  int64_t randint(int64_t low, int64_t high);
  uint64_t next_u64() { return engine_(); }

  std::mt19937_64& engine() { return engine_; }

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0;
};

Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace fk
