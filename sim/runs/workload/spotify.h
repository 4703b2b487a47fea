// The `spotify` workload (spotify.cc says what it does).
#pragma once

#include <memory>
#include <string>

#include "sim/runs/workload/workload.h"

namespace granary::sim {

class SpotifyLoad final : public Workload {
 public:
  explicit SpotifyLoad(const WorkloadContext& context);
  void RunClient(SimProcess& process, uint32_t index) override;
  void Summarize(nlohmann::json& out) const override;

 private:
  uint64_t PickFile(Random& random) const;
  void Finish(const std::string& op, Instant start, Instant end, const Status& status,
              uint64_t bytes);

  const WorkloadContext& context_;
  proto::SpotifyWorkload spec_;
  uint64_t files_ = 0;
  uint32_t files_per_dir_ = 1;
  std::unique_ptr<WeightedChoice> mix_;
  std::unique_ptr<ZipfDistribution> zipf_;
  uint32_t failures_shown_ = 0;
  std::string first_failures_;
};

}  // namespace granary::sim
