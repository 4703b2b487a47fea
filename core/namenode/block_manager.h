// The block map: which datanodes hold which replica of every block, and the work that keeps
// each block at its replication (DESIGN.md §5).
//
// The map lives in memory and is rebuilt after a restart from the stored block records
// (Namespace::ForEachBlock) and the datanodes' block reports. A replica counts as good when
// its datanode is live, its generation stamp is the block's, it is finalized with the
// block's length (or, while the block is being written, it is in the pipeline), and it was
// not reported corrupt.
//
// Work: a block whose good replicas fall below its replication is queued for attention;
// Monitor() turns the queue into commands: copy a good replica to new datanodes (bounded
// streams per source and in all), delete replicas beyond the replication (corrupt ones
// first), delete replicas of blocks the namespace released and stale or unknown ones.
// A replication not confirmed by a block report within the timeout is scheduled again.
//
// Standby (HA, standby_block_map.h): a standby namenode keeps the map hot from the
// datanodes' reports but orders nothing. While standby: no command is queued (no delete, no
// copy; the Monitor is not run), a finalized replica of the wrong length is not marked
// corrupt (the standby may not have applied the block's latest length yet), and a replica
// of a block the standby does not know yet (its journal entry not applied) is kept aside,
// bounded by kStandbyUnmatchedReplicasMax, and attached when AddBlock brings the block.
// EndStandby turns the map into an active's: blocks not stored are released and unmatched
// replicas deleted, as an active would have done on their reports.
//
// Invariants (asserted): a block's id is never 0, its replication and pipeline are at most
// kReplicationMax; the replica map and the per-datanode index agree (a dead datanode holds
// none, a full report leaves a datanode holding at most what it reported); pending copies
// stay within pending_replications_max; a corrupt block is a missing one.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/common/ids.h"
#include "core/common/status.h"
#include "core/common/time.h"
#include "core/namenode/datanode_manager.h"
#include "proto/fs.pb.h"
#include "proto/namenode.pb.h"

namespace granary {

struct BlockManagerOptions {
  uint32_t replication_streams_per_datanode = 4;
  uint32_t pending_replications_max = 1024;
  Duration replication_timeout = std::chrono::seconds(30);
};

struct KnownReplica {
  uint64_t generation_stamp = 0;
  uint64_t length_bytes = 0;
  bool finalized = false;
  bool corrupt = false;
  // A delete was sent; the replica neither counts nor is a target until the datanode
  // reports it gone (or dies).
  bool deleting = false;
};

enum class BlockState : uint8_t { kUnderConstruction, kComplete };

struct BlockInfo {
  BlockId id;
  InodeId inode_id;
  uint64_t generation_stamp = 0;
  uint64_t length_bytes = 0;
  uint32_t replication = 0;
  BlockState state = BlockState::kUnderConstruction;
  std::vector<uint32_t> pipeline;  // while under construction
  // Complete: the pipeline it was completed on at its stamp, until it is reopened. Each of
  // these datanodes finalized the block before acknowledging its last packet, though its
  // report may not have arrived yet.
  std::vector<uint32_t> completed_on;
  std::map<uint32_t, KnownReplica> replicas;
};

struct BlockCounts {
  uint64_t blocks = 0;
  uint64_t under_replicated = 0;
  uint64_t corrupt = 0;  // every replica known is corrupt
  uint64_t missing = 0;  // no good replica on a live datanode
  uint64_t pending_replications = 0;
};

class BlockManager {
 public:
  BlockManager(DatanodeManager& datanodes, BlockManagerOptions options);

  // A block the namespace allocated (under construction) or loaded (state as stored).
  void AddBlock(InodeId inode_id, const proto::BlockRef& block, uint32_t replication,
                BlockState state, std::vector<uint32_t> pipeline);
  // The writer closed the block at `block` (length, stamp): it now needs its replication.
  void CompleteBlock(const proto::BlockRef& block);
  // Append: the complete block is written again, on `pipeline` (its good replicas), until a
  // Complete or a lease recovery completes it once more.
  void ReopenBlock(BlockId block, std::vector<uint32_t> pipeline);
  // Pipeline recovery: the block continues at a new stamp on `pipeline`.
  void UpdatePipeline(const proto::BlockRef& block, std::vector<uint32_t> pipeline);
  void SetReplication(BlockId block, uint32_t replication);
  // The namespace dropped these blocks: forget them, delete their replicas.
  void Release(const std::vector<proto::BlockRef>& blocks);

  // Datanode reports.
  void ReportReplica(uint32_t datanode, const proto::BlockRef& block, bool finalized);
  void ReportDeleted(uint32_t datanode, const proto::BlockRef& block);
  // Replaces what was known of a datanode's replicas with its full report.
  void FullReport(uint32_t datanode, const std::vector<proto::ReplicaReport>& replicas);
  void ReportCorrupt(uint32_t datanode, const proto::BlockRef& block);
  // The datanode died: its replicas no longer count.
  void DatanodeDead(uint32_t datanode);

  // Live, uncorrupted replicas of the block at its stamp, finalized or in its pipeline.
  std::vector<uint32_t> GoodReplicas(BlockId block) const;
  // Where an append continues a complete block: its good replicas, and the live datanodes it
  // was completed on whose finalized replica has not been reported yet. An append right after a close
  // knew only the one replica reported by then, went on on it alone, and the other two went
  // stale; when that one rotted, the log's acknowledged bytes were lost (the fault swarm, seed
  // 232 with three namenodes). HDFS appends to the last pipeline's expected locations too.
  std::vector<uint32_t> AppendHolders(BlockId block) const;
  // Finalized good replicas (what a write's Complete waits for).
  uint32_t FinalizedReplicas(BlockId block) const;
  const BlockInfo* Find(BlockId block) const;

  // Standby mode (above). EndStandby(stored): the blocks in `stored` are the namespace's,
  // every other block and unmatched replica is garbage.
  void BeginStandby() { standby_ = true; }
  void EndStandby(const std::set<BlockId>& stored);
  bool standby() const { return standby_; }
  // Replicas kept aside while standby, awaiting their block.
  size_t unmatched_replicas() const { return unmatched_count_; }

  // One round of replication work; queues commands on the datanodes.
  void Monitor(Instant now);
  BlockCounts Counts() const;
  // Replicas the namenode knows on `datanode`, in any state: a corrupt or surplus replica
  // counts until the datanode confirms its delete, a released file's blocks stop counting at
  // once, and a dead datanode holds none. The `blocks` of its line in a cluster report.
  uint64_t ReplicasOn(uint32_t datanode) const;
  // Up to `max` complete blocks below their replication, by raw id (for reports and tests;
  // checkers use NamenodeInspection::UnderReplicatedBlocks).
  std::vector<uint64_t> UnderReplicated(size_t max) const;
  // One line on a block (by raw id, as UnderReplicated gives it) and its replicas, for people.
  std::string Describe(uint64_t block_id) const;
  // Blocks needing attention right now (for tests and reports).
  size_t attention_size() const { return attention_.size(); }

 private:
  struct Pending {
    Instant deadline;
    std::vector<uint32_t> targets;
  };
  bool IsGood(const BlockInfo& info, uint32_t datanode, const KnownReplica& replica) const;
  void Attend(BlockId block) { attention_.insert(block); }
  void QueueDelete(uint32_t datanode, const proto::BlockRef& block);
  // Sends a delete for a replica and stops counting it until the datanode confirms.
  void MarkForDeletion(BlockInfo& info, uint32_t datanode);
  // Schedules what the block needs; true when nothing more is needed.
  bool Work(BlockInfo& info, Instant now, std::map<uint32_t, uint32_t>& streams);

  // Standby: keeps a replica of an unknown block aside (bounded), or forgets those of
  // `datanode` (all of them when `block` is 0).
  void KeepUnmatched(uint32_t datanode, const proto::BlockRef& block, bool finalized);
  void DropUnmatched(uint32_t datanode, BlockId block);

  DatanodeManager& datanodes_;
  const BlockManagerOptions options_;
  bool standby_ = false;
  // Standby: block -> datanode -> (replica as reported, finalized).
  std::map<BlockId, std::map<uint32_t, std::pair<proto::BlockRef, bool>>> unmatched_;
  size_t unmatched_count_ = 0;
  std::map<BlockId, BlockInfo> blocks_;
  std::map<uint32_t, std::set<BlockId>> by_datanode_;
  std::set<BlockId> attention_;
  std::map<BlockId, Pending> pending_;
};

}  // namespace granary
