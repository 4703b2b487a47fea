#include "analytics/roi_calculator.h"

#include <gtest/gtest.h>

#include <cmath>

namespace granary::analytics {
namespace {

// err(m) = 2 m^-0.5 + 0.01: the target 0.03 needs (0.02 / 2)^(1 / -0.5) = 10,000 samples.
CurveParams Params() { return CurveParams{ModelKind::kPowerLawFloor, 2.0, -0.5, 0.01, 0, 0}; }

RoiInputs Inputs() {
  RoiInputs inputs;
  inputs.target_error = 0.03;
  inputs.bytes_per_sample = 1e6;  // 1 MB
  inputs.cost_per_gb_month = 0.02;
  inputs.storage_months = 12;
  inputs.replication = 3;
  inputs.cost_per_sample = 0.1;
  inputs.samples_per_second = 500;
  inputs.budget = 1000;
  return inputs;
}

TEST(RoiCalculator, ProjectsSamplesBytesCostsAndReadRate) {
  const RoiFigures figures = RoiCalculator::Compute(Params(), Inputs(), 2500);
  EXPECT_NEAR(figures.samples_for_target, 10000, 1e-6);
  EXPECT_NEAR(figures.additional_samples, 7500, 1e-6);
  EXPECT_NEAR(figures.bytes_for_target, 1e10, 1e-3);
  EXPECT_NEAR(figures.stored_bytes, 3e10, 1e-3);
  EXPECT_NEAR(figures.storage_cost, 30 * 0.02 * 12, 1e-9);  // 30 GB for 12 months
  EXPECT_NEAR(figures.collection_cost, 750, 1e-9);
  EXPECT_NEAR(figures.total_cost, 750 + 7.2, 1e-9);
  EXPECT_NEAR(figures.read_bytes_per_second, 5e8, 1e-6);
  EXPECT_NEAR(figures.epoch_seconds, 20, 1e-9);
  EXPECT_NEAR(figures.current_error, 2 / 50.0 + 0.01, 1e-12);
  EXPECT_NEAR(figures.error_gain_per_1k_samples, 0.05 - (2 / std::sqrt(3500.0) + 0.01), 1e-12);
  // 1,000 more samples cost 100 to collect and 1000 * 0.00072 to store.
  EXPECT_NEAR(figures.error_gain_per_money, figures.error_gain_per_1k_samples / 100.72, 1e-12);
  // Budget 1000 = 0.1 * (m - 2500) + 0.00072 * m  =>  m = 1250 / 0.10072.
  EXPECT_NEAR(figures.samples_at_budget, 1250 / 0.10072, 1e-6);
  EXPECT_NEAR(figures.error_at_budget, 2 / std::sqrt(1250 / 0.10072) + 0.01, 1e-12);
  EXPECT_NEAR(RoiCalculator::TotalCost(Inputs(), 2500, figures.samples_at_budget), 1000, 1e-9);
}

TEST(RoiCalculator, TargetAtTheFloorIsInfiniteAndSaid) {
  RoiInputs inputs = Inputs();
  inputs.target_error = 0.01;
  const RoiFigures figures = RoiCalculator::Compute(Params(), inputs, 2500);
  EXPECT_TRUE(std::isinf(figures.samples_for_target));
  EXPECT_TRUE(std::isinf(figures.storage_cost));
  EXPECT_TRUE(std::isinf(figures.total_cost));
}

TEST(RoiCalculator, FiguresWithoutInputsAreNotGiven) {
  const RoiFigures figures = RoiCalculator::Compute(Params(), RoiInputs{}, 2500);
  EXPECT_TRUE(std::isnan(figures.samples_for_target));
  EXPECT_TRUE(std::isnan(figures.storage_cost));
  EXPECT_TRUE(std::isnan(figures.error_gain_per_money));
  EXPECT_TRUE(std::isnan(figures.read_bytes_per_second));
  EXPECT_FALSE(std::isnan(figures.error_gain_per_1k_samples));
  // A target already met needs no more samples.
  RoiInputs met;
  met.target_error = 0.2;
  EXPECT_EQ(RoiCalculator::Compute(Params(), met, 2500).additional_samples, 0);
}

}  // namespace
}  // namespace granary::analytics
