// CurveAnalysis: one learning curve from measurements to a decision.
//
// Steps, in order: split off held-out sizes (above fit_size_max, or the largest
// holdout_fraction of sizes); drop the small-data region (SmallDataDetector); choose the model
// (forced, or ModelSelector); fit it (CurveFitter, Huber on log error); bootstrap it; learn
// its extrapolation spread (PredictionBand); score the fit and the held-out sizes (RMSE of
// log error, and the coverage of their intervals); project ROI figures (RoiCalculator), each
// with an interval (the sizes where the prediction band reaches the target, and the figures
// that follow from them; the others a bootstrap percentile interval); and tabulate the fitted
// curve with its band for a plot.
//
// Errors (as values): fewer sizes to fit than the model has parameters; a given e0 that is not
// above every fitted mean error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analytics/bootstrap.h"
#include "analytics/curve_fitter.h"
#include "analytics/learning_curve.h"
#include "analytics/model_selector.h"
#include "analytics/roi_calculator.h"
#include "core/common/status.h"

namespace granary::analytics {

enum class SmallDataHandling { kDetect, kKeepAll };

// How the intervals of projections are made (PredictionBand): kBacktestSpread (the default)
// widens the bootstrap interval by the extrapolation spread learned from rolling-origin
// backtests; kBootstrapOnly is the bootstrap percentile interval alone (too narrow beyond the
// fitted sizes; kept to measure that).
enum class IntervalMethod { kBacktestSpread, kBootstrapOnly };

struct AnalysisOptions {
  std::optional<double> fit_size_max;      // sizes above it are held out
  std::optional<double> holdout_fraction;  // else: this fraction of the largest sizes, in [0, 1)
  std::optional<ModelKind> model;          // forced; else chosen by `selection`
  Selection selection = Selection::kBacktest;
  double error_zero = kNotGiven;  // M4's e0; NaN: CurveFitter's default
  Loss loss = Loss::kHuber;
  Weighting weighting = Weighting::kReplicateSpread;
  SmallDataHandling small_data = SmallDataHandling::kDetect;
  int64_t bootstrap_resamples = 1000;  // 0: no intervals
  uint64_t seed = 1;
  double ci_level = 0.9;
  RoiInputs roi;
  IntervalMethod intervals = IntervalMethod::kBacktestSpread;
  int band_points = 64;  // sizes tabulated for the plot, log-spaced; 0: none
};

struct Interval {
  double low = kNotGiven;
  double high = kNotGiven;
};

struct BandPoint {
  double size = 0;
  double error = 0;  // the point fit
  Interval ci;       // bootstrap percentile band
};

// One held-out size: the observed mean error, the fit's prediction and its interval.
struct HoldoutPoint {
  double size = 0;
  double observed = 0;
  double predicted = 0;
  Interval ci;
};

struct CurveReport {
  std::string name;
  ModelChoice choice;
  bool model_forced = false;
  FitResult fit;
  Interval a_ci, b_ci, c_ci, alpha_ci, error_zero_ci;
  int64_t point_count = 0;     // observations (runs) in the whole curve
  int64_t size_count = 0;      // distinct sizes in the whole curve
  int64_t fit_size_count = 0;  // sizes fitted (after the small-data cut)
  int64_t holdout_size_count = 0;
  int64_t small_data_size_count = 0;  // smallest sizes dropped as small-data region
  double small_data_cutoff = 0;  // the smallest fitted size: the small-data region ends below it
  double fit_size_max = 0;       // the largest fitted size
  std::optional<double> holdout_rmse_log;         // of the fit, on held-out sizes' mean error
  std::optional<double> loglog_holdout_rmse_log;  // of the log-log line on all split sizes
  std::vector<HoldoutPoint> holdout;
  // The fraction of held-out sizes whose observed mean error is inside the ci_level interval.
  std::optional<double> holdout_coverage;
  double extrapolation_spread = 0;  // PredictionBand's learned spread (0: kBootstrapOnly)
  ResampleMethod resample_method = ResampleMethod::kSeeds;
  int64_t bootstrap_resamples = 0;
  uint64_t seed = 0;
  double ci_level = 0;
  RoiFigures roi;
  std::vector<Interval> roi_ci;  // parallel to RoiFigures::kFields
  std::vector<BandPoint> band;
};

class CurveAnalysis {
 public:
  static Result<CurveReport> Run(const LearningCurve& curve, const AnalysisOptions& options);
};

}  // namespace granary::analytics
