// SmallDataDetector: finds where the small-data region of a learning curve ends.
//
// Below some size a learner is barely better than guessing, and the curve is flatter than the
// power law that follows (Hestness et al. 2017): on log-log axes the curve bends down, while a
// power law with a floor only ever bends up. So the smallest size is in the small-data region
// when its error is lower than what a power law with floor, fitted on the larger sizes,
// predicts for it, by more than kThreshold standard deviations (the fit's residual spread plus
// the size's own replicate spread) and by more than kMinDropLog in log error. The test is
// repeated on the next size while it succeeds, never dropping more than a third of the sizes
// and always keeping at least kKeepSizesMin.
#pragma once

#include <cstdint>

#include "analytics/curve_fitter.h"
#include "analytics/learning_curve.h"

namespace granary::analytics {

class SmallDataDetector {
 public:
  static constexpr double kThreshold = 3.0;
  static constexpr double kMinDropLog = 0.05;
  static constexpr int64_t kKeepSizesMin = 5;

  SmallDataDetector(const CurveFitter* fitter, Weighting weighting)
      : fitter_(fitter), weighting_(weighting) {}

  // How many of the smallest sizes of `curve` lie in the small-data region (0 when none).
  int64_t CountSmallDataSizes(const LearningCurve& curve) const;

 private:
  const CurveFitter* fitter_;  // not owned
  Weighting weighting_;
};

}  // namespace granary::analytics
