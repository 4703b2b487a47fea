// `trace`: replays a CSV trace (experiments/README.md, "Trace format"):
//
//   # comments and a header line "time_s,client,op,path,size[,destination]" are skipped
//   0.000125,client-3,create,/a/b.bin,4096
//   0.5,client-3,rename,/a/b.bin,0,/a/c.bin
//
// ops: create (write `size` zero bytes, overwriting), read (whole file), open (metadata
// only), stat, list (one page), delete, rename (to `destination`), mkdir, chmod (mode in
// `size`), chown (to granary:supergroup), setrep (replication in `size`). Clients are
// mapped to the scenario's client machines in order of first appearance, modulo their
// count. Each client issues its rows in time order, each at its time or, when it is behind,
// as soon as its previous operation finished. `granary-sim run --record-trace FILE` writes
// such a trace from any workload.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "sim/runs/workload/workload.h"

namespace granary::sim {

// Parses a trace; kInvalidArgument naming the line of the first bad row.
Result<std::vector<TraceRow>> ParseTrace(const std::string& text);
// The CSV text of `rows` (with the header line).
std::string FormatTrace(const std::vector<TraceRow>& rows);

class TraceLoad final : public Workload {
 public:
  explicit TraceLoad(const WorkloadContext& context);
  Status Prepare(WorkloadContext& context) override;
  void RunClient(SimProcess& process, uint32_t index) override;
  void Summarize(nlohmann::json& out) const override;

 private:
  const WorkloadContext& context_;
  std::vector<std::vector<TraceRow>> per_client_;
  uint64_t rows_ = 0;
  uint64_t replayed_ = 0;
  uint64_t failed_ = 0;
  double max_lag_s_ = 0;
};

}  // namespace granary::sim
