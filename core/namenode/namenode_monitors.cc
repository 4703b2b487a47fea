#include "core/namenode/namenode_monitors.h"

#include <cassert>

#include "core/common/limits.h"

namespace granary {

Status NamenodeMonitors::HeartbeatMonitor() {
  for (;;) {
    GRANARY_RETURN_IF_ERROR(ctx_.SleepUnlessStopped(ctx_.options.heartbeat_interval));
    for (uint32_t dead :
         ctx_.datanodes.ExpireSilent(ctx_.env.Now(), ctx_.options.datanode_dead_after)) {
      assert(!ctx_.datanodes.IsLive(dead));
      ctx_.blocks.DatanodeDead(dead);
    }
  }
}

Status NamenodeMonitors::ReplicationMonitor() {
  for (;;) {
    GRANARY_RETURN_IF_ERROR(ctx_.SleepUnlessStopped(ctx_.options.replication_check_interval));
    if (ctx_.Starting()) continue;  // reports first
    ctx_.blocks.Monitor(ctx_.env.Now());
  }
}

Status NamenodeMonitors::LeaseMonitor() {
  for (;;) {
    GRANARY_RETURN_IF_ERROR(ctx_.SleepUnlessStopped(ctx_.options.lease_check_interval));
    const Instant now = ctx_.env.Now();
    recovery_.ExpireOverdue(now);
    for (const auto& [client_name, inode] :
         ctx_.leases.Expired(now, ctx_.options.lease_hard_limit)) {
      recovery_.RecoverFile(client_name, inode);
    }
  }
}

Status NamenodeMonitors::OrphanCollector() {
  for (;;) {
    GRANARY_RETURN_IF_ERROR(ctx_.SleepUnlessStopped(ctx_.options.orphan_collect_interval));
    ReleasedBlocks released;
    Result<size_t> removed = ctx_.ns.CollectOrphans(kOrphanCollectBatch, &released);
    ctx_.Release(released);
    if (removed.code() == StatusCode::kNodeDown) return removed.status();
  }
}

}  // namespace granary
