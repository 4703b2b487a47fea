#include "sim/runs/workload/checkpoint.h"

#include <algorithm>

namespace granary::sim {

CheckpointLoad::CheckpointLoad(const WorkloadContext& context)
    : context_(context),
      spec_(context.scenario->workload().checkpoint()),
      burst_end_(spec_.bursts(), Instant{}),
      burst_done_(spec_.bursts(), 0),
      burst_failed_(spec_.bursts(), 0) {}

void CheckpointLoad::RunClient(SimProcess& process, uint32_t index) {
  Env& env = process.env();
  FileSystem fs(env, process.transport(), context_.ClientOptionsFor(process));
  CreateOptions create;
  create.overwrite = true;
  const Duration interval(static_cast<int64_t>(spec_.interval_s() * 1e9));
  for (uint32_t b = 0; b < spec_.bursts(); ++b) {
    const Instant burst_start = context_.start + interval * b;
    if (burst_start >= context_.end) return;
    if (!env.SleepUntil(burst_start).ok()) return;
    const std::string path = "/ckpt/b" + std::to_string(b) + "/c" + std::to_string(index);
    const Instant start = env.Now();
    context_.metrics->Trace(start, index, "create", path, spec_.file_bytes());
    const Status status = WriteZeros(fs, path, spec_.file_bytes(), create);
    if (status.code() == StatusCode::kNodeDown) return;
    context_.metrics->Record("checkpoint_write", start, env.Now(), status.ok(), spec_.file_bytes(),
                             Direction::kWrite);
    burst_end_[b] = std::max(burst_end_[b], env.Now());
    ++burst_done_[b];
    if (!status.ok()) ++burst_failed_[b];
  }
}

void CheckpointLoad::Summarize(nlohmann::json& out) const {
  nlohmann::json bursts = nlohmann::json::array();
  const Duration interval(static_cast<int64_t>(spec_.interval_s() * 1e9));
  double total_seconds = 0;
  uint32_t complete = 0;
  for (uint32_t b = 0; b < spec_.bursts(); ++b) {
    if (burst_done_[b] < context_.clients) continue;
    const double seconds = ToSeconds(burst_end_[b] - (context_.start + interval * b));
    bursts.push_back({{"burst", b}, {"seconds", seconds}, {"failed_writers", burst_failed_[b]}});
    total_seconds += seconds;
    ++complete;
  }
  out["bursts"] = bursts;
  out["bursts_complete"] = complete;
  const double burst_bytes = static_cast<double>(spec_.file_bytes()) * context_.clients;
  out["mean_burst_seconds"] = complete > 0 ? total_seconds / complete : 0.0;
  out["burst_gib_per_s"] =
      complete > 0 && total_seconds > 0 ? burst_bytes * complete / total_seconds / (1 << 30) : 0.0;
}

}  // namespace granary::sim
