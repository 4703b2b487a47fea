#include "sim/runs/workload/checkpoint.h"
#include "sim/runs/workload/epoch_read.h"
#include "sim/runs/workload/ingest.h"
#include "sim/runs/workload/spotify.h"
#include "sim/runs/workload/trace_replay.h"
#include "sim/runs/workload/workload.h"

namespace granary::sim {

Result<std::unique_ptr<Workload>> MakeWorkload(const WorkloadContext& context) {
  const std::string& kind = context.scenario->workload().kind();
  std::unique_ptr<Workload> workload;
  if (kind == "spotify") {
    workload = std::make_unique<SpotifyLoad>(context);
  } else if (kind == "small_file_ingest") {
    workload = std::make_unique<IngestLoad>(context);
  } else if (kind == "epoch_read") {
    workload = std::make_unique<EpochReadLoad>(context);
  } else if (kind == "checkpoint") {
    workload = std::make_unique<CheckpointLoad>(context);
  } else if (kind == "trace") {
    workload = std::make_unique<TraceLoad>(context);
  } else {
    return Status(StatusCode::kInvalidArgument, "workload.kind: unknown workload '" + kind + "'");
  }
  return workload;
}

}  // namespace granary::sim
