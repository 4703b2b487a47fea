// ModelSelector: chooses the learning-curve model for a curve.
//
// kBacktest (the default) judges each model the way the literature judges scaling laws, by
// extrapolation (Alabdulmohsin et al. 2022), with rolling origins: for each origin k from half
// the sizes on, fit on the k smallest sizes and take the RMSE of log error on the rest; the
// score is the root mean square over origins. Every candidate is scored on the same origins,
// and a model is a candidate only when it can be fitted with kSpareSizes more sizes than
// parameters. A model with more parameters must beat the best simpler one by
// kComplexityMargin (relative) to be chosen. kAicc uses the corrected Akaike criterion of the
// weighted fit on all fitted sizes.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "analytics/curve_fitter.h"
#include "analytics/learning_curve.h"

namespace granary::analytics {

enum class Selection { kBacktest, kAicc };

std::string_view SelectionName(Selection selection);
std::optional<Selection> SelectionFromName(std::string_view name);

struct ModelScore {
  ModelKind kind;
  double score;  // backtest RMSE of log error, or AICc
};

struct ModelChoice {
  ModelKind kind = ModelKind::kPowerLaw;
  Selection method = Selection::kBacktest;  // the method actually used
  std::vector<ModelScore> scores;           // one per candidate
};

class ModelSelector {
 public:
  static constexpr double kComplexityMargin = 0.05;
  static constexpr int64_t kSpareSizes = 2;

  ModelSelector(const CurveFitter* fitter, Weighting weighting)
      : fitter_(fitter), weighting_(weighting) {}

  // Requires curve.size_count() >= 2. Falls back from kBacktest to kAicc when the curve has
  // too few sizes to hold some out (fewer than 5), and to kPowerLaw with no scores when no
  // model can be compared.
  ModelChoice Choose(const LearningCurve& curve, Selection selection) const;

 private:
  ModelChoice Backtest(const LearningCurve& curve) const;
  ModelChoice Aicc(const LearningCurve& curve) const;

  const CurveFitter* fitter_;  // not owned
  Weighting weighting_;
};

}  // namespace granary::analytics
