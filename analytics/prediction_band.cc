#include "analytics/prediction_band.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

#include "analytics/bootstrap.h"

namespace granary::analytics {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr int kSizeScanPoints = 256;  // log grid scanned for an edge's first crossing
constexpr int kSizeSearchSteps = 50;  // bisection steps within a grid cell

}  // namespace

PredictionBand::PredictionBand(const CurveParams& point, const std::vector<CurveParams>* samples,
                               double fit_size_max, double spread, double level)
    : point_(point),
      samples_(samples),
      fit_size_max_(fit_size_max),
      spread_(spread),
      level_(level),
      z_(NormalQuantile((1 + level) / 2)) {
  assert(level > 0 && level < 1);
  assert(fit_size_max > 0);
  assert(spread >= 0);
}

void PredictionBand::At(double size, double* low, double* high) const {
  assert(size > 0);
  const double center = std::log(PredictError(point_, size));
  double half_low = 0, half_high = 0;
  if (samples_ != nullptr && !samples_->empty()) {
    std::vector<double> logs;
    logs.reserve(samples_->size());
    for (const CurveParams& sample : *samples_)
      logs.push_back(std::log(PredictError(sample, size)));
    const double tail = (1 - level_) / 2;
    half_low = std::max(0.0, center - Quantile(&logs, tail));
    half_high = std::max(0.0, Quantile(&logs, 1 - tail) - center);
  }
  const double distance = std::max(0.0, std::log(size / fit_size_max_));
  const double extra = z_ * spread_ * distance;
  *low = std::exp(center - std::hypot(half_low, extra));
  *high = std::exp(center + std::hypot(half_high, extra));
}

void PredictionBand::SizesFor(double error, double size_from, double size_max, double* low_size,
                              double* high_size) const {
  assert(size_from > 0 && size_max >= size_from);
  // The high edge is not monotone: past the fitted sizes the extrapolation spread widens it
  // faster than a flattening curve falls. So scan a log grid for the first size at or below
  // `error`, then bisect between it and the grid point before.
  const auto first_reaching = [&](bool low_edge) {
    const auto reaches = [&](double log_size) {
      double low = 0, high = 0;
      At(std::exp(log_size), &low, &high);
      return (low_edge ? low : high) <= error;
    };
    const double log_from = std::log(size_from), log_max = std::log(size_max);
    if (reaches(log_from)) return size_from;
    double before = log_from;
    for (int i = 1; i <= kSizeScanPoints; ++i) {
      const double at = log_from + (log_max - log_from) * i / kSizeScanPoints;
      if (!reaches(at)) {
        before = at;
        continue;
      }
      double lo = before, hi = at;
      for (int step = 0; step < kSizeSearchSteps; ++step) {
        const double mid = (lo + hi) / 2;
        (reaches(mid) ? hi : lo) = mid;
      }
      return std::exp(hi);
    }
    return kInfinity;
  };
  *low_size = first_reaching(true);
  *high_size = first_reaching(false);
}

double PredictionBand::LearnSpread(const CurveFitter& fitter, Weighting weighting,
                                   const LearningCurve& curve, ModelKind kind,
                                   const ModelSelector* selector, Selection selection) {
  const int64_t sizes = curve.size_count();
  const int64_t first_origin =
      std::max<int64_t>(std::lround(static_cast<double>(sizes) / 2), ParameterCount(kind) + 2);
  double squares = 0, distances = 0;
  for (int64_t origin = first_origin; origin < sizes; ++origin) {
    const LearningCurve inner = curve.Slice(0, origin);
    const ModelKind origin_kind =
        selector != nullptr ? selector->Choose(inner, selection).kind : kind;
    const CurveParams params = fitter.Fit(FitData::FromCurve(inner, weighting), origin_kind).params;
    const double origin_size = inner.size_groups().back().size;
    for (int64_t j = origin; j < sizes; ++j) {
      const LearningCurve::SizeGroup& group = curve.size_groups()[j];
      const double residual =
          std::log(group.mean_error) - std::log(PredictError(params, group.size));
      const double distance = std::log(group.size / origin_size);
      squares += residual * residual;
      distances += distance * distance;
    }
  }
  return distances > 0 ? std::sqrt(squares / distances) : 0.0;
}

double PredictionBand::NormalQuantile(double p) {
  assert(p > 0 && p < 1);
  // Bisection on the normal CDF 0.5 * erfc(-x / sqrt(2)): exact to double precision, and
  // called a handful of times per analysis.
  double lo = -40, hi = 40;
  for (int step = 0; step < 200; ++step) {
    const double mid = (lo + hi) / 2;
    (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

double Coverage(const std::vector<double>& observed, const std::vector<double>& low,
                const std::vector<double>& high) {
  assert(!observed.empty());
  assert(observed.size() == low.size());
  assert(observed.size() == high.size());
  int64_t inside = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    if (observed[i] >= low[i] && observed[i] <= high[i]) ++inside;
  }
  return static_cast<double>(inside) / static_cast<double>(observed.size());
}

}  // namespace granary::analytics
