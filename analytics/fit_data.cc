#include "analytics/fit_data.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

namespace granary::analytics {
FitData FitData::FromCurve(const LearningCurve& curve, Weighting weighting) {
  const int64_t rows = curve.size_count();
  assert(rows >= 1);
  FitData data;
  data.log_size.resize(rows);
  data.log_error.resize(rows);
  data.weight = Eigen::VectorXd::Ones(rows);
  data.floor_max = curve.size_groups().front().mean_error;
  data.error_max = data.floor_max;
  std::vector<double> variances;
  for (int64_t i = 0; i < rows; ++i) {
    const LearningCurve::SizeGroup& group = curve.size_groups()[i];
    data.log_size[i] = std::log(group.size);
    data.log_error[i] = std::log(group.mean_error);
    data.floor_max = std::min(data.floor_max, group.mean_error);
    data.error_max = std::max(data.error_max, group.mean_error);
    if (group.errors.size() >= 2) variances.push_back(group.log_variance);
  }
  if (weighting == Weighting::kUniform || variances.size() < 3) return data;
  // The variance function: log of each size's replicate variance, smoothed by a line in
  // log(size), because a variance from 5 runs is itself too noisy to invert (E[1/s^2] is twice
  // 1/sigma^2 with 4 degrees of freedom).
  std::vector<double> xs, ys;
  for (int64_t i = 0; i < rows; ++i) {
    const LearningCurve::SizeGroup& group = curve.size_groups()[i];
    if (group.errors.size() < 2 || !(group.log_variance > 0)) continue;
    xs.push_back(data.log_size[i]);
    ys.push_back(std::log(group.log_variance));
  }
  if (xs.size() < 3) return data;
  const Eigen::Map<const Eigen::VectorXd> x(xs.data(), xs.size());
  const Eigen::Map<const Eigen::VectorXd> y(ys.data(), ys.size());
  const LineFit line = FitLine(x, y, Eigen::VectorXd::Ones(x.size()));
  for (int64_t i = 0; i < rows; ++i) {
    const LearningCurve::SizeGroup& group = curve.size_groups()[i];
    const double runs = static_cast<double>(group.errors.size());
    const double variance = std::exp(line.intercept + line.slope * data.log_size[i]);
    data.weight[i] = runs / variance;
  }
  data.weight /= data.weight.mean();
  return data;
}

LineFit FitLine(const Eigen::VectorXd& x, const Eigen::VectorXd& y, const Eigen::VectorXd& weight) {
  assert(x.size() == y.size());
  assert(x.size() == weight.size());
  assert(x.size() >= 2);
  const double total = weight.sum();
  const double x_mean = weight.dot(x) / total;
  const double y_mean = weight.dot(y) / total;
  const Eigen::VectorXd dx = x.array() - x_mean;
  const double sxx = (weight.array() * dx.array().square()).sum();
  assert(sxx > 0);
  const double sxy = (weight.array() * dx.array() * (y.array() - y_mean)).sum();
  LineFit line;
  line.slope = sxy / sxx;
  line.intercept = y_mean - line.slope * x_mean;
  return line;
}

}  // namespace granary::analytics

namespace granary::analytics {

double LogLogLine::Predict(double size) const { return a * std::pow(size, b); }

LogLogLine FitLogLogLine(const LearningCurve& curve) {
  const FitData data = FitData::FromCurve(curve, Weighting::kUniform);
  const LineFit line = FitLine(data.log_size, data.log_error, data.weight);
  return LogLogLine{std::exp(line.intercept), line.slope};
}

}  // namespace granary::analytics
