// Synthetic learning curves with known parameters, for tests: err(m) from a CurveParams at
// log-spaced sizes, each run multiplied by exp(noise * N(0, 1)) from the analytics Rng.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "analytics/curve_model.h"
#include "analytics/learning_curve.h"
#include "analytics/random.h"

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

inline LearningCurve MakeSyntheticCurve(const SyntheticSpec& spec, uint64_t seed) {
  Rng rng(seed);
  std::vector<Observation> observations;
  for (int i = 0; i < spec.size_count; ++i) {
    const double fraction = static_cast<double>(i) / (spec.size_count - 1);
    const double size =
        std::round(spec.size_min * std::pow(spec.size_max / spec.size_min, fraction));
    double error = PredictError(spec.truth, size);
    if (size < spec.small_data_size_max) error = spec.small_data_error;
    for (int run = 0; run < spec.runs_per_size; ++run) {
      observations.push_back(
          Observation{size, error * std::exp(spec.noise_log_sd * rng.NextGaussian())});
    }
  }
  return LearningCurve("synthetic", observations);
}

}  // namespace granary::analytics
