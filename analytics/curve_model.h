// Learning-curve models: error as a function of training-set size m.
//
//   kPowerLaw       err(m) = a * m^b                                       (Hestness 2017)
//   kPowerLawFloor  err(m) = a * m^b + c                                   (c: irreducible error)
//   kSaturating     (err - c) / (e0 - err)^alpha = a * m^b        (M4, Alabdulmohsin et al. 2022)
//
// For every model b < 0 and a > 0; c (the floor, err at m -> infinity) is in [0, smallest
// observed error); for kSaturating alpha >= 0 and e0 (the error at m -> 0, "random guessing")
// exceeds the largest observed error, so the curve is a sigmoid on log-log axes that flattens
// at both ends. With alpha = 0 kSaturating is kPowerLawFloor.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace granary::analytics {

enum class ModelKind { kPowerLaw, kPowerLawFloor, kSaturating };

inline constexpr ModelKind kAllModelKinds[] = {ModelKind::kPowerLaw, ModelKind::kPowerLawFloor,
                                               ModelKind::kSaturating};

struct CurveParams {
  ModelKind kind = ModelKind::kPowerLaw;
  double a = 1;
  double b = -0.5;
  double c = 0;           // floor; 0 for kPowerLaw
  double alpha = 0;       // kSaturating only
  double error_zero = 0;  // e0, kSaturating only
};

// "power_law", "power_law_floor", "m4".
std::string_view ModelName(ModelKind kind);
std::optional<ModelKind> ModelFromName(std::string_view name);
// Number of fitted parameters (2, 3, 4: kSaturating's e0 is given, not fitted).
int ParameterCount(ModelKind kind);

// err(size) for size > 0. Always > c and, for kSaturating, < e0.
double PredictError(const CurveParams& params, double size);

// The training-set size at which the model reaches `error`: +infinity when error <= c (the
// floor is never crossed), and for kSaturating 0 when error >= e0.
double SizeForError(const CurveParams& params, double error);

// For kSaturating: the excess w = err - c solving w = exp(log_power) * (span - w)^alpha with
// span = e0 - c > 0 and alpha >= 0; the result is in (0, span).
double SaturatingExcess(double log_power, double alpha, double span);

}  // namespace granary::analytics
