#include "analytics/small_data_detector.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "tests/analytics/synthetic_curve.h"

namespace granary::analytics {
namespace {

constexpr uint64_t kSeed = 77;

SyntheticSpec Spec() {
  SyntheticSpec spec;
  spec.truth = CurveParams{ModelKind::kPowerLawFloor, 5.0, -0.4, 0.02, 0, 0};
  return spec;
}

TEST(SmallDataDetector, FindsAFlatSmallDataRegion) {
  std::printf("seed %llu\n", static_cast<unsigned long long>(kSeed));
  SyntheticSpec spec = Spec();
  // The three smallest sizes (100, 164, 268) sit at chance error, well below the power law.
  spec.small_data_size_max = 300;
  spec.small_data_error = 0.5;
  const CurveFitter fitter(Loss::kHuber);
  const SmallDataDetector detector(&fitter, Weighting::kReplicateSpread);
  for (uint64_t trial = 0; trial < 20; ++trial) {
    const LearningCurve curve = MakeSyntheticCurve(spec, kSeed + trial);
    EXPECT_EQ(detector.CountSmallDataSizes(curve), 3) << "trial " << trial;
  }
}

TEST(SmallDataDetector, LeavesACleanPowerLawWhole) {
  std::printf("seed %llu\n", static_cast<unsigned long long>(kSeed));
  const CurveFitter fitter(Loss::kHuber);
  const SmallDataDetector detector(&fitter, Weighting::kReplicateSpread);
  int dropped = 0;
  for (uint64_t trial = 0; trial < 20; ++trial) {
    dropped += detector.CountSmallDataSizes(MakeSyntheticCurve(Spec(), kSeed + trial)) > 0;
  }
  EXPECT_LE(dropped, 1);
}

}  // namespace
}  // namespace granary::analytics
