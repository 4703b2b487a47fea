#include "analytics/bootstrap.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/analytics/synthetic_curve.h"

namespace granary::analytics {
namespace {

TEST(Bootstrap, SameSeedSameSamplesAndMethodFollowsReplicates) {
  SyntheticSpec spec;
  spec.truth = CurveParams{ModelKind::kPowerLaw, 2.0, -0.3, 0, 0, 0};
  const CurveFitter fitter(Loss::kHuber);
  const Bootstrap bootstrap(&fitter, Weighting::kReplicateSpread);
  const LearningCurve curve = MakeSyntheticCurve(spec, 5);
  const FitResult point =
      fitter.Fit(FitData::FromCurve(curve, Weighting::kReplicateSpread), ModelKind::kPowerLaw);
  const BootstrapResult first = bootstrap.Run(curve, point, 50, 9);
  const BootstrapResult second = bootstrap.Run(curve, point, 50, 9);
  const BootstrapResult other = bootstrap.Run(curve, point, 50, 10);
  EXPECT_EQ(first.method, ResampleMethod::kSeeds);
  ASSERT_EQ(first.samples.size(), 50u);
  for (size_t i = 0; i < first.samples.size(); ++i) {
    EXPECT_EQ(first.samples[i].b, second.samples[i].b);
  }
  EXPECT_NE(first.samples[0].b, other.samples[0].b);

  spec.runs_per_size = 1;
  const LearningCurve single = MakeSyntheticCurve(spec, 5);
  const FitResult single_point =
      fitter.Fit(FitData::FromCurve(single, Weighting::kReplicateSpread), ModelKind::kPowerLaw);
  const BootstrapResult residual = bootstrap.Run(single, single_point, 50, 9);
  EXPECT_EQ(residual.method, ResampleMethod::kResiduals);
  double spread = 0;
  for (const CurveParams& sample : residual.samples) spread += std::abs(sample.b - spec.truth.b);
  EXPECT_GT(spread, 0);  // resamples differ
}

TEST(Bootstrap, QuantileInterpolatesAndSortsInfinityLast) {
  std::vector<double> values = {3, 1, 2, 4};
  EXPECT_DOUBLE_EQ(Quantile(&values, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(Quantile(&values, 0), 1);
  std::vector<double> with_infinity = {1, INFINITY, 2};
  EXPECT_TRUE(std::isinf(Quantile(&with_infinity, 0.95)));
  EXPECT_DOUBLE_EQ(Quantile(&with_infinity, 0.25), 1.5);
}

}  // namespace
}  // namespace granary::analytics
