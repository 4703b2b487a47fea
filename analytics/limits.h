// Named maximums of the analytics module (STYLE.md 5). Input past a limit is an error value;
// internal state past one is a bug and asserts.
#pragma once

#include <cstdint>

namespace granary::analytics {

// CSV input.
inline constexpr int64_t kCsvLineBytesMax = 64 * 1024;
inline constexpr int64_t kCsvRowsMax = 1'000'000;
inline constexpr int64_t kCsvColumnsMax = 256;

// Curves.
inline constexpr int64_t kGroupsMax = 10'000;
inline constexpr int64_t kCurveSizesMax = 1'000;  // distinct training-set sizes per curve

// Fitting.
inline constexpr int kLmEvaluationsMax = 400;   // function evaluations per LM run
inline constexpr int kFitStartsMax = 8;         // LM starts per model
inline constexpr int kBisectionStepsMax = 200;  // implicit M4 solve
inline constexpr int64_t kBootstrapResamplesMax = 100'000;
inline constexpr int kPlotGridPointsMax = 256;

// Storage plans (--plan). The simulator's own limits bound the cluster (100,000 datanodes,
// 100,000 clients); a simulated dataset past a million files would take minutes per run.
inline constexpr int64_t kPlanDatanodesMax = 100'000;
inline constexpr int64_t kPlanAcceleratorsMax = 100'000;
inline constexpr int64_t kPlanGridPointsMax = 64;
inline constexpr int64_t kPlanSimFilesMax = 1'000'000;

}  // namespace granary::analytics
