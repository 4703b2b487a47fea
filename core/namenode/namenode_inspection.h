// A narrow, read-only view of a running namenode for the simulator's checkers and reports
// (sim/swarm.cc, sim/scenario_runner.cc): the counts and lists they judge a run by, and
// nothing they could change it through.
//
// Every call reads the namenode's in-memory state as it is at that instant; it must be made
// from the simulator's thread between events (or from a fiber of the same process), never
// while the namenode is being destroyed. Implemented by Namenode (namenode.h).
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "core/common/ids.h"
#include "core/namenode/block_manager.h"
#include "core/namenode/namespace.h"

namespace granary {

class NamenodeInspection {
 public:
  virtual ~NamenodeInspection() = default;

  // Files and directories in the namespace (the root is not counted).
  virtual NamespaceCounts namespace_counts() const = 0;
  // The block map's totals: blocks, under-replicated, corrupt, missing, pending copies.
  virtual BlockCounts block_counts() const = 0;
  // Datanodes the namenode considers live.
  virtual size_t live_datanodes() const = 0;
  // Files open for writing under some client's lease.
  virtual size_t open_files() const = 0;
  // Good replicas of `block` (live, at its stamp, not corrupt); 0 for an unknown block.
  virtual size_t GoodReplicaCount(BlockId block) const = 0;
  // Up to `max` complete blocks below their replication, by id.
  virtual std::vector<BlockId> UnderReplicatedBlocks(size_t max) const = 0;
  // One line on a block and its replicas, for people.
  virtual std::string DescribeBlock(BlockId block) const = 0;
  // The quota'd directories with their limits and tracked usage, by inode id.
  virtual std::vector<std::pair<InodeId, QuotaState>> QuotaStates() const = 0;
};

}  // namespace granary
