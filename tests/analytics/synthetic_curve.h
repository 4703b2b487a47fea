// Synthetic learning curves with known parameters, for tests: err(m) from a CurveParams at
// log-spaced sizes, each run multiplied by exp(noise * N(0, 1)) from core's Random, seeded and
// drawn exactly as the analytics generator it replaced drew them, so that the curves (and the
// numbers the tests check on them) are the ones the tests were written against.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <vector>

#include "analytics/curve_model.h"
#include "analytics/learning_curve.h"
#include "core/common/random.h"

namespace granary::analytics {

struct SyntheticSpec {
  CurveParams truth;
  double size_min = 100;
  double size_max = 100'000;
  int size_count = 15;
  int runs_per_size = 5;
  double noise_log_sd = 0.02;  // 2% multiplicative noise
  // Sizes below this have the error of `small_data_error` (a flat small-data region); 0: none.
  double small_data_size_max = 0;
  double small_data_error = 0;
};

// N(0, 1) by Box-Muller with u1 = 1 - U in (0, 1]: the draw the curves were pinned with
// (Random::Normal takes u1 = U and skips 0, a different sample for the same stream).
inline double SyntheticNoise(Random& rng) {
  const double u1 = 1.0 - rng.UniformDouble();
  const double u2 = rng.UniformDouble();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

inline LearningCurve MakeSyntheticCurve(const SyntheticSpec& spec, uint64_t seed) {
  Random rng(seed, Random::Seeding::kSplitMixSequence);
  std::vector<Observation> observations;
  for (int i = 0; i < spec.size_count; ++i) {
    const double fraction = static_cast<double>(i) / (spec.size_count - 1);
    const double size =
        std::round(spec.size_min * std::pow(spec.size_max / spec.size_min, fraction));
    double error = PredictError(spec.truth, size);
    if (size < spec.small_data_size_max) error = spec.small_data_error;
    for (int run = 0; run < spec.runs_per_size; ++run) {
      observations.push_back(
          Observation{size, error * std::exp(spec.noise_log_sd * SyntheticNoise(rng))});
    }
  }
  return LearningCurve("synthetic", observations);
}

}  // namespace granary::analytics
