// `granary-sim swarm`: the file system under a fault swarm (issue "the file system itself").
//
// One namenode, `datanodes` datanodes and `clients` clients run the real core code in the
// simulator. Clients write small (inline) and large (multi-block) files, read them back,
// delete, rename and list, each in a directory of its own, while the controller crashes and
// restarts datanodes, the namenode and clients, partitions links, drops messages and flips
// bytes of stored blocks — never damaging more than replication - 1 datanodes at once. Then
// the faults stop, the cluster heals, and a checker on a node of its own verifies:
//   acked_lost        files (or deletes) a client saw acknowledged that are not so now;
//   corrupt_reads     reads that returned bytes that were never written there;
//   under_replicated  blocks below their replication (or missing) once healed, or healed later
//                     than the dead-datanode timeout plus the recheck interval plus copy time;
//   namespace_errors  a listing that contradicts acknowledged operations, an entry that is
//                     not reachable, a file still open after its writer's lease expired, or
//                     namenode counters that disagree with a full walk.
// A run passes exactly when all four are zero.
//
// With `namenodes` > 1 the namenodes share a simulated journal (SimJournal), and the faults
// also crash the active and standbys, pause the active past its lease, wipe a standby's
// store, and crash or cut off journal members (usually a minority; now and then a majority
// for a moment). The checker then also counts
//   stores_diverged   namenodes whose namespace differs from the active's once every one
//                     has applied the whole journal;
//   split_brain       fencing tokens under which two namenodes were seen active;
// and a run passes only when those are zero too. Their clients' reads go through the read
// policy to every namenode, and the read checker (swarm/swarm_reads.h) counts
//   ryw_violations    reads that missed a write their client saw acknowledged;
//   backwards_reads   reads that showed a client an older state of a file than it had seen;
// a run passes only when both are zero (with one namenode too).
// With quotas (on unless asked otherwise) it also counts quota_violations
// (swarm/swarm_quota.h), which must be zero as well.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace granary::sim {

struct SwarmOptions {
  uint64_t seed = 1;
  uint32_t datanodes = 6;
  uint32_t clients = 4;
  double fault_seconds = 20;
  bool faults = true;
  uint64_t inline_threshold_bytes = 64 * 1024;
  // Clients also append to logs of their own and read each other's as they grow
  // (swarm/swarm_appender.h). The defects it found are fixed (reader.cc MeasureLastBlock,
  // lease_recovery.cc, block_service.cc, replica_files.h's anchors, writer.h's move to blocks).
  bool appenders = true;
  // More than one: namenodes over a simulated journal (high availability, swarm/swarm_ha.h).
  uint32_t namenodes = 1;
  // Name and space quotas on some clients' directories (swarm/swarm_quota.h).
  bool quotas = true;
};

struct SwarmResult {
  uint64_t seed = 0;
  uint64_t trace_hash = 0;
  uint64_t events = 0;
  double virtual_seconds = 0;
  uint64_t ops_ok = 0;
  uint64_t ops_failed = 0;
  uint64_t acked_lost = 0;
  uint64_t corrupt_reads = 0;
  uint64_t under_replicated = 0;
  uint64_t namespace_errors = 0;
  uint64_t files_checked = 0;
  uint64_t bytes_acked = 0;
  uint64_t datanode_crashes = 0;
  uint64_t namenode_crashes = 0;
  uint64_t client_crashes = 0;
  uint64_t corruptions = 0;
  uint64_t partitions = 0;
  // Appenders (issue 16): bytes acknowledged by a Flush or Sync, and reads of growing logs.
  uint64_t bytes_flushed = 0;
  uint64_t tail_reads = 0;
  // Reads and recoveries that found fewer bytes than were flushed or synced, while the log
  // was moving from inline to blocks (swarm/swarm_appender.h): counted apart from acked_lost,
  // and a failure like it.
  uint64_t conversion_gaps = 0;
  // With several namenodes: times a namenode became active after the first; pauses of the
  // active past its lease; wiped namenode stores; crashes and partitions of journal members;
  // namenodes whose store differs from the active's once all caught up; and tokens under
  // which two namenodes were seen active.
  uint64_t failovers = 0;
  uint64_t namenode_pauses = 0;
  uint64_t store_wipes = 0;
  uint64_t bootstraps = 0;  // checkpoint copies made by namenodes (after a wipe, or far behind)
  uint64_t journal_faults = 0;
  uint64_t stores_diverged = 0;
  uint64_t split_brain = 0;
  // Reads checked by the read model (swarm/swarm_reads.h), those that matched no state (left
  // to the corruption checks), reads answered by a standby, per namenode of the list, and
  // the two violations.
  uint64_t reads_checked = 0;
  uint64_t reads_unmatched = 0;
  uint64_t standby_reads = 0;
  std::vector<uint64_t> reads_by_namenode;
  uint64_t ryw_violations = 0;
  uint64_t backwards_reads = 0;
  // Quotas (swarm/swarm_quota.h): writes refused for one, and directories seen past theirs,
  // usage the namenode tracks wrongly, or refused writes that took effect.
  uint64_t quota_refusals = 0;
  uint64_t quota_violations = 0;
  double replication_restore_seconds = 0;
  double replication_restore_bound_seconds = 0;
  bool checker_finished = false;
  // The first few problems, for a person.
  std::string problems;

  bool passed() const {
    return checker_finished && acked_lost == 0 && conversion_gaps == 0 && corrupt_reads == 0 &&
           under_replicated == 0 && namespace_errors == 0 && stores_diverged == 0 &&
           split_brain == 0 && ryw_violations == 0 && backwards_reads == 0 &&
           quota_violations == 0;
  }
};

SwarmResult RunSwarm(const SwarmOptions& options);

}  // namespace granary::sim
