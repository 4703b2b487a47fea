// Bootstrap: the sampling distribution of a fitted learning curve.
//
// When every size has several runs (seeds), each resample draws, at every size, as many runs
// as it has, with replacement; the drawn log errors are spread about their size's mean by
// sqrt(n / (n - 1)) so the resampled means keep the variance of the original ones (the plain
// bootstrap shrinks it by (n - 1) / n, which matters with 5 seeds). With one run per size it
// resamples the centred log residuals of the fit instead, scaled by sqrt(n / (n - p)). Every
// resample is refitted with the point fit's model and Huber threshold, starting from the point
// estimate. Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <vector>

#include "analytics/curve_fitter.h"
#include "analytics/learning_curve.h"

namespace granary::analytics {

enum class ResampleMethod { kSeeds, kResiduals };

struct BootstrapResult {
  ResampleMethod method = ResampleMethod::kSeeds;
  std::vector<CurveParams> samples;  // one per resample
};

class Bootstrap {
 public:
  Bootstrap(const CurveFitter* fitter, Weighting weighting)
      : fitter_(fitter), weighting_(weighting) {}

  // Requires resamples in [1, kBootstrapResamplesMax] and that `point` was fitted on `curve`.
  BootstrapResult Run(const LearningCurve& curve, const FitResult& point, int64_t resamples,
                      uint64_t seed) const;

 private:
  const CurveFitter* fitter_;  // not owned
  Weighting weighting_;
};

// The q-quantile (0 <= q <= 1) of `values` by linear interpolation between order statistics;
// infinities sort last. Requires a non-empty vector; reorders it.
double Quantile(std::vector<double>* values, double q);

}  // namespace granary::analytics
