#include "analytics/small_data_detector.h"

#include <cassert>
#include <cmath>

namespace granary::analytics {

int64_t SmallDataDetector::CountSmallDataSizes(const LearningCurve& curve) const {
  const int64_t sizes = curve.size_count();
  int64_t dropped = 0;
  while (dropped < sizes / 3 && sizes - dropped - 1 >= kKeepSizesMin) {
    const LearningCurve rest = curve.Slice(dropped + 1, sizes);
    const FitData data = FitData::FromCurve(rest, weighting_);
    const FitResult fit = fitter_->Fit(data, ModelKind::kPowerLawFloor);
    const LearningCurve::SizeGroup& candidate = curve.size_groups()[dropped];
    const double drop_log =
        std::log(PredictError(fit.params, candidate.size)) - std::log(candidate.mean_error);
    const double runs = static_cast<double>(candidate.errors.size());
    const double spread = std::sqrt(fit.rmse_log * fit.rmse_log + candidate.log_variance / runs);
    if (!(drop_log > kMinDropLog && drop_log > kThreshold * spread)) break;
    ++dropped;
  }
  assert(dropped <= sizes / 3);
  return dropped;
}

}  // namespace granary::analytics
