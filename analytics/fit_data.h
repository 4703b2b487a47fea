// FitData: what a least-squares fit of a learning curve sees, built from a LearningCurve.
//
// One row per training-set size: x = log(size), y = log(mean error over the runs at that size)
// and a relative weight. Replicates are not averaged away: their spread sets the weight of
// each size, 1 / (variance of the mean of log error), with each size's variance shrunk toward
// the median over sizes (4 pseudo-runs) so that one lucky size with identical runs cannot
// dominate; and the bootstrap resamples the runs themselves. With one run per size every
// weight is 1. Weights are scaled to mean 1.
#pragma once

#include <Eigen/Dense>

#include "analytics/learning_curve.h"

namespace granary::analytics {

enum class Weighting { kReplicateSpread, kUniform };

struct FitData {
  Eigen::VectorXd log_size;
  Eigen::VectorXd log_error;
  Eigen::VectorXd weight;  // > 0, mean 1
  double floor_max = 0;    // the floor c must stay below this: the smallest mean error
  double error_max = 0;    // the largest mean error

  int64_t rows() const { return log_size.size(); }

  // Requires curve.size_count() >= 1.
  static FitData FromCurve(const LearningCurve& curve, Weighting weighting);
};

// The weighted least-squares line y = intercept + slope * x (the log-log line when x, y are
// logs). Requires at least two distinct x.
struct LineFit {
  double intercept = 0;
  double slope = 0;
};
LineFit FitLine(const Eigen::VectorXd& x, const Eigen::VectorXd& y, const Eigen::VectorXd& weight);

}  // namespace granary::analytics

namespace granary::analytics {

// The plain log-log line through the mean errors of `curve` (uniform weights), as a power law:
// the baseline every other fit is compared with. Requires two sizes; the slope is not
// constrained, so b may come out >= 0 on a rising curve.
struct LogLogLine {
  double a = 0;
  double b = 0;
  double Predict(double size) const;
};
LogLogLine FitLogLogLine(const LearningCurve& curve);

}  // namespace granary::analytics
