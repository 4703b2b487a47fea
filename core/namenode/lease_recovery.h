// Lease recovery, the end of the block-write protocol for a writer that died (DESIGN.md §5,
// lease_manager.h): a file whose writer has been silent past the hard limit is closed with
// what its replicas agree on.
//
// RecoverFile, called by the lease monitor for each expired (client, file), either closes the
// file at once (no block being written, or one without acknowledged bytes that nobody live
// holds: it is dropped) or asks one live holder of the last block to recover it (a
// KIND_RECOVER command at a new generation stamp, the other holders as targets). When no
// holder is known (a restart or failover forgot the pipeline and no report named one yet)
// every live datanode is asked. The datanode's nn.RecoveryDone then arrives through Finish,
// which stores the block as recovered and closes the file.
//
// A recovery starts by taking the file's lease for the namenode (TakeLease: the holder
// becomes RecoveryHolder(writer), through the journal), so that a writer that only seemed
// dead is refused from then on, as HDFS does.
//
// Acknowledged bytes are never dropped. The store records a last block's length once bytes
// of it were acknowledged (the writer's first flush of it, nn.Fsync; a pipeline update; an
// append), as HDFS's namenode does on a block's first hflush. Such a block stays under
// recovery until a holder answers, however long its datanodes are down; after
// kRecoveryAttemptsMax fruitless rounds the namenode stops asking every live datanode and
// waits for one to report it. Only a block with no recorded bytes is given up, when no live
// datanode holds it, kRecoveryAttemptsMax rounds over (or none is live).
//
// Invariants: at most one recovery in flight per block, each for the file whose last block
// it is; a recovery not answered by its deadline is forgotten (ExpireOverdue) and tried again
// by the next round.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/common/ids.h"
#include "core/common/status.h"
#include "core/common/time.h"
#include "core/namenode/block_manager.h"
#include "core/namenode/namenode_context.h"
#include "core/rpc/router.h"
#include "proto/namenode.pb.h"

namespace granary {

class LeaseRecovery {
 public:
  explicit LeaseRecovery(NamenodeContext context) : ctx_(context) {}

  // Recovers file `inode_id` of `client_name`, whose lease expired; drops the lease when the
  // file is closed, gone, or no longer this client's.
  void RecoverFile(const std::string& client_name, InodeId inode_id);
  // A datanode's answer to a recovery command. Late, duplicate and stale answers change
  // nothing; a failure counts against the block.
  Status Finish(const proto::RecoveryDoneRequest& request);
  // nn.RecoverLease: starts recovering the file at `path` now, whoever holds it (write
  // permission on the file); the reply says whether it is closed yet.
  Status RecoverLease(const proto::RecoverLeaseRequest& request, proto::RecoverLeaseReply* reply,
                      rpc::Exchange& exchange);
  // The lease holder of a file whose recovery started: `client_name` marked as the namenode's
  // (unchanged when it is one already).
  static std::string RecoveryHolder(const std::string& client_name);
  // Forgets recoveries whose deadline passed before `now`.
  void ExpireOverdue(Instant now);
  // Recoveries waiting for a datanode's answer.
  size_t in_flight() const { return recoveries_.size(); }

 private:
  struct Recovery {
    InodeId file;
    std::string client_name;
    Instant deadline;
    // The recovery's new stamp: an answer at another one belongs to an earlier round (one
    // that timed out) and changes nothing. Taking it closed a file at a round the datanodes
    // then overtook (the fault swarm, seed 1001 over 120 s: a late answer closed the log at
    // 462,724 bytes, the next round finalized a replica at 462,051 and a stamp the namenode
    // never recorded, and a later recovery cut the file to it).
    uint64_t stamp = 0;
  };

  struct HolderChoice {
    std::vector<uint32_t> datanodes;
    bool known = false;  // they are known to hold the block (else: every live datanode)
  };
  // The live datanodes that hold `last` or are in its pipeline; when none is known (and the
  // namenode is past its start-up), every live datanode: any may hold it.
  HolderChoice Holders(const BlockInfo& last) const;
  // Sends one live holder of `block_id` a KIND_RECOVER command at a new stamp, the other
  // holders as its targets, once TakeLease passed. Yields.
  void StartRecovery(const std::string& client_name, InodeId inode_id, BlockId block_id);
  // Takes the file's lease from `client_name` for the recovery (RecoveryHolder), through the
  // journal: true when this namenode is still the active (the journal refuses a deposed
  // active's append) and the file is still open for `client_name` (or its recovery). Yields.
  // Done before a recovery command, for two reasons:
  // - Fencing. An active that lost the election may not know it yet (paused, then resumed);
  //   its allocator hands out stamps from a range reserved earlier without the journal, and a
  //   datanode that has not yet heard the new active's token obeys it. Such a recovery moved
  //   replicas to a stamp the new active never recorded, and an acknowledged append was lost
  //   (the fault swarm, seed 9 with three namenodes). HDFS's recovery likewise logs its new
  //   stamp before any datanode hears of it.
  // - The old writer is shut out, as HDFS moves the lease to the namenode. A writer whose
  //   lease expired is not always dead (a partition from the namenode only): while the
  //   recovery ran it got a new stamp (nn.BumpGeneration), moved the replicas past the
  //   recovery's, wrote on, and its Complete then found the file closed by the recovery and
  //   took that for its own retried Complete: acknowledged bytes lost and the block's
  //   replicas at a stamp the namenode never recorded (the fault swarm, seeds 1011 and 1029
  //   over 120 s with one namenode, 2010 with three). Now its every request about the file is
  //   refused (kLeaseConflict).
  bool TakeLease(const std::string& client_name, InodeId inode_id);

  NamenodeContext ctx_;
  std::map<BlockId, Recovery> recoveries_;
  std::map<BlockId, uint32_t> recovery_failures_;
};

}  // namespace granary
