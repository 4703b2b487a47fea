// LearningCurve: measured test error against training-set size for one group (one dataset and
// model), with every replicate run kept.
//
// Invariants: every size and error is finite and > 0; size_groups() is sorted by strictly
// increasing size and each group holds at least one error.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace granary::analytics {

struct Observation {
  double size = 0;   // training-set size (samples)
  double error = 0;  // test error or loss, > 0
};

class LearningCurve {
 public:
  // The runs at one training-set size.
  struct SizeGroup {
    double size = 0;
    std::vector<double> errors;  // one per replicate (seed), in input order
    double mean_error = 0;       // arithmetic mean of errors
    double log_variance = 0;     // sample variance of log(errors); 0 with one run
  };

  // Requires every observation to be finite and positive; the caller validates input first.
  LearningCurve(std::string name, const std::vector<Observation>& observations);
  // Builds a curve from groups already formed (used by the bootstrap); same requirements.
  LearningCurve(std::string name, std::vector<SizeGroup> groups);

  const std::string& name() const { return name_; }
  const std::vector<SizeGroup>& size_groups() const { return groups_; }
  int64_t size_count() const { return static_cast<int64_t>(groups_.size()); }
  int64_t observation_count() const;
  // True when every size has at least two runs (so seeds can be resampled).
  bool HasReplicates() const;

  // The sub-curve of the sizes with index in [first, last); requires first < last <= count.
  LearningCurve Slice(int64_t first, int64_t last) const;
  // Index of the first size greater than `size_max` (= size_count() when none is).
  int64_t CountAtMost(double size_max) const;

 private:
  static void Summarise(SizeGroup* group);

  std::string name_;
  std::vector<SizeGroup> groups_;
};

}  // namespace granary::analytics
