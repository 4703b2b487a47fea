#include "core/common/random.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numbers>

namespace granary {
namespace {

constexpr uint64_t RotateLeft(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

uint64_t HashBytes(std::string_view bytes, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

Random::Random(uint64_t seed, Seeding seeding) : seed_(seed) {
  uint64_t x = seed;
  for (uint64_t i = 0; i < state_.size(); ++i) {
    if (seeding == Seeding::kChained) {
      x = Mix64(x);
      state_[i] = x;
    } else {
      // Mix64 adds splitmix64's increment itself: the i-th output is Mix64(seed + i * 0x9e37...).
      state_[i] = Mix64(seed + i * 0x9e3779b97f4a7c15ull);
    }
  }
  // xoshiro's state must not be all zero; splitmix64 of consecutive inputs never is.
  assert(state_[0] | state_[1] | state_[2] | state_[3]);
}

Random Random::Derive(uint64_t stream) const {
  return Random(Mix64(seed_ ^ Mix64(stream + 0x632be59bd9b4e019ull)));
}

uint64_t Random::Next() {
  const uint64_t result = RotateLeft(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = RotateLeft(state_[3], 45);
  return result;
}

uint64_t Random::Below(uint64_t bound) {
  assert(bound > 0);
  // Lemire's multiply-shift with rejection of the biased low range.
  __uint128_t product = static_cast<__uint128_t>(Next()) * bound;
  uint64_t low = static_cast<uint64_t>(product);
  if (low < bound) {
    const uint64_t threshold = -bound % bound;
    while (low < threshold) {
      product = static_cast<__uint128_t>(Next()) * bound;
      low = static_cast<uint64_t>(product);
    }
  }
  return static_cast<uint64_t>(product >> 64);
}

int64_t Random::UniformInt(int64_t lo, int64_t hi) {
  assert(lo <= hi);
  const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  if (span == UINT64_MAX) return static_cast<int64_t>(Next());
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + Below(span + 1));
}

double Random::UniformDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

bool Random::Bernoulli(double p) {
  if (p <= 0) return false;
  if (p >= 1) return true;
  return UniformDouble() < p;
}

double Random::Exponential(double mean) {
  assert(mean >= 0);
  return -mean * std::log1p(-UniformDouble());
}

double Random::Normal(double mean, double stddev) {
  // Box–Muller; one of the pair is dropped so that no hidden state outlives a call.
  double u1 = UniformDouble();
  while (u1 <= 0) u1 = UniformDouble();
  const double u2 = UniformDouble();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  return mean + stddev * radius * std::cos(2.0 * std::numbers::pi * u2);
}

double Random::LogNormal(double mu, double sigma) { return std::exp(Normal(mu, sigma)); }

ZipfDistribution::ZipfDistribution(uint64_t n, double exponent) : n_(n), exponent_(exponent) {
  assert(n >= 1);
  assert(exponent > 0);
  h_integral_x1_ = HIntegral(1.5) - 1.0;
  h_integral_n_ = HIntegral(static_cast<double>(n) + 0.5);
  s_ = 2.0 - HIntegralInverse(HIntegral(2.5) - H(2.0));
}

namespace {
// log1p(x)/x, with its series near 0.
double Helper1(double x) {
  if (std::fabs(x) > 1e-8) return std::log1p(x) / x;
  return 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
}
// expm1(x)/x, with its series near 0.
double Helper2(double x) {
  if (std::fabs(x) > 1e-8) return std::expm1(x) / x;
  return 1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x));
}
}  // namespace

double ZipfDistribution::H(double x) const { return std::exp(-exponent_ * std::log(x)); }

double ZipfDistribution::HIntegral(double x) const {
  const double log_x = std::log(x);
  return Helper2((1.0 - exponent_) * log_x) * log_x;
}

double ZipfDistribution::HIntegralInverse(double x) const {
  double t = x * (1.0 - exponent_);
  if (t < -1.0) t = -1.0;  // numerical guard at the upper end
  return std::exp(Helper1(t) * x);
}

uint64_t ZipfDistribution::Sample(Random& random) const {
  for (;;) {
    const double u = h_integral_n_ + random.UniformDouble() * (h_integral_x1_ - h_integral_n_);
    const double x = HIntegralInverse(u);
    double k = std::floor(x + 0.5);
    k = std::clamp(k, 1.0, static_cast<double>(n_));
    if (k - x <= s_ || u >= HIntegral(k + 0.5) - H(k)) return static_cast<uint64_t>(k);
  }
}

WeightedChoice::WeightedChoice(const std::vector<double>& weights) {
  assert(!weights.empty());
  double total = 0;
  for (double w : weights) {
    assert(w >= 0);
    total += w;
    cumulative_.push_back(total);
  }
  assert(total > 0);
}

size_t WeightedChoice::Sample(Random& random) const {
  const double target = random.UniformDouble() * cumulative_.back();
  auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), target);
  if (it == cumulative_.end()) --it;
  return static_cast<size_t>(it - cumulative_.begin());
}

}  // namespace granary
