// CurvePlot: draws fitted learning curves on log-log axes: every run, the mean at each size
// (held-out sizes and the small-data region marked apart), the fit (solid where it was
// fitted, dashed where it extrapolates), its bootstrap band, the floor c and the target error
// with the size that reaches it.
#pragma once

#include <vector>

#include "analytics/curve_analysis.h"
#include "analytics/learning_curve.h"
#include "analytics/plot_canvas.h"

namespace granary::analytics {

struct PlottedCurve {
  const LearningCurve* curve;  // not owned
  const CurveReport* report;   // not owned; report->band must be non-empty
};

class CurvePlot {
 public:
  static constexpr int kWidthPx = 860;
  static constexpr int kHeightPx = 580;

  // Requires at least one curve. target_error is NaN when there is none.
  static void Draw(const std::vector<PlottedCurve>& curves, double target_error,
                   PlotCanvas* canvas);
};

}  // namespace granary::analytics
