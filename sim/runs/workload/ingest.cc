#include "sim/runs/workload/ingest.h"

#include <algorithm>
#include <vector>

namespace granary::sim {

IngestLoad::IngestLoad(const WorkloadContext& context)
    : context_(context), spec_(context.scenario->workload().small_file_ingest()) {}

void IngestLoad::RunClient(SimProcess& process, uint32_t index) {
  Env& env = process.env();
  Random& random = env.random();
  FileSystem fs(env, process.transport(), context_.ClientOptionsFor(process));
  Metrics& metrics = *context_.metrics;
  const std::string dir = "/ingest/c" + std::to_string(index);
  CreateOptions create;
  create.overwrite = true;
  std::vector<std::pair<std::string, uint64_t>> mine;
  uint64_t serial = 0;
  for (uint64_t f = index; f < spec_.files() && env.Now() < context_.end; f += context_.clients) {
    const std::string path = dir + "/f" + std::to_string(serial++);
    const uint64_t bytes = spec_.file_bytes() > 0 ? spec_.file_bytes() : DrawSmallFileBytes(random);
    const Instant start = env.Now();
    metrics.Trace(start, index, "create", path, bytes);
    const Status status = WriteZeros(fs, path, bytes, create);
    if (status.code() == StatusCode::kNodeDown) return;
    metrics.Record("write", start, env.Now(), status.ok(), bytes, Direction::kWrite);
    if (status.ok()) {
      ++files_written_;
      mine.emplace_back(path, bytes);
    } else if (failures_++ == 0) {
      first_failure_ = path + ": " + status.ToString();
    }
  }
  writes_end_ = std::max(writes_end_, env.Now());
  ++writers_done_;
  if (!spec_.read_back()) return;
  // The read phase starts when every client has written its files.
  while (writers_done_ < context_.clients) {
    if (!env.SleepFor(std::chrono::milliseconds(1)).ok()) return;
    if (env.Now() >= context_.end) return;
  }
  if (reads_start_ == Instant{}) reads_start_ = env.Now();
  for (const auto& [path, bytes] : mine) {
    if (env.Now() >= context_.end) return;
    const Instant start = env.Now();
    metrics.Trace(start, index, "read", path, bytes);
    Result<uint64_t> read = ReadAll(fs, path);
    if (read.code() == StatusCode::kNodeDown) return;
    metrics.Record("read", start, env.Now(), read.ok(), read.ok() ? *read : 0, Direction::kRead);
    reads_end_ = std::max(reads_end_, env.Now());
    if (read.ok()) {
      ++files_read_;
      if (*read != bytes) ++read_mismatches_;
    } else if (failures_++ == 0) {
      first_failure_ = path + ": " + read.status().ToString();
    }
  }
}

void IngestLoad::Summarize(nlohmann::json& out) const {
  out["files_written"] = files_written_;
  out["files_read"] = files_read_;
  out["read_length_mismatches"] = read_mismatches_;
  const double write_s = ToSeconds(writes_end_ - context_.start);
  const double read_s = ToSeconds(reads_end_ - reads_start_);
  out["write_phase_seconds"] = write_s;
  out["read_phase_seconds"] = read_s;
  out["write_files_per_s"] = write_s > 0 ? files_written_ / write_s : 0.0;
  out["read_files_per_s"] = read_s > 0 ? files_read_ / read_s : 0.0;
  out["failures"] = failures_;
  if (!first_failure_.empty()) out["first_failure"] = first_failure_;
}

}  // namespace granary::sim
