#include "analytics/curve_model.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

#include "analytics/limits.h"

namespace granary::analytics {
namespace {}  // namespace

double SaturatingExcess(double log_power, double alpha, double span) {
  assert(span > 0);
  assert(alpha >= 0);
  // With s = w / span = sigmoid(t): h(t) = log(s) - alpha * log(1 - s) - target is increasing
  // in t, so a Newton step that leaves the bracket is replaced by bisection.
  const double target = log_power - (1 - alpha) * std::log(span);
  double low = -60;
  double high = 60;
  double t = std::clamp(target, low + 1, high - 1);
  for (int step = 0; step < kBisectionStepsMax; ++step) {
    const double log_s = -std::log1p(std::exp(-t));
    const double log_1ms = -std::log1p(std::exp(t));
    const double h = log_s - alpha * log_1ms - target;
    if (h < 0) {
      low = t;
    } else {
      high = t;
    }
    const double slope = std::exp(log_1ms) + alpha * std::exp(log_s);  // > 0
    double next = t - h / slope;
    if (!(next > low && next < high)) next = 0.5 * (low + high);
    if (std::abs(next - t) < 1e-13 || high - low < 1e-13) {
      t = next;
      break;
    }
    t = next;
  }
  return span / (1 + std::exp(-t));
}

std::string_view ModelName(ModelKind kind) {
  switch (kind) {
    case ModelKind::kPowerLaw:
      return "power_law";
    case ModelKind::kPowerLawFloor:
      return "power_law_floor";
    case ModelKind::kSaturating:
      return "m4";
  }
  assert(false);
  return "";
}

std::optional<ModelKind> ModelFromName(std::string_view name) {
  for (ModelKind kind : kAllModelKinds) {
    if (ModelName(kind) == name) return kind;
  }
  return std::nullopt;
}

int ParameterCount(ModelKind kind) {
  switch (kind) {
    case ModelKind::kPowerLaw:
      return 2;
    case ModelKind::kPowerLawFloor:
      return 3;
    case ModelKind::kSaturating:
      return 4;
  }
  assert(false);
  return 0;
}

double PredictError(const CurveParams& params, double size) {
  assert(size > 0);
  assert(params.a > 0);
  const double power = params.a * std::pow(size, params.b);
  switch (params.kind) {
    case ModelKind::kPowerLaw:
      return power;
    case ModelKind::kPowerLawFloor:
      return power + params.c;
    case ModelKind::kSaturating: {
      const double span = params.error_zero - params.c;
      return params.c +
             SaturatingExcess(std::log(params.a) + params.b * std::log(size), params.alpha, span);
    }
  }
  assert(false);
  return 0;
}

double SizeForError(const CurveParams& params, double error) {
  assert(params.b < 0);
  constexpr double kInfinity = std::numeric_limits<double>::infinity();
  const double excess = error - params.c;
  if (excess <= 0) return kInfinity;
  double power = excess;  // the value a * m^b must take
  if (params.kind == ModelKind::kSaturating) {
    if (error >= params.error_zero) return 0;
    power = excess / std::pow(params.error_zero - error, params.alpha);
  }
  return std::pow(power / params.a, 1 / params.b);
}

}  // namespace granary::analytics
