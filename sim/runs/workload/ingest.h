// `small_file_ingest`: the clients write `files` files between them (client i the files
// i, i+C, ...), sizes drawn from the small-file distribution (or all `file_bytes`), into
// /ingest/c<i>/f<k>; then, with read_back, once every client has finished writing, each
// reads its files once. Operations: "write" and "read"; the results give each phase's rate
// (files over the time from the phase's start to its last operation's end).
#pragma once

#include <string>

#include "sim/runs/workload/workload.h"

namespace granary::sim {

class IngestLoad final : public Workload {
 public:
  explicit IngestLoad(const WorkloadContext& context);
  void RunClient(SimProcess& process, uint32_t index) override;
  void Summarize(nlohmann::json& out) const override;

 private:
  const WorkloadContext& context_;
  proto::IngestWorkload spec_;
  uint64_t files_written_ = 0;
  uint64_t files_read_ = 0;
  uint64_t read_mismatches_ = 0;
  uint64_t failures_ = 0;
  std::string first_failure_;
  uint32_t writers_done_ = 0;
  Instant writes_end_{};
  Instant reads_start_{};
  Instant reads_end_{};
};

}  // namespace granary::sim
