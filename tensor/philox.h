// Philox4x32-10, the counter-based random number generator of Salmon et al., "Parallel random
// numbers: as easy as 1, 2, 3" (SC 2011), as in Random123 and cuRAND: 10 rounds of a multiply-xor
// bijection of a 128-bit counter under a 64-bit key. Output block = philox(counter, key), so element
// i of a random stream is computed on its own, on any thread, CPU or GPU, and comes out the same:
// dropout's mask does not depend on the launch shape or the number of OpenMP threads.
// Known-answer test (Random123's kat_vectors): counter {0,0,0,0}, key {0,0} ->
// {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}, checked in tests/tensor/test_cuda_kernels_activation.cpp.
#pragma once

#include <cstdint>

#include "tensor/hd.h"

namespace fk {

struct Philox4x32 {
  uint32_t v[4];
};

// The round constants of Philox4x32 (Salmon et al., table 2): multipliers and the Weyl key bumps.
constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;  // golden ratio
constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;  // sqrt(3) - 1

// One round: two 32x32 -> 64-bit products; their high halves are xored with the other words and the key.
FK_HD_INLINE Philox4x32 philox_round(Philox4x32 c, uint32_t k0, uint32_t k1) {
  uint64_t p0 = uint64_t(kPhiloxM0) * c.v[0];
  uint64_t p1 = uint64_t(kPhiloxM1) * c.v[2];
  uint32_t hi0 = uint32_t(p0 >> 32), lo0 = uint32_t(p0);
  uint32_t hi1 = uint32_t(p1 >> 32), lo1 = uint32_t(p1);
  return Philox4x32{{hi1 ^ c.v[1] ^ k0, lo1, hi0 ^ c.v[3] ^ k1, lo0}};
}

// Philox4x32-10: ten rounds, the key bumped by (W0, W1) between rounds.
FK_HD_INLINE Philox4x32 philox4x32_10(Philox4x32 counter, uint32_t k0, uint32_t k1) {
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 += kPhiloxW0;
      k1 += kPhiloxW1;
    }
    counter = philox_round(counter, k0, k1);
  }
  return counter;
}

// Uniform double in [0, 1) for element `index` of the stream `seed`: counter = (index, 0) and
// key = seed, 53 random bits taken from the first two output words.
FK_HD_INLINE double philox_uniform(uint64_t seed, uint64_t index) {
  Philox4x32 c{{uint32_t(index), uint32_t(index >> 32), 0u, 0u}};
  Philox4x32 r = philox4x32_10(c, uint32_t(seed), uint32_t(seed >> 32));
  uint64_t bits = (uint64_t(r.v[0]) << 32 | r.v[1]) >> 11;
  return double(bits) * (1.0 / 9007199254740992.0);  // 2^-53
}

}  // namespace fk
