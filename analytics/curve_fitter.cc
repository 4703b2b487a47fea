#include "analytics/curve_fitter.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <unsupported/Eigen/NonLinearOptimization>
#include <vector>

#include "analytics/limits.h"

namespace granary::analytics {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kHuberK = 1.345;  // 95% efficiency under normal errors
constexpr double kMadScale = 1.4826;
constexpr double kThetaMax = 50;  // |theta| beyond this is a diverged step

double Sigmoid(double t) { return 1 / (1 + std::exp(-t)); }
double Logit(double p) { return std::log(p / (1 - p)); }

// Maps params into unconstrained coordinates, clamping them strictly inside data's bounds.
Eigen::VectorXd ToTheta(const CurveParams& params, const FitData& data) {
  const int count = ParameterCount(params.kind);
  Eigen::VectorXd theta(count);
  theta[0] = std::log(params.a);
  theta[1] = std::log(std::max(-params.b, 1e-6));
  if (count >= 3) {
    const double fraction = std::clamp(params.c / data.floor_max, 1e-6, 1 - 1e-6);
    theta[2] = Logit(fraction);
  }
  if (count >= 4) theta[3] = std::log(std::max(params.alpha, 1e-6));
  return theta;
}

CurveParams FromTheta(ModelKind kind, const Eigen::VectorXd& theta, const FitData& data,
                      double error_zero) {
  CurveParams params;
  params.kind = kind;
  params.a = std::exp(theta[0]);
  params.b = -std::exp(theta[1]);
  if (theta.size() >= 3) params.c = data.floor_max * Sigmoid(theta[2]);
  if (theta.size() >= 4) {
    params.alpha = std::exp(theta[3]);
    params.error_zero = error_zero;
  }
  return params;
}

// Log prediction at x = log(size) and its gradient with respect to theta.
double LogPredict(ModelKind kind, const Eigen::VectorXd& theta, const FitData& data,
                  double error_zero, double x, Eigen::Ref<Eigen::RowVectorXd> gradient) {
  const CurveParams params = FromTheta(kind, theta, data, error_zero);
  const double log_power = theta[0] + params.b * x;
  switch (kind) {
    case ModelKind::kPowerLaw:
      gradient[0] = 1;
      gradient[1] = params.b * x;
      return log_power;
    case ModelKind::kPowerLawFloor: {
      const double power = std::exp(log_power);
      const double predicted = power + params.c;
      gradient[0] = power / predicted;
      gradient[1] = power * params.b * x / predicted;
      gradient[2] = params.c * (1 - params.c / data.floor_max) / predicted;
      return std::log(predicted);
    }
    case ModelKind::kSaturating: {
      // Implicit differentiation of g(w) = log w - alpha log(span - w) - log_power = 0.
      const double span = params.error_zero - params.c;
      const double excess = SaturatingExcess(log_power, params.alpha, span);
      const double rest = std::max(span - excess, 1e-300);
      const double g_w = 1 / excess + params.alpha / rest;
      const double w_span = params.alpha / (rest * g_w);
      const double predicted = params.c + excess;
      gradient[0] = (1 / g_w) / predicted;
      gradient[1] = (params.b * x / g_w) / predicted;
      gradient[2] = (1 - w_span) * params.c * (1 - params.c / data.floor_max) / predicted;
      gradient[3] = (std::log(rest) / g_w) * params.alpha / predicted;
      return std::log(predicted);
    }
  }
  assert(false);
  return 0;
}

// The functor Eigen's LM minimises: transformed weighted log residuals.
struct Residuals {
  using Scalar = double;
  using InputType = Eigen::VectorXd;
  using ValueType = Eigen::VectorXd;
  using JacobianType = Eigen::MatrixXd;
  enum { InputsAtCompileTime = Eigen::Dynamic, ValuesAtCompileTime = Eigen::Dynamic };

  const FitData* data;
  ModelKind kind;
  double error_zero;   // kSaturating's fixed e0
  double huber_delta;  // infinity: plain squares

  int inputs() const { return ParameterCount(kind); }
  int values() const { return static_cast<int>(data->rows()); }

  // Raw weighted residuals and, when jacobian is not null, their Jacobian.
  bool Raw(const Eigen::VectorXd& theta, Eigen::VectorXd* raw, Eigen::MatrixXd* jacobian) const {
    if ((theta.array().abs() > kThetaMax).any()) return false;
    Eigen::RowVectorXd gradient(theta.size());
    for (int64_t i = 0; i < data->rows(); ++i) {
      const double root_weight = std::sqrt(data->weight[i]);
      const double log_predicted =
          LogPredict(kind, theta, *data, error_zero, data->log_size[i], gradient);
      (*raw)[i] = root_weight * (log_predicted - data->log_error[i]);
      if (jacobian != nullptr) jacobian->row(i) = root_weight * gradient;
    }
    return raw->allFinite() && (jacobian == nullptr || jacobian->allFinite());
  }

  // Huber's square-root transform of one residual, and its derivative.
  void Transform(double r, double* transformed, double* derivative) const {
    const double magnitude = std::abs(r);
    if (magnitude <= huber_delta) {
      *transformed = r;
      *derivative = 1;
      return;
    }
    const double root = std::sqrt(2 * huber_delta * magnitude - huber_delta * huber_delta);
    *transformed = std::copysign(root, r);
    *derivative = huber_delta / root;
  }

  int operator()(const Eigen::VectorXd& theta, Eigen::VectorXd& fvec) const {
    Eigen::VectorXd raw(values());
    if (!Raw(theta, &raw, nullptr)) {
      fvec.setConstant(1e6);  // a diverged step: LM rejects it and shrinks the trust region
      return 0;
    }
    double unused = 0;
    for (int i = 0; i < values(); ++i) Transform(raw[i], &fvec[i], &unused);
    return 0;
  }

  int df(const Eigen::VectorXd& theta, Eigen::MatrixXd& fjac) const {
    Eigen::VectorXd raw(values());
    if (!Raw(theta, &raw, &fjac)) {
      fjac.setZero();
      return 0;
    }
    for (int i = 0; i < values(); ++i) {
      double transformed = 0;
      double derivative = 0;
      Transform(raw[i], &transformed, &derivative);
      fjac.row(i) *= derivative;
    }
    return 0;
  }
};

struct LmOutcome {
  Eigen::VectorXd theta;
  double objective = kInfinity;
};

LmOutcome RunLm(const FitData& data, ModelKind kind, double error_zero, double huber_delta,
                Eigen::VectorXd theta) {
  Residuals residuals{&data, kind, error_zero, huber_delta};
  Eigen::LevenbergMarquardt<Residuals> lm(residuals);
  lm.parameters.maxfev = kLmEvaluationsMax;
  lm.parameters.xtol = 1e-10;
  lm.parameters.ftol = 1e-12;
  lm.minimize(theta);
  Eigen::VectorXd values(residuals.values());
  residuals(theta, values);
  LmOutcome outcome;
  outcome.theta = theta;
  outcome.objective = values.allFinite() ? values.squaredNorm() : kInfinity;
  return outcome;
}

// Starting points: for each trial floor c, the weighted line through (log m, log(e - c)); for
// kSaturating also the transform of M4's linear step, log(e - c) - alpha log(e0 - e).
std::vector<Eigen::VectorXd> Starts(const FitData& data, ModelKind kind, double error_zero) {
  std::vector<double> floor_fractions = {0.0};
  if (kind != ModelKind::kPowerLaw) floor_fractions = {1e-3, 0.5, 0.9};
  std::vector<Eigen::VectorXd> starts;
  const Eigen::ArrayXd error = data.log_error.array().exp();
  for (double fraction : floor_fractions) {
    CurveParams params;
    params.kind = kind;
    params.c = fraction * data.floor_max;
    Eigen::VectorXd y = (error - params.c).log().matrix();
    if (kind == ModelKind::kSaturating) {
      params.alpha = 1;
      params.error_zero = error_zero;
      y.array() -= params.alpha * (params.error_zero - error).log();
    }
    const LineFit line = FitLine(data.log_size, y, data.weight);
    params.a = std::exp(line.intercept);
    params.b = std::min(line.slope, -1e-3);
    starts.push_back(ToTheta(params, data));
    assert(static_cast<int>(starts.size()) <= kFitStartsMax);
  }
  return starts;
}

FitResult MakeResult(const FitData& data, ModelKind kind, double error_zero,
                     const LmOutcome& outcome, double huber_delta) {
  FitResult result;
  result.params = FromTheta(kind, outcome.theta, data, error_zero);
  result.huber_delta = huber_delta;
  result.objective = outcome.objective;
  result.rmse_log = RmseLog(result.params, data);
  return result;
}

}  // namespace

double CurveFitter::ErrorZero(const FitData& data) const {
  if (!std::isnan(error_zero_)) return error_zero_;
  return data.error_max < 1 ? 1.0 : kErrorZeroScale * data.error_max;
}

FitResult CurveFitter::Fit(const FitData& data, ModelKind kind) const {
  assert(data.rows() >= ParameterCount(kind));
  const double error_zero = ErrorZero(data);
  assert(kind != ModelKind::kSaturating || error_zero > data.error_max);
  LmOutcome best;
  for (const Eigen::VectorXd& start : Starts(data, kind, error_zero)) {
    LmOutcome outcome = RunLm(data, kind, error_zero, kInfinity, start);
    if (outcome.objective < best.objective) best = std::move(outcome);
  }
  assert(best.theta.size() == ParameterCount(kind));
  if (loss_ == Loss::kSquared) return MakeResult(data, kind, error_zero, best, kInfinity);

  Eigen::VectorXd raw(data.rows());
  Residuals residuals{&data, kind, error_zero, kInfinity};
  const bool finite = residuals.Raw(best.theta, &raw, nullptr);
  assert(finite);
  std::vector<double> magnitudes(raw.data(), raw.data() + raw.size());
  for (double& magnitude : magnitudes) magnitude = std::abs(magnitude);
  std::nth_element(magnitudes.begin(), magnitudes.begin() + magnitudes.size() / 2,
                   magnitudes.end());
  const double scale = kMadScale * magnitudes[magnitudes.size() / 2];
  // A floor on the threshold keeps an exact fit (MAD = 0) from turning Huber into L1.
  const double huber_delta = kHuberK * std::max(scale, 1e-3);
  return MakeResult(data, kind, error_zero, RunLm(data, kind, error_zero, huber_delta, best.theta),
                    huber_delta);
}

FitResult CurveFitter::Refit(const FitData& data, const FitResult& start) const {
  const ModelKind kind = start.params.kind;
  assert(data.rows() >= ParameterCount(kind));
  const double huber_delta = loss_ == Loss::kHuber ? start.huber_delta : kInfinity;
  // e0 stays the point fit's; a resample whose errors reach it keeps e0 just above them.
  const double error_zero = std::max(start.params.error_zero, data.error_max * (1 + 1e-9));
  return MakeResult(data, kind, error_zero,
                    RunLm(data, kind, error_zero, huber_delta, ToTheta(start.params, data)),
                    huber_delta);
}

double RmseLog(const CurveParams& params, const FitData& data) {
  assert(data.rows() > 0);
  double squares = 0;
  for (int64_t i = 0; i < data.rows(); ++i) {
    const double predicted = PredictError(params, std::exp(data.log_size[i]));
    squares += std::pow(std::log(predicted) - data.log_error[i], 2);
  }
  return std::sqrt(squares / static_cast<double>(data.rows()));
}

}  // namespace granary::analytics
