// Rng: the analytics module's one seeded generator (STYLE.md 6). xoshiro256** seeded through
// splitmix64; no std:: distributions, so a seed gives the same numbers with every standard
// library.
#pragma once

#include <cassert>
#include <cmath>
#include <cstdint>
#include <numbers>

namespace granary::analytics {

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t mix = seed;
    for (uint64_t& word : state_) word = SplitMix64(&mix);
  }

  uint64_t Next() {
    const uint64_t result = RotateLeft(state_[1] * 5, 7) * 9;
    const uint64_t shifted = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= shifted;
    state_[3] = RotateLeft(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1), 53 random bits.
  double NextUnit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  // Uniform in [0, bound); requires bound > 0. Lemire's multiply-shift, bias below 2^-32 for
  // the bounds used here (at most a few thousand).
  uint64_t NextBelow(uint64_t bound) {
    assert(bound > 0);
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * bound) >> 64);
  }

  // Standard normal by Box-Muller (one of the pair is dropped to keep no hidden state).
  double NextGaussian() {
    const double u1 = 1.0 - NextUnit();  // (0, 1]
    const double u2 = NextUnit();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  static uint64_t SplitMix64(uint64_t* x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  static uint64_t RotateLeft(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t state_[4];
};

}  // namespace granary::analytics
