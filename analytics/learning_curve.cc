#include "analytics/learning_curve.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <map>
#include <utility>

#include "analytics/limits.h"

namespace granary::analytics {

LearningCurve::LearningCurve(std::string name, const std::vector<Observation>& observations)
    : name_(std::move(name)) {
  std::map<double, std::vector<double>> by_size;
  for (const Observation& observation : observations) {
    assert(std::isfinite(observation.size));
    assert(observation.size > 0);
    assert(std::isfinite(observation.error));
    assert(observation.error > 0);
    by_size[observation.size].push_back(observation.error);
  }
  for (auto& [size, errors] : by_size) {
    SizeGroup group;
    group.size = size;
    group.errors = std::move(errors);
    Summarise(&group);
    groups_.push_back(std::move(group));
  }
  assert(static_cast<int64_t>(groups_.size()) <= kCurveSizesMax);
}

LearningCurve::LearningCurve(std::string name, std::vector<SizeGroup> groups)
    : name_(std::move(name)), groups_(std::move(groups)) {
  for (size_t i = 0; i < groups_.size(); ++i) {
    assert(!groups_[i].errors.empty());
    assert(i == 0 || groups_[i - 1].size < groups_[i].size);
    Summarise(&groups_[i]);
  }
}

void LearningCurve::Summarise(SizeGroup* group) {
  const double count = static_cast<double>(group->errors.size());
  double sum = 0;
  double log_sum = 0;
  for (double error : group->errors) {
    assert(error > 0);
    sum += error;
    log_sum += std::log(error);
  }
  group->mean_error = sum / count;
  const double log_mean = log_sum / count;
  double squares = 0;
  for (double error : group->errors) squares += std::pow(std::log(error) - log_mean, 2);
  group->log_variance = group->errors.size() > 1 ? squares / (count - 1) : 0.0;
}

int64_t LearningCurve::observation_count() const {
  int64_t count = 0;
  for (const SizeGroup& group : groups_) count += static_cast<int64_t>(group.errors.size());
  return count;
}

bool LearningCurve::HasReplicates() const {
  return !groups_.empty() && std::all_of(groups_.begin(), groups_.end(),
                                         [](const SizeGroup& g) { return g.errors.size() >= 2; });
}

LearningCurve LearningCurve::Slice(int64_t first, int64_t last) const {
  assert(first >= 0);
  assert(first < last);
  assert(last <= size_count());
  return LearningCurve(name_,
                       std::vector<SizeGroup>(groups_.begin() + first, groups_.begin() + last));
}

int64_t LearningCurve::CountAtMost(double size_max) const {
  int64_t count = 0;
  while (count < size_count() && groups_[count].size <= size_max) ++count;
  return count;
}

}  // namespace granary::analytics
