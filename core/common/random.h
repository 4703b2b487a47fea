// Granary's one pseudo-random generator and its distributions (STYLE.md 6).
//
// xoshiro256** seeded through splitmix64. The distributions are our own code, not std::'s,
// whose output differs between standard libraries: a seed gives the same stream anywhere.
// A component never seeds itself from anything but a parent generator or the root seed:
// Derive(stream) gives an independent child generator for a named stream.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace granary {

// splitmix64 step: a good 64-bit mixer, also used to hash trace events.
constexpr uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// FNV-1a over bytes, for naming streams and digesting payloads. Stable across machines.
uint64_t HashBytes(std::string_view bytes, uint64_t seed = 0xcbf29ce484222325ull);

class Random {
 public:
  // How a seed becomes the four state words; both go through splitmix64.
  enum class Seeding {
    // Each word is splitmix64 of the word before it (the first of the seed). Every stream in
    // core/ and sim/ is seeded so: changing it would move every trace hash.
    kChained,
    // The words are four successive outputs of a splitmix64 generator started at the seed,
    // as xoshiro's reference code seeds it. analytics/ draws its bootstrap resamples so, which
    // keeps the figures it published before it shared this generator.
    kSplitMixSequence,
  };

  explicit Random(uint64_t seed, Seeding seeding = Seeding::kChained);

  uint64_t seed() const { return seed_; }

  // A child generator whose stream depends only on this generator's seed and `stream`.
  // Does not advance this generator, so adding a component never shifts another's stream.
  // The child is seeded kChained whatever this generator's seeding.
  Random Derive(uint64_t stream) const;
  Random Derive(std::string_view stream) const { return Derive(HashBytes(stream)); }

  uint64_t Next();
  // Uniform integer in [0, bound), bound > 0, without modulo bias.
  uint64_t Below(uint64_t bound);
  // Uniform integer in [lo, hi], lo <= hi.
  int64_t UniformInt(int64_t lo, int64_t hi);
  // Uniform double in [0, 1), 53 random bits.
  double UniformDouble();
  // True with probability p.
  bool Bernoulli(double p);
  double Exponential(double mean);
  double Normal(double mean, double stddev);
  // exp(Normal(mu, sigma)): mu and sigma are of the underlying normal.
  double LogNormal(double mu, double sigma);

 private:
  uint64_t seed_;
  std::array<uint64_t, 4> state_;
};

// Zipf over {1, ..., n} with exponent s > 0: P(k) proportional to k^-s. Rejection-inversion
// sampling (Hörmann and Derflinger 1996): O(1) per draw, no table, any n.
class ZipfDistribution {
 public:
  ZipfDistribution(uint64_t n, double exponent);
  uint64_t Sample(Random& random) const;
  uint64_t n() const { return n_; }

 private:
  double H(double x) const;
  double HIntegral(double x) const;
  double HIntegralInverse(double x) const;

  uint64_t n_;
  double exponent_;
  double h_integral_x1_;
  double h_integral_n_;
  double s_;
};

// A discrete distribution given by weights (e.g. an operation mix): O(log n) per draw.
class WeightedChoice {
 public:
  explicit WeightedChoice(const std::vector<double>& weights);
  size_t Sample(Random& random) const;
  size_t size() const { return cumulative_.size(); }

 private:
  std::vector<double> cumulative_;
};

}  // namespace granary
