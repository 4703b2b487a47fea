// Honest intervals (issue 18): the coverage of a set of intervals is measured right, so a
// correct 90 % interval covers about 90 % and an overconfident one is caught; and on synthetic
// curves whose truth is known, roi-fit's held-out intervals cover about what they claim while
// the bootstrap alone, blind to extrapolation error, is caught covering too little.
#include "analytics/prediction_band.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "analytics/curve_analysis.h"
#include "core/common/random.h"
#include "tests/analytics/synthetic_curve.h"

namespace granary::analytics {
namespace {

constexpr uint64_t kSeed = 18;  // printed by each randomised test

TEST(PredictionBand, NormalQuantileMatchesTables) {
  EXPECT_NEAR(PredictionBand::NormalQuantile(0.95), 1.644854, 1e-6);
  EXPECT_NEAR(PredictionBand::NormalQuantile(0.5), 0.0, 1e-9);
  EXPECT_NEAR(PredictionBand::NormalQuantile(0.025), -1.959964, 1e-6);
}

TEST(PredictionBand, CoverageCountsObservationsInsideTheirIntervals) {
  EXPECT_DOUBLE_EQ(Coverage({1, 2, 3, 4}, {0, 2.5, 3, 0}, {2, 3, 3, 1}), 0.5);
}

// Observations drawn from a known truth: log error ~ N(mu, sd). The correct 90 % interval
// exp(mu +- 1.645 sd) covers about 90 %; one half as wide (overconfident) covers about 59 %.
TEST(PredictionBand, CorrectIntervalCoversNinetyPercentAndOverconfidentIsCaught) {
  std::printf("seed %llu\n", static_cast<unsigned long long>(kSeed));
  Random rng(kSeed);
  const double mu = std::log(0.05), sd = 0.1, z = PredictionBand::NormalQuantile(0.95);
  std::vector<double> observed, low, high, narrow_low, narrow_high;
  for (int i = 0; i < 4000; ++i) {
    observed.push_back(std::exp(rng.Normal(mu, sd)));
    low.push_back(std::exp(mu - z * sd));
    high.push_back(std::exp(mu + z * sd));
    narrow_low.push_back(std::exp(mu - z * sd / 2));
    narrow_high.push_back(std::exp(mu + z * sd / 2));
  }
  const double correct = Coverage(observed, low, high);
  const double overconfident = Coverage(observed, narrow_low, narrow_high);
  std::printf("correct %.3f overconfident %.3f\n", correct, overconfident);
  EXPECT_NEAR(correct, 0.90, 0.02);
  EXPECT_LT(overconfident, 0.80);  // the check a method must pass (80-97 %) fails it
}

TEST(PredictionBand, SpreadWidensOnlyBeyondTheFittedSizes) {
  CurveParams point;
  point.a = 1;
  point.b = -0.5;
  const std::vector<CurveParams> none;
  const PredictionBand band(point, &none, 1000, 0.1, 0.9);
  double low = 0, high = 0;
  band.At(500, &low, &high);
  EXPECT_DOUBLE_EQ(low, PredictError(point, 500));
  EXPECT_DOUBLE_EQ(high, PredictError(point, 500));
  band.At(1000 * std::exp(1.0), &low, &high);  // one unit of log distance past the fit
  const double center = PredictError(point, 1000 * std::exp(1.0));
  EXPECT_NEAR(std::log(high / center), 1.644854 * 0.1, 1e-5);
  EXPECT_NEAR(std::log(center / low), 1.644854 * 0.1, 1e-5);
  // The sizes reaching an error: the optimistic edge reaches it first.
  double low_size = 0, high_size = 0;
  band.SizesFor(0.01, 1, 1e9, &low_size, &high_size);
  EXPECT_LT(low_size, SizeForError(point, 0.01));
  EXPECT_GT(high_size, SizeForError(point, 0.01));
}

struct Pooled {
  int inside = 0;
  int total = 0;
  double Fraction() const { return static_cast<double>(inside) / total; }
};

// Synthetic curves whose truth bends beyond the fitted sizes (a floor the fitted sizes barely
// show), fitted on the smallest 10 of 15 sizes: the 90 % intervals for the held-out sizes.
Pooled HoldoutCoverage(IntervalMethod method, int curves) {
  SyntheticSpec spec;
  spec.truth.kind = ModelKind::kPowerLawFloor;
  spec.truth.a = 2.0;
  spec.truth.b = -0.5;
  spec.truth.c = 0.01;
  spec.noise_log_sd = 0.05;
  AnalysisOptions options;
  options.holdout_fraction = 1.0 / 3.0;
  options.bootstrap_resamples = 200;
  options.band_points = 0;
  options.intervals = method;
  Pooled pooled;
  for (int i = 0; i < curves; ++i) {
    const Result<CurveReport> report =
        CurveAnalysis::Run(MakeSyntheticCurve(spec, kSeed + i), options);
    EXPECT_TRUE(report.ok());
    if (!report.ok()) continue;
    for (const HoldoutPoint& point : report.value().holdout) {
      // Against the truth's mean error at that size (the interval is one for the mean).
      const double truth = PredictError(spec.truth, point.size);
      pooled.inside += truth >= point.ci.low && truth <= point.ci.high;
      ++pooled.total;
    }
  }
  return pooled;
}

TEST(PredictionBand, HoldoutIntervalsOnSyntheticCurvesCoverAboutWhatTheyClaim) {
  std::printf("seeds %llu..+40\n", static_cast<unsigned long long>(kSeed));
  const Pooled honest = HoldoutCoverage(IntervalMethod::kBacktestSpread, 40);
  const Pooled bootstrap = HoldoutCoverage(IntervalMethod::kBootstrapOnly, 40);
  std::printf("backtest spread %d/%d  bootstrap only %d/%d\n", honest.inside, honest.total,
              bootstrap.inside, bootstrap.total);
  EXPECT_GE(honest.Fraction(), 0.80);
  EXPECT_LE(honest.Fraction(), 0.99);
  EXPECT_LT(bootstrap.Fraction(), 0.80);  // caught: the overconfident method fails the check
  EXPECT_LT(bootstrap.Fraction(), honest.Fraction());
}

}  // namespace
}  // namespace granary::analytics
