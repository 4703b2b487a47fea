// The swarm's quotas (swarm.h, issue 17): some clients' directories get a name quota, a space
// quota or both before their client writes anything, so that the workload keeps running into
// them. Checked:
//   - while the workload runs, every 50 ms of virtual time, the active namenode's tracked
//     usage of every quota'd directory is within its limits;
//   - after healing, each quota'd directory's usage recomputed from the namespace (a listing:
//     names, and bytes times replication of its closed files) is within its limits and equal
//     to what the namenode tracks (nn.GetQuota);
//   - a write refused with kQuotaExceeded did not take effect: its path does not hold its
//     bytes (acknowledged writes are the ledger's, swarm_checker.h).
// Each failure counts in SwarmResult::quota_violations.
#pragma once

#include <cstdint>
#include <string>

#include "core/client/file_system.h"
#include "core/seams/env.h"
#include "sim/kernel/simulator.h"
#include "sim/runs/swarm/swarm_state.h"

namespace granary::sim::swarm {

// The quota of client `index`'s directory `dir`, set (the directory made first) before the
// client's first write and again by each new incarnation, with the same limits. Retries
// until the namenode answers; false when this process went down or the workload ended
// before it did (the client then writes nothing). True at once for a directory with none.
bool SetUpQuota(Env& env, FileSystem& fs, SwarmState& state, uint32_t index,
                const std::string& dir);

// A write of `version` (`length` bytes) to `path` that failed with `status`: remembered for
// the end check when a quota refused it.
void NoteRefusedWrite(SwarmState& state, const Status& status, const std::string& path,
                      uint64_t version, uint64_t length);

// Samples the active namenode's quotas every 50 ms until the checker finishes.
void WatchQuotas(Simulator& sim, SwarmState& state);

// After healing (every writer's lease over): the end checks above.
void CheckQuotas(Env& env, FileSystem& fs, SwarmState& state);

}  // namespace granary::sim::swarm
