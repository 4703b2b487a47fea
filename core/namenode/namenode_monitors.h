// The namenode's monitors: the background loops that keep its soft state true as time
// passes (DESIGN.md §5).
//   - HeartbeatMonitor declares datanodes silent for datanode_dead_after dead; the block map
//     stops counting their replicas.
//   - ReplicationMonitor turns the block map's attention queue into replicate and delete
//     commands, but only once datanode_dead_after has passed since the start, so that the
//     datanodes' reports arrive before blocks look missing.
//   - LeaseMonitor forgets overdue recoveries and recovers the files of writers silent past
//     lease_hard_limit (lease_recovery.h).
//   - OrphanCollector removes the subtrees of deleted directories in bounded batches.
// Each loop sleeps on the Env between rounds and returns the status that ended the sleep
// (kNodeDown when the namenode crashed), or kCancelled after Namenode::Stop; the Namenode runs
// the first on its own fiber and spawns the others.
#pragma once

#include "core/common/status.h"
#include "core/namenode/lease_recovery.h"
#include "core/namenode/namenode_context.h"

namespace granary {

class NamenodeMonitors {
 public:
  NamenodeMonitors(NamenodeContext context, LeaseRecovery& recovery)
      : ctx_(context), recovery_(recovery) {}

  Status HeartbeatMonitor();
  Status ReplicationMonitor();
  Status LeaseMonitor();
  Status OrphanCollector();

 private:
  NamenodeContext ctx_;
  LeaseRecovery& recovery_;
};

}  // namespace granary
