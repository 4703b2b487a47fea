// PlanRunner: measures candidate clusters of a roi-fit plan by running granary-sim.
//
// Each candidate's scenario (ClusterPlan::ScenarioText) is written to
// DIR/plan_f<files>_d<datanodes>.textproto and run as `granary-sim run FILE`, its one JSON
// line kept in the .json beside it (stderr in the .log). At most `parallel` simulations run at
// once, each a child process waited for by its PID; a scenario already measured in this run
// is not run again. The results do not depend on `parallel`: each run is seeded by its file.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "analytics/cluster_plan.h"

namespace granary::tools {

class PlanRunner {
 public:
  PlanRunner(std::string sim_path, std::string dir, int parallel)
      : sim_path_(std::move(sim_path)), dir_(std::move(dir)), parallel_(parallel) {}

  // Measures `batch`; on a failed run returns an empty vector and sets error().
  std::vector<analytics::Measurement> Run(const analytics::ClusterPlan& plan,
                                          const std::vector<analytics::Candidate>& batch,
                                          int64_t files);
  const std::string& error() const { return error_; }
  int runs() const { return runs_; }

 private:
  bool Launch(const std::string& scenario, int* pid);
  bool Collect(const std::string& scenario, analytics::Measurement* out);

  std::string sim_path_;
  std::string dir_;
  int parallel_;
  std::map<std::string, analytics::Measurement> done_;
  std::string error_;
  int runs_ = 0;
};

}  // namespace granary::tools
