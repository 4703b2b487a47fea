#include "analytics/curve_analysis.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "analytics/limits.h"
#include "analytics/prediction_band.h"
#include "analytics/small_data_detector.h"

namespace granary::analytics {
namespace {

// The band's edges are searched for the target up to this multiple of the current size; an
// edge that has not reached it there is reported as infinite.
constexpr double kTargetSearchFactor = 1e6;

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
                  const PredictionBand& prediction, const AnalysisOptions& options,
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
    prediction.At(point.size, &point.ci.low, &point.ci.high);
    band->push_back(point);
  }
}

int FieldIndex(double RoiFigures::*member) {
  for (int f = 0; f < RoiFigures::kFieldCount; ++f) {
    if (RoiFigures::kFields[f].member == member) return f;
  }
  assert(false);
  return 0;
}

// Replaces the bootstrap intervals of the figures that follow from the target with the sizes
// where the prediction band reaches it, and those of errors at a size with the band there.
void BandIntervals(const PredictionBand& prediction, const AnalysisOptions& options,
                   double size_from, CurveReport* report) {
  const double current_size = report->roi.current_size;
  prediction.At(current_size, &report->roi_ci[FieldIndex(&RoiFigures::current_error)].low,
                &report->roi_ci[FieldIndex(&RoiFigures::current_error)].high);
  if (!std::isnan(report->roi.samples_at_budget)) {
    Interval& ci = report->roi_ci[FieldIndex(&RoiFigures::error_at_budget)];
    prediction.At(report->roi.samples_at_budget, &ci.low, &ci.high);
  }
  if (std::isnan(options.roi.target_error)) return;
  double low_size = 0, high_size = 0;
  prediction.SizesFor(options.roi.target_error, size_from, current_size * kTargetSearchFactor,
                      &low_size, &high_size);
  RoiFigures low, high;
  RoiCalculator::SetTargetFigures(low_size, options.roi, current_size, &low);
  RoiCalculator::SetTargetFigures(high_size, options.roi, current_size, &high);
  for (double RoiFigures::*member :
       {&RoiFigures::samples_for_target, &RoiFigures::additional_samples,
        &RoiFigures::bytes_for_target, &RoiFigures::stored_bytes, &RoiFigures::storage_cost,
        &RoiFigures::collection_cost, &RoiFigures::total_cost, &RoiFigures::epoch_seconds}) {
    if (std::isnan(report->roi.*member)) continue;
    report->roi_ci[FieldIndex(member)] = Interval{low.*member, high.*member};
  }
}

void ScoreHoldout(const LearningCurve& curve, int64_t fit_sizes, const PredictionBand& prediction,
                  CurveReport* report) {
  std::vector<double> observed, low, high;
  for (int64_t i = fit_sizes; i < curve.size_count(); ++i) {
    const LearningCurve::SizeGroup& group = curve.size_groups()[i];
    HoldoutPoint point;
    point.size = group.size;
    point.observed = group.mean_error;
    point.predicted = PredictError(report->fit.params, group.size);
    prediction.At(group.size, &point.ci.low, &point.ci.high);
    report->holdout.push_back(point);
    observed.push_back(point.observed);
    low.push_back(point.ci.low);
    high.push_back(point.ci.high);
  }
  if (!observed.empty()) report->holdout_coverage = Coverage(observed, low, high);
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
  const ModelSelector selector(&fitter, options.weighting);
  report.extrapolation_spread =
      options.intervals == IntervalMethod::kBacktestSpread
          ? PredictionBand::LearnSpread(fitter, options.weighting, fitted, report.choice.kind,
                                        options.model ? nullptr : &selector, options.selection)
          : 0.0;
  const PredictionBand prediction(report.fit.params, &samples, report.fit_size_max,
                                  report.extrapolation_spread, level);
  BandIntervals(prediction, options, report.small_data_cutoff, &report);
  ScoreHoldout(curve, fit_sizes, prediction, &report);
  TabulateBand(curve, report, prediction, options, &report.band);
  return report;
}

}  // namespace granary::analytics
