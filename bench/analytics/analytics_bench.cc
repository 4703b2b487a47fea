// Speed of one learning-curve fit with a 1,000-resample bootstrap on a 15-size, 5-seed curve
// (the target: under 1 s), against the plain log-log line fit measured in the same
// run as the baseline (STYLE.md 12). Report the machine with the numbers.
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "analytics/curve_analysis.h"
#include "analytics/fit_data.h"
#include "core/common/random.h"

namespace granary::analytics {
namespace {

// err(m) = 3 m^-0.35 + 0.02 at 15 log-spaced sizes from 100 to 100,000, 5 seeds, 2% noise.
LearningCurve BenchCurve() {
  Random rng(2024);
  const CurveParams truth{ModelKind::kPowerLawFloor, 3.0, -0.35, 0.02, 0, 0};
  std::vector<Observation> observations;
  for (int i = 0; i < 15; ++i) {
    const double size = std::round(100 * std::pow(1000.0, i / 14.0));
    for (int seed = 0; seed < 5; ++seed) {
      observations.push_back(
          Observation{size, PredictError(truth, size) * std::exp(0.02 * rng.Normal(0.0, 1.0))});
    }
  }
  return LearningCurve("bench", observations);
}

void BM_LogLogLine(benchmark::State& state) {
  const LearningCurve curve = BenchCurve();
  for (auto _ : state) benchmark::DoNotOptimize(FitLogLogLine(curve));
}
BENCHMARK(BM_LogLogLine)->Unit(benchmark::kMicrosecond);

// The whole analysis: small-data detection, model choice by rolling backtest, Huber fit,
// `resamples` bootstrap refits, ROI figures and the plot band from every resample.
void BM_FitWithBootstrap(benchmark::State& state) {
  const LearningCurve curve = BenchCurve();
  AnalysisOptions options;
  options.bootstrap_resamples = state.range(0);
  options.roi.target_error = 0.04;
  options.roi.bytes_per_sample = 1e5;
  options.roi.cost_per_gb_month = 0.02;
  options.roi.cost_per_sample = 0.01;
  for (auto _ : state) benchmark::DoNotOptimize(CurveAnalysis::Run(curve, options));
}
BENCHMARK(BM_FitWithBootstrap)->Arg(0)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace granary::analytics

BENCHMARK_MAIN();
