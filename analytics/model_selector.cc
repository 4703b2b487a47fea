#include "analytics/model_selector.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace granary::analytics {

std::string_view SelectionName(Selection selection) {
  return selection == Selection::kBacktest ? "backtest" : "aicc";
}

std::optional<Selection> SelectionFromName(std::string_view name) {
  if (name == "backtest") return Selection::kBacktest;
  if (name == "aicc") return Selection::kAicc;
  return std::nullopt;
}

ModelChoice ModelSelector::Choose(const LearningCurve& curve, Selection selection) const {
  assert(curve.size_count() >= 2);
  if (selection == Selection::kBacktest &&
      curve.size_count() >= ParameterCount(ModelKind::kPowerLaw) + kSpareSizes + 1) {
    return Backtest(curve);
  }
  return Aicc(curve);
}

ModelChoice ModelSelector::Backtest(const LearningCurve& curve) const {
  const int64_t sizes = curve.size_count();
  // Candidates can be fitted with kSpareSizes to spare at the last origin; every candidate is
  // scored on the same origins, from half the sizes on.
  std::vector<ModelKind> candidates;
  int64_t first_origin = std::max<int64_t>(2, std::lround(static_cast<double>(sizes) / 2));
  for (ModelKind kind : kAllModelKinds) {
    if (sizes - 1 < ParameterCount(kind) + kSpareSizes) continue;
    candidates.push_back(kind);
    first_origin = std::max<int64_t>(first_origin, ParameterCount(kind) + kSpareSizes);
  }
  assert(!candidates.empty());
  assert(first_origin < sizes);
  ModelChoice choice;
  choice.method = Selection::kBacktest;
  double best = std::numeric_limits<double>::infinity();
  for (ModelKind kind : candidates) {
    // Rolling origin: fit on the sizes below each origin, score the sizes from it on.
    double squares = 0;
    for (int64_t origin = first_origin; origin < sizes; ++origin) {
      const FitData inner = FitData::FromCurve(curve.Slice(0, origin), weighting_);
      const FitData outer = FitData::FromCurve(curve.Slice(origin, sizes), weighting_);
      const double rmse = RmseLog(fitter_->Fit(inner, kind).params, outer);
      squares += rmse * rmse;
    }
    const double score = std::sqrt(squares / static_cast<double>(sizes - first_origin));
    choice.scores.push_back(ModelScore{kind, score});
    if (score < best * (1 - kComplexityMargin)) {
      best = score;
      choice.kind = kind;
    }
  }
  return choice;
}

ModelChoice ModelSelector::Aicc(const LearningCurve& curve) const {
  const FitData data = FitData::FromCurve(curve, weighting_);
  const double rows = static_cast<double>(data.rows());
  ModelChoice choice;
  choice.method = Selection::kAicc;
  double best = std::numeric_limits<double>::infinity();
  for (ModelKind kind : kAllModelKinds) {
    const double count = ParameterCount(kind);
    if (rows <= count + 1) continue;
    const FitResult fit = fitter_->Fit(data, kind);
    double squares = 0;
    for (int64_t i = 0; i < data.rows(); ++i) {
      const double residual =
          std::log(PredictError(fit.params, std::exp(data.log_size[i]))) - data.log_error[i];
      squares += data.weight[i] * residual * residual;
    }
    const double aicc = rows * std::log(std::max(squares / rows, 1e-300)) + 2 * count +
                        2 * count * (count + 1) / (rows - count - 1);
    choice.scores.push_back(ModelScore{kind, aicc});
    if (aicc < best) {
      best = aicc;
      choice.kind = kind;
    }
  }
  if (choice.scores.empty()) choice.kind = ModelKind::kPowerLaw;  // too few sizes to compare
  return choice;
}

}  // namespace granary::analytics
