// The workloads of `granary-sim run` (sim/runs/scenario.h) and what they share.
//
// A Workload is built from the scenario before the cluster starts; Prepare may write
// straight into the namenode's store (pre-population); RunClient is the body of client
// `index` and runs on that client's node. A client returns when its work is done or the
// workload's end time passes; the run ends when every client has returned or at the end
// time. Everything a workload draws comes from its process's seeded generator or from
// generators derived from the root seed.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/client/file_system.h"
#include "core/common/random.h"
#include "core/common/status.h"
#include "proto/scenario.pb.h"
#include "sim/runs/sim_cluster.h"
#include "sim/runs/workload/metrics.h"

namespace granary::sim {

struct WorkloadContext {
  const proto::Scenario* scenario = nullptr;
  SimCluster* cluster = nullptr;
  Metrics* metrics = nullptr;
  // The directory of the scenario file, for relative paths.
  std::string scenario_dir;
  uint32_t clients = 0;
  Instant start{};
  Instant end{};
  // Client options tuned for measurement (long timeouts: a saturated server is slow, not
  // dead); filled in per client process.
  ClientOptions ClientOptionsFor(SimProcess& process) const;
};

class Workload {
 public:
  virtual ~Workload() = default;
  // Before the cluster starts; may write the namenode's store directly.
  virtual Status Prepare(WorkloadContext& context) {
    (void)context;
    return Status::Ok();
  }
  virtual void RunClient(SimProcess& process, uint32_t index) = 0;
  // Workload-specific results for the summary line.
  virtual void Summarize(nlohmann::json& out) const { (void)out; }
};

// The workload the scenario names; kInvalidArgument naming the field otherwise.
Result<std::unique_ptr<Workload>> MakeWorkload(const WorkloadContext& context);

// ---- shared helpers ----

// The small-file size distribution (experiments/workloads/small_file_sizes.csv) as
// (bytes, percent) rows; a draw picks a row by its percent and a size uniformly between
// the previous row's size and its own.
const std::vector<std::pair<uint64_t, double>>& SmallFileSizes();
uint64_t DrawSmallFileBytes(Random& random);

// The Spotify operation mix (experiments/workloads/spotify_op_mix.csv), (name, percent).
const std::vector<std::pair<std::string, double>>& SpotifyOpMix();

// Writes `bytes` zero bytes as a whole file (Create, Write in 1 MiB pieces, Close).
Status WriteZeros(FileSystem& fs, const std::string& path, uint64_t bytes,
                  const CreateOptions& options);
// Reads a whole file in pieces without keeping it; returns its length.
Result<uint64_t> ReadAll(FileSystem& fs, const std::string& path);

// Path of pre-populated file `index` (PopulateSpec).
std::string PopulatedFile(uint64_t index, uint32_t files_per_dir);
std::string PopulatedDir(uint64_t dir);

// Writes `files` empty files straight into `store` (a namenode's, before it starts): the
// root, directories /pre/d<i> and their files, and the inode id reservation past them.
Status PrePopulate(MetaStore& store, uint64_t files, uint32_t files_per_dir,
                   const std::string& owner, const std::string& group);

}  // namespace granary::sim
