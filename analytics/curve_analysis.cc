#include "analytics/curve_analysis.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "analytics/limits.h"
#include "analytics/small_data_detector.h"

namespace granary::analytics {
namespace {

// Percentile interval of `values` at `level`, ignoring NaN (figures not applicable).
Interval PercentileInterval(std::vector<double> values, double level) {
  std::erase_if(values, [](double value) { return std::isnan(value); });
  if (values.empty()) return Interval{};
  const double tail = (1 - level) / 2;
  Interval interval;
  interval.low = Quantile(&values, tail);
  interval.high = Quantile(&values, 1 - tail);
  return interval;
}

template <typename Get>
Interval IntervalOf(const std::vector<CurveParams>& samples, double level, Get get) {
  std::vector<double> values;
  values.reserve(samples.size());
  for (const CurveParams& sample : samples) values.push_back(get(sample));
  return PercentileInterval(std::move(values), level);
}

int64_t FitSizeCount(const LearningCurve& curve, const AnalysisOptions& options) {
  if (options.fit_size_max) return curve.CountAtMost(*options.fit_size_max);
  if (options.holdout_fraction) {
    const double kept = static_cast<double>(curve.size_count()) * (1 - *options.holdout_fraction);
    return std::clamp<int64_t>(std::lround(kept), 0, curve.size_count());
  }
  return curve.size_count();
}

void TabulateBand(const LearningCurve& curve, const CurveReport& report,
                  const std::vector<CurveParams>& samples, const AnalysisOptions& options,
                  std::vector<BandPoint>* band) {
  const int points = std::min(options.band_points, kPlotGridPointsMax);
  if (points < 2) return;
  const double size_min = curve.size_groups().front().size;
  const double size_largest = curve.size_groups().back().size;
  double size_max = size_largest * 4;
  const double target_size = report.roi.samples_for_target;
  if (std::isfinite(target_size)) {
    size_max = std::max(size_max, std::min(target_size * 2, size_largest * 1e4));
  }
  for (int i = 0; i < points; ++i) {
    const double fraction = static_cast<double>(i) / (points - 1);
    BandPoint point;
    point.size = size_min * std::pow(size_max / size_min, fraction);
    point.error = PredictError(report.fit.params, point.size);
    point.ci = IntervalOf(samples, options.ci_level, [&](const CurveParams& sample) {
      return PredictError(sample, point.size);
    });
    band->push_back(point);
  }
}

}  // namespace

Result<CurveReport> CurveAnalysis::Run(const LearningCurve& curve, const AnalysisOptions& options) {
  assert(options.ci_level > 0 && options.ci_level < 1);
  CurveReport report;
  report.name = curve.name();
  report.point_count = curve.observation_count();
  report.size_count = curve.size_count();
  report.seed = options.seed;
  report.ci_level = options.ci_level;

  const int64_t fit_sizes = FitSizeCount(curve, options);
  const int needed = options.model ? ParameterCount(*options.model) : 2;
  if (fit_sizes < needed) {
    return Status(StatusCode::kInvalidArgument,
                  "group " + curve.name() + ": " + std::to_string(fit_sizes) +
                      " distinct sizes to fit, the model needs at least " + std::to_string(needed));
  }
  const LearningCurve split = curve.Slice(0, fit_sizes);
  const CurveFitter fitter(options.loss, options.error_zero);
  for (const LearningCurve::SizeGroup& group : split.size_groups()) {
    if (group.mean_error >= options.error_zero) {
      return Status(StatusCode::kInvalidArgument,
                    "group " + curve.name() + ": the no-data error e0 " +
                        std::to_string(options.error_zero) + " is not above the mean error " +
                        std::to_string(group.mean_error) + " at size " +
                        std::to_string(group.size));
    }
  }
  if (options.small_data == SmallDataHandling::kDetect) {
    report.small_data_size_count =
        SmallDataDetector(&fitter, options.weighting).CountSmallDataSizes(split);
  }
  const LearningCurve fitted = split.Slice(report.small_data_size_count, fit_sizes);
  report.fit_size_count = fitted.size_count();
  report.small_data_cutoff = fitted.size_groups().front().size;
  report.fit_size_max = fitted.size_groups().back().size;

  report.model_forced = options.model.has_value();
  if (options.model) {
    report.choice.kind = *options.model;
  } else {
    report.choice = ModelSelector(&fitter, options.weighting).Choose(fitted, options.selection);
  }
  const FitData data = FitData::FromCurve(fitted, options.weighting);
  report.fit = fitter.Fit(data, report.choice.kind);

  report.holdout_size_count = curve.size_count() - fit_sizes;
  if (report.holdout_size_count > 0) {
    const FitData holdout =
        FitData::FromCurve(curve.Slice(fit_sizes, curve.size_count()), Weighting::kUniform);
    report.holdout_rmse_log = RmseLog(report.fit.params, holdout);
    const LogLogLine line = FitLogLogLine(split);
    double squares = 0;
    for (int64_t i = 0; i < holdout.rows(); ++i) {
      const double size = std::exp(holdout.log_size[i]);
      squares += std::pow(std::log(line.Predict(size)) - holdout.log_error[i], 2);
    }
    report.loglog_holdout_rmse_log = std::sqrt(squares / static_cast<double>(holdout.rows()));
  }

  std::vector<CurveParams> samples;
  if (options.bootstrap_resamples > 0) {
    const BootstrapResult bootstrap =
        Bootstrap(&fitter, options.weighting)
            .Run(fitted, report.fit, options.bootstrap_resamples, options.seed);
    report.resample_method = bootstrap.method;
    report.bootstrap_resamples = options.bootstrap_resamples;
    samples = bootstrap.samples;
  }
  const double level = options.ci_level;
  report.a_ci = IntervalOf(samples, level, [](const CurveParams& p) { return p.a; });
  report.b_ci = IntervalOf(samples, level, [](const CurveParams& p) { return p.b; });
  report.c_ci = IntervalOf(samples, level, [](const CurveParams& p) { return p.c; });
  if (report.choice.kind == ModelKind::kSaturating) {
    report.alpha_ci = IntervalOf(samples, level, [](const CurveParams& p) { return p.alpha; });
    report.error_zero_ci =
        IntervalOf(samples, level, [](const CurveParams& p) { return p.error_zero; });
  }

  const double current_size = curve.size_groups().back().size;
  report.roi = RoiCalculator::Compute(report.fit.params, options.roi, current_size);
  std::vector<RoiFigures> sample_figures;
  sample_figures.reserve(samples.size());
  for (const CurveParams& sample : samples) {
    sample_figures.push_back(RoiCalculator::Compute(sample, options.roi, current_size));
  }
  for (int f = 0; f < RoiFigures::kFieldCount; ++f) {
    const auto member = RoiFigures::kFields[f].member;
    std::vector<double> values;
    values.reserve(sample_figures.size());
    for (const RoiFigures& figures : sample_figures) values.push_back(figures.*member);
    report.roi_ci.push_back(PercentileInterval(std::move(values), level));
  }
  TabulateBand(curve, report, samples, options, &report.band);
  return report;
}

}  // namespace granary::analytics
