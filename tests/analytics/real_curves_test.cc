// The "must show" on real curves: fitting on the smallest two thirds of sizes (NMT:
// the Training = 1 rows) and scoring the rest, roi-fit's analysis extrapolates better (median
// RMSE of log error) than the plain log-log line, and at least as well as SciPy's curve_fit
// of a*m^b + c.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "analytics/curve_analysis.h"
#include "tests/analytics/real_curve_data.h"

namespace granary::analytics {
namespace {

// Measured baselines, printed by `/usr/bin/python3 shared/data/learning_curves/
// reference_fits.py` (SciPy 1.10, NumPy 1.24, Debian 12) on the same files as data/:
//   sklearn median: log-log 0.1065  curve_fit 0.0989
//   nmt median:     log-log 0.2340  curve_fit 0.0655
constexpr double kSklearnLogLogReference = 0.1065;
constexpr double kSklearnCurveFitReference = 0.0989;
constexpr double kNmtLogLogReference = 0.2340;
constexpr double kNmtCurveFitReference = 0.0655;
constexpr double kNmtFitSizeMax = 256e6;  // the largest Training = 1 size

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

struct Medians {
  double ours;
  double log_log;
};

Medians Extrapolate(const std::vector<LearningCurve>& curves, const AnalysisOptions& options) {
  std::vector<double> ours, log_log;
  for (const LearningCurve& curve : curves) {
    const Result<CurveReport> report = CurveAnalysis::Run(curve, options);
    EXPECT_TRUE(report.ok()) << curve.name();
    if (!report.ok()) continue;
    EXPECT_TRUE(report.value().holdout_rmse_log.has_value());
    ours.push_back(*report.value().holdout_rmse_log);
    log_log.push_back(*report.value().loglog_holdout_rmse_log);
    std::printf(
        "%-36s %-16s small-data sizes %lld  ours %.4f  log-log %.4f\n", curve.name().c_str(),
        std::string(ModelName(report.value().fit.params.kind)).c_str(),
        static_cast<long long>(report.value().small_data_size_count), ours.back(), log_log.back());
  }
  return Medians{Median(ours), Median(log_log)};
}

AnalysisOptions ExtrapolationOptions() {
  AnalysisOptions options;
  options.bootstrap_resamples = 0;  // intervals play no part in the point extrapolation
  options.band_points = 0;
  return options;
}

TEST(RealCurves, SklearnExtrapolatesBetterThanLogLogAndCurveFit) {
  const std::vector<LearningCurve> curves = LoadSklearnCurves();
  ASSERT_EQ(curves.size(), 9u);
  AnalysisOptions options = ExtrapolationOptions();
  options.holdout_fraction = 1.0 / 3.0;  // fit 10 of 15 sizes, as reference_fits.py
  const Medians medians = Extrapolate(curves, options);
  std::printf("sklearn median: ours %.4f  log-log %.4f (reference %.4f)  curve_fit %.4f\n",
              medians.ours, medians.log_log, kSklearnLogLogReference, kSklearnCurveFitReference);
  // Our own log-log line reproduces the reference script's, so the comparison is like for like.
  EXPECT_NEAR(medians.log_log, kSklearnLogLogReference, 5e-4);
  EXPECT_LT(medians.ours, medians.log_log);
  EXPECT_LE(medians.ours, kSklearnCurveFitReference);
}

TEST(RealCurves, NmtExtrapolatesBetterThanLogLogAndCurveFit) {
  const std::vector<LearningCurve> curves = LoadNmtCurves();
  ASSERT_EQ(curves.size(), 5u);
  AnalysisOptions options = ExtrapolationOptions();
  options.fit_size_max = kNmtFitSizeMax;
  const Medians medians = Extrapolate(curves, options);
  std::printf("nmt median: ours %.4f  log-log %.4f (reference %.4f)  curve_fit %.4f\n",
              medians.ours, medians.log_log, kNmtLogLogReference, kNmtCurveFitReference);
  EXPECT_NEAR(medians.log_log, kNmtLogLogReference, 5e-4);
  EXPECT_LT(medians.ours, medians.log_log);
  EXPECT_LE(medians.ours, kNmtCurveFitReference);
}

// The bar for honest intervals: the 90 % intervals of the held-out sizes cover between
// 80 % and 97 % of them, pooled over all shared curves (45 sklearn sizes and 5 NMT ones).
TEST(RealCurves, HeldOutIntervalsCoverBetween80And97Percent) {
  AnalysisOptions options;
  options.bootstrap_resamples = 300;
  options.band_points = 0;
  int inside = 0, total = 0;
  const auto pool = [&](const std::vector<LearningCurve>& curves) {
    for (const LearningCurve& curve : curves) {
      const Result<CurveReport> report = CurveAnalysis::Run(curve, options);
      ASSERT_TRUE(report.ok()) << curve.name();
      for (const HoldoutPoint& point : report.value().holdout) {
        inside += point.observed >= point.ci.low && point.observed <= point.ci.high;
        ++total;
      }
    }
  };
  options.holdout_fraction = 1.0 / 3.0;
  pool(LoadSklearnCurves());
  options.holdout_fraction.reset();
  options.fit_size_max = kNmtFitSizeMax;
  pool(LoadNmtCurves());
  std::printf("held-out sizes inside their 90%% intervals: %d of %d\n", inside, total);
  ASSERT_EQ(total, 50);
  EXPECT_GE(inside, 40);  // 80 %
  EXPECT_LE(inside, 48);  // 97 %
}

TEST(RealCurves, BootstrapIntervalsOnARealCurveAreOrderedAndCoverThePointFit) {
  AnalysisOptions options;
  options.holdout_fraction = 1.0 / 3.0;
  options.bootstrap_resamples = 300;
  options.roi.target_error = 0.03;
  const Result<CurveReport> report = CurveAnalysis::Run(LoadSklearnCurve("digits/logreg"), options);
  ASSERT_TRUE(report.ok());
  const CurveReport& r = report.value();
  EXPECT_EQ(r.resample_method, ResampleMethod::kSeeds);
  EXPECT_LE(r.b_ci.low, r.fit.params.b);
  EXPECT_GE(r.b_ci.high, r.fit.params.b);
  EXPECT_LT(r.b_ci.high, 0);
  ASSERT_FALSE(r.band.empty());
  for (const BandPoint& point : r.band) {
    EXPECT_LE(point.ci.low, point.ci.high);
    EXPECT_GT(point.ci.low, 0);
  }
}

}  // namespace
}  // namespace granary::analytics
