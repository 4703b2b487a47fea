// StandbyBlockMap: the hot block map of a standby namenode (issue 13; DESIGN.md §5a).
//
// Datanodes register with, heartbeat to and report to every namenode of their list
// (namenode_actor.h). A standby answers them here, over a HotBlockMap of its own: the
// datanodes it hears from and which replicas each holds, against the blocks of the namespace
// it follows through the journal. So a standby knows the replicas of every block at any
// time: it can answer block locations (issue 14, LocateBlocks), and when it becomes the
// active its Namenode starts with this map (Namenode's `carried` map): files in blocks are
// readable at once after a failover, and replication needs no start-up grace for datanodes
// the standby already knew.
//
// Blocks. Load() builds the map from the store (every block record; the last block of a file
// left open is under construction, as Namenode::Start does). Then OnApplied(entry), for each
// journal entry the standby applies, learns from its operations: a block record put adds
// the block or updates it (keeping its replicas), a block record delete releases it, a file's
// inode put sets its blocks' state, stamp and length (complete, or under construction for
// the last block of a file open for writing). A replica reported before its block's entry is
// applied waits aside in the BlockManager (standby mode, block_manager.h).
//
// Datanodes. A standby issues no datanode ids: ids come from the store, which the journal
// fills when the active registers a datanode (the namenodes of one journal share them). A
// datanode the store does not know yet is answered kUnavailable (it tries again). Heartbeat
// replies carry fencing token 0 and no commands but KIND_REREGISTER; the BlockManager is in
// standby mode, queues nothing and runs no replication. Silent datanodes expire as on the
// active (ExpireSilent, called by the owner's loop). nn.ReportBadBlock is taken here whoever
// sends it: a client whose calls still reach a standby (it sends that report to the namenode
// it follows, normally the active) marks the replica corrupt here only, not on the active.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/random.h"
#include "core/common/status.h"
#include "core/common/time.h"
#include "core/namenode/block_manager.h"
#include "core/namenode/datanode_manager.h"
#include "core/namenode/namenode_options.h"
#include "core/rpc/router.h"
#include "core/seams/env.h"
#include "core/seams/journal.h"
#include "core/seams/meta_store.h"
#include "proto/fs.pb.h"
#include "proto/namenode.pb.h"

namespace granary {

// The datanodes and the block map, movable as one from a standby to the Namenode it starts.
struct HotBlockMap {
  HotBlockMap(Random random, const BlockManagerOptions& options)
      : datanodes(random), blocks(datanodes, options) {}
  HotBlockMap(const HotBlockMap&) = delete;
  HotBlockMap& operator=(const HotBlockMap&) = delete;

  DatanodeManager datanodes;
  BlockManager blocks;
  // When it began to hear from the datanodes: a Namenode that starts with this map needs its
  // start-up grace only until `since` + datanode_dead_after.
  Instant since{};
};

class StandbyBlockMap {
 public:
  // `store` (the standby's, which it follows the journal into) must outlive this object.
  StandbyBlockMap(Env& env, MetaStore& store, const NamenodeOptions& options);

  // A fresh map over the store as it is now (see the header comment); the datanodes then
  // register again with this namenode (their heartbeats are answered KIND_REREGISTER).
  Status Load();
  // Learns the blocks an applied journal entry adds, changes or drops. kCorruption when its
  // payload or a record in it does not parse (the store applied it, so it should).
  Status OnApplied(const JournalEntry& entry);
  // Declares dead the datanodes silent for datanode_dead_after.
  void ExpireSilent();

  // The datanode-facing methods a standby answers (register, heartbeat, reports).
  static bool Serves(std::string_view method);
  Result<RpcReply> Handle(const RpcContext& context, RpcRequest& request);

  // Hands the map over to the Namenode that starts as the active; this object then holds
  // none (Serves' methods answer kUnavailable) until Load().
  std::unique_ptr<HotBlockMap> Release();

  // For reads on a standby (issue 14): null while the map is handed over. The block map and
  // datanodes as the datanodes last reported them, and the located blocks of `file` (an inode
  // read from the store), ordered by distance from `client_address`: the LocatedBlocks an
  // nn.Open on the active would give.
  const HotBlockMap* map() const { return map_.get(); }
  std::vector<proto::LocatedBlock> LocateBlocks(const proto::Inode& file,
                                                const std::string& client_address);
  // One block of a file at `offset`, the same way; false when this map does not know the
  // block or no replica of it (the read then goes to the active).
  bool LocateBlock(const proto::BlockRef& block, uint64_t offset,
                   const std::string& client_address, proto::LocatedBlock* out);

 private:
  Status Register(const proto::RegisterRequest& r, proto::RegisterReply* reply);
  Status Heartbeat(const proto::HeartbeatRequest& r, proto::HeartbeatReply* reply);
  Status BlockReport(const proto::BlockReportRequest& r);
  Status ReportBadBlock(const proto::ReportBadBlockRequest& r);
  // A file's inode as stored: its blocks' state, stamp and length.
  void LearnFile(const proto::Inode& file);

  Env& env_;
  MetaStore& store_;
  const NamenodeOptions& options_;
  std::unique_ptr<HotBlockMap> map_;
  rpc::Router router_;
};

}  // namespace granary
