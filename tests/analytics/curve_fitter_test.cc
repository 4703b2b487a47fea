#include "analytics/curve_fitter.h"

#include <gtest/gtest.h>

#include <cmath>

#include "analytics/curve_loader.h"
#include "tests/analytics/real_curve_data.h"
#include "tests/analytics/synthetic_curve.h"

namespace granary::analytics {
namespace {

// The check values in shared/data/learning_curves/README.md: digits / logistic regression,
// mean over seeds, first 10 sizes, Levenberg-Marquardt of a*m^b + c on log residuals with c
// below the smallest error: a = 2.67346, b = -0.752857, c = 0.020760.
TEST(CurveFitter, MatchesTheReferenceCheckValuesOnDigitsLogreg) {
  const LearningCurve curve = LoadSklearnCurve("digits/logreg").Slice(0, 10);
  const FitData data = FitData::FromCurve(curve, Weighting::kUniform);
  const FitResult fit = CurveFitter(Loss::kSquared).Fit(data, ModelKind::kPowerLawFloor);
  EXPECT_NEAR(fit.params.a, 2.67346, 2e-3);
  EXPECT_NEAR(fit.params.b, -0.752857, 2e-4);
  EXPECT_NEAR(fit.params.c, 0.020760, 2e-5);
  EXPECT_NEAR(PredictError(fit.params, 1347), 0.0325, 1e-4);
  EXPECT_NEAR(SizeForError(fit.params, 0.03), 1860, 5);
  EXPECT_NEAR(SizeForError(fit.params, 0.025), 5233, 10);
}

TEST(CurveFitter, RecoversNoiselessParametersOfEveryModel) {
  for (ModelKind kind : kAllModelKinds) {
    SyntheticSpec spec;
    spec.truth = CurveParams{kind, 4.0, -0.45, kind == ModelKind::kPowerLaw ? 0 : 0.05, 0.7, 1.0};
    spec.noise_log_sd = 0;
    spec.runs_per_size = 1;
    const FitData data = FitData::FromCurve(MakeSyntheticCurve(spec, 1), Weighting::kUniform);
    const FitResult fit = CurveFitter(Loss::kHuber, 1.0).Fit(data, kind);
    EXPECT_NEAR(fit.params.b, spec.truth.b, 1e-4) << ModelName(kind);
    EXPECT_NEAR(fit.params.c, spec.truth.c, 1e-4) << ModelName(kind);
    EXPECT_LT(fit.rmse_log, 1e-5) << ModelName(kind);
  }
}

TEST(CurveFitter, HuberLossResistsOneWildRun) {
  SyntheticSpec spec;
  spec.truth = CurveParams{ModelKind::kPowerLaw, 2.0, -0.3, 0, 0, 0};
  spec.noise_log_sd = 0.01;
  spec.runs_per_size = 1;
  std::vector<LearningCurve::SizeGroup> groups = MakeSyntheticCurve(spec, 3).size_groups();
  groups[12].errors[0] *= 3;  // one corrupted measurement
  const FitData data =
      FitData::FromCurve(LearningCurve("wild", std::move(groups)), Weighting::kUniform);
  const double huber_miss =
      std::abs(CurveFitter(Loss::kHuber).Fit(data, ModelKind::kPowerLaw).params.b + 0.3);
  const double squared_miss =
      std::abs(CurveFitter(Loss::kSquared).Fit(data, ModelKind::kPowerLaw).params.b + 0.3);
  EXPECT_LT(huber_miss, 0.01);
  EXPECT_LT(huber_miss, squared_miss / 3);
}

TEST(CurveFitter, KeepsBoundsOnARisingCurve) {
  // Error that grows with size has no fit with b < 0; the fit must still respect the bounds.
  std::vector<Observation> observations;
  for (double size : {10.0, 20.0, 40.0, 80.0, 160.0}) observations.push_back({size, size / 1000});
  const FitData data =
      FitData::FromCurve(LearningCurve("rising", observations), Weighting::kUniform);
  const FitResult fit = CurveFitter(Loss::kHuber).Fit(data, ModelKind::kPowerLawFloor);
  EXPECT_LT(fit.params.b, 0);
  EXPECT_GE(fit.params.c, 0);
  EXPECT_LT(fit.params.c, data.floor_max);
}

}  // namespace
}  // namespace granary::analytics
