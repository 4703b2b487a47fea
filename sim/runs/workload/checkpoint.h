// `checkpoint`: bursts of large files from many writers. Burst b starts at b * interval_s;
// every client then writes /ckpt/b<b>/c<i> of file_bytes. A burst lasts until its last
// writer closes its file. Operation: "checkpoint_write".
#pragma once

#include <vector>

#include "sim/runs/workload/workload.h"

namespace granary::sim {

class CheckpointLoad final : public Workload {
 public:
  explicit CheckpointLoad(const WorkloadContext& context);
  void RunClient(SimProcess& process, uint32_t index) override;
  void Summarize(nlohmann::json& out) const override;

 private:
  const WorkloadContext& context_;
  proto::CheckpointWorkload spec_;
  // Per burst: when its last writer finished, and how many writers failed.
  std::vector<Instant> burst_end_;
  std::vector<uint32_t> burst_done_;
  std::vector<uint32_t> burst_failed_;
};

}  // namespace granary::sim
