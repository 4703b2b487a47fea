#include "analytics/bootstrap.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "analytics/limits.h"
#include "core/common/random.h"

namespace granary::analytics {
namespace {

LearningCurve ResampleSeeds(const LearningCurve& curve, Random* rng) {
  std::vector<LearningCurve::SizeGroup> groups = curve.size_groups();
  for (LearningCurve::SizeGroup& group : groups) {
    const std::vector<double>& original = group.errors;
    const size_t runs = original.size();
    assert(runs >= 2);
    double log_mean = 0;
    for (double error : original) log_mean += std::log(error);
    log_mean /= static_cast<double>(runs);
    const double inflate = std::sqrt(static_cast<double>(runs) / static_cast<double>(runs - 1));
    std::vector<double> drawn(runs);
    for (double& error : drawn) {
      const double log_error = std::log(original[rng->Below(runs)]);
      error = std::exp(log_mean + inflate * (log_error - log_mean));
    }
    group.errors = std::move(drawn);
  }
  return LearningCurve(curve.name(), std::move(groups));
}

LearningCurve ResampleResiduals(const LearningCurve& curve, const FitResult& point,
                                const std::vector<double>& residuals, Random* rng) {
  std::vector<LearningCurve::SizeGroup> groups = curve.size_groups();
  for (LearningCurve::SizeGroup& group : groups) {
    const double log_predicted = std::log(PredictError(point.params, group.size));
    const double residual = residuals[rng->Below(residuals.size())];
    group.errors.assign(1, std::exp(log_predicted + residual));
  }
  return LearningCurve(curve.name(), std::move(groups));
}

}  // namespace

BootstrapResult Bootstrap::Run(const LearningCurve& curve, const FitResult& point,
                               int64_t resamples, uint64_t seed) const {
  assert(resamples >= 1);
  assert(resamples <= kBootstrapResamplesMax);
  BootstrapResult result;
  result.method = curve.HasReplicates() ? ResampleMethod::kSeeds : ResampleMethod::kResiduals;
  std::vector<double> residuals;
  if (result.method == ResampleMethod::kResiduals) {
    const double rows = static_cast<double>(curve.size_count());
    const double count = ParameterCount(point.params.kind);
    const double inflate = rows > count ? std::sqrt(rows / (rows - count)) : 1.0;
    double mean = 0;
    for (const LearningCurve::SizeGroup& group : curve.size_groups()) {
      residuals.push_back(std::log(group.mean_error) -
                          std::log(PredictError(point.params, group.size)));
      mean += residuals.back() / rows;
    }
    for (double& residual : residuals) residual = inflate * (residual - mean);
  }
  // Seeded as analytics' own generator was, so a seed draws the resamples it drew before
  // analytics shared core's generator (Below equals its plain multiply-shift except on a
  // draw of probability below bound / 2^64, where Below draws again to stay unbiased).
  Random rng(seed, Random::Seeding::kSplitMixSequence);
  result.samples.reserve(resamples);
  for (int64_t i = 0; i < resamples; ++i) {
    const LearningCurve resampled = result.method == ResampleMethod::kSeeds
                                        ? ResampleSeeds(curve, &rng)
                                        : ResampleResiduals(curve, point, residuals, &rng);
    const FitData data = FitData::FromCurve(resampled, weighting_);
    result.samples.push_back(fitter_->Refit(data, point).params);
  }
  return result;
}

double Quantile(std::vector<double>* values, double q) {
  assert(!values->empty());
  assert(q >= 0);
  assert(q <= 1);
  std::sort(values->begin(), values->end());
  const double position = q * static_cast<double>(values->size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, values->size() - 1);
  const double fraction = position - static_cast<double>(below);
  if (std::isinf((*values)[above]) || fraction == 0) {
    return fraction == 0 ? (*values)[below] : (*values)[above];
  }
  return (*values)[below] + fraction * ((*values)[above] - (*values)[below]);
}

}  // namespace granary::analytics
