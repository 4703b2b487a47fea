// CurveFitter: nonlinear least squares of a learning-curve model on log error.
//
// Minimises sum_i rho(sqrt(w_i) * (log err(m_i; theta) - log e_i)) with Eigen's
// Levenberg-Marquardt (unsupported/Eigen/NonLinearOptimization) and an analytic Jacobian.
// rho is the square, or Huber's loss applied through the square-root transform
// r -> sign(r) * sqrt(2 rho(r)), so that LM's sum of squares is twice the Huber objective.
//
// Bounds are kept by construction, in unconstrained coordinates theta:
//   a = exp(t0) > 0, b = -exp(t1) < 0, c = floor_max * sigmoid(t2) in (0, floor_max),
//   alpha = exp(t3) > 0.
// kSaturating's e0 (the error with no data) is fixed, not fitted: fitting it as well lets M4
// bend to the noise of the fitted sizes and extrapolate badly. It is the caller's value, or
// by default 1 when every mean error is below 1 (error rates; the M4 reference
// implementation's default err_0 = 1.0), else kErrorZeroScale times the largest mean error.
// Fit() runs LM from several starts (the log-log line, and lines through log(e - c) for a few
// floors c) with the squared loss, then, for kHuber, once more from the best with the Huber
// threshold set to 1.345 robust standard deviations (1.4826 * MAD) of its residuals.
#pragma once

#include <Eigen/Dense>
#include <limits>

#include "analytics/curve_model.h"
#include "analytics/fit_data.h"

namespace granary::analytics {

enum class Loss { kSquared, kHuber };

struct FitResult {
  CurveParams params;
  double huber_delta = 0;  // threshold on weighted log residuals; infinity for kSquared
  double rmse_log = 0;     // unweighted RMSE of log error over the fitted rows
  double objective = 0;    // the minimised sum of (transformed) squares
};

class CurveFitter {
 public:
  static constexpr double kErrorZeroScale = 1.25;

  // error_zero: kSaturating's fixed e0, NaN for the default. A given e0 must exceed every
  // mean error the fitter is handed.
  explicit CurveFitter(Loss loss, double error_zero = std::numeric_limits<double>::quiet_NaN())
      : loss_(loss), error_zero_(error_zero) {}

  // Requires data.rows() >= ParameterCount(kind) and two distinct sizes.
  FitResult Fit(const FitData& data, ModelKind kind) const;

  // One LM run starting from `start.params` (clamped into data's bounds), keeping its Huber
  // threshold and e0: the bootstrap's refit.
  FitResult Refit(const FitData& data, const FitResult& start) const;

 private:
  double ErrorZero(const FitData& data) const;

  Loss loss_;
  double error_zero_;
};

// RMSE of log error of `params` over the rows of `data` (unweighted).
double RmseLog(const CurveParams& params, const FitData& data);

}  // namespace granary::analytics
