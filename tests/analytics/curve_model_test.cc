#include "analytics/curve_model.h"

#include <gtest/gtest.h>

#include <cmath>

namespace granary::analytics {
namespace {

CurveParams Params(ModelKind kind) {
  CurveParams params;
  params.kind = kind;
  params.a = 2.5;
  params.b = -0.6;
  params.c = kind == ModelKind::kPowerLaw ? 0 : 0.03;
  params.alpha = 0.8;
  params.error_zero = 0.9;
  return params;
}

TEST(CurveModel, SizeForErrorInvertsPredictErrorForEveryModel) {
  for (ModelKind kind : kAllModelKinds) {
    const CurveParams params = Params(kind);
    for (double size : {10.0, 300.0, 1e4, 1e6}) {
      const double error = PredictError(params, size);
      EXPECT_GT(error, params.c);
      EXPECT_NEAR(SizeForError(params, error) / size, 1.0, 1e-6) << ModelName(kind);
    }
  }
}

TEST(CurveModel, TargetAtOrBelowTheFloorIsNeverReached) {
  const CurveParams params = Params(ModelKind::kPowerLawFloor);
  EXPECT_TRUE(std::isinf(SizeForError(params, 0.03)));
  EXPECT_TRUE(std::isinf(SizeForError(params, 0.01)));
  EXPECT_TRUE(std::isfinite(SizeForError(params, 0.0301)));
  EXPECT_EQ(SizeForError(Params(ModelKind::kSaturating), 0.95), 0);  // above e0: no data needed
}

TEST(CurveModel, SaturatingIsASigmoidBetweenErrorZeroAndFloor) {
  const CurveParams params = Params(ModelKind::kSaturating);
  EXPECT_NEAR(PredictError(params, 1e-6), params.error_zero, 1e-3);
  EXPECT_NEAR(PredictError(params, 1e12), params.c, 1e-3);
  CurveParams no_alpha = params;
  no_alpha.alpha = 0;  // M4 with alpha = 0 is the power law with floor
  CurveParams floor = Params(ModelKind::kPowerLawFloor);
  EXPECT_NEAR(PredictError(no_alpha, 500), PredictError(floor, 500), 1e-9);
}

}  // namespace
}  // namespace granary::analytics
