// Datanode: one storage server of the cluster (DESIGN.md §5).
//
// Run() loads the replicas from the disk (reconciling a crash, see replica_store.h), serves
// the dn.* methods (block_service.h), and talks to the namenode:
//   1. nn.Register, retried with backoff (jittered, doubling) until the namenode answers;
//   2. nn.BlockReport full=true with every replica not known corrupt (a report longer than
//      kDatanodeReportReplicasMax continues in incremental reports);
//   3. nn.Heartbeat every interval with the disk's capacity and use, carrying out the
//      commands of each reply: KIND_REPLICATE (copy the finalized replica to the targets as a
//      pipeline with dn.WriteBlock; queued, transfers_max at a time, one per block),
//      KIND_DELETE (remove the replica unless it is newer than the command's stamp),
//      KIND_RECOVER (lease recovery, below), KIND_REREGISTER (back to step 1). A heartbeat
//      the namenode refuses (any error but a timeout or an unreachable namenode) also leads
//      back to step 1.
// The namenode may be a list ("a,b,c", DatanodeOptions::namenode). The conversation with a
// namenode (steps 1-3 and the replica events below) is a NamenodeActor (namenode_actor.h).
// With one namenode there is one actor, over a NamenodeLocator of the list, exactly as before
// namenodes had standbys. With several (HA) there is one actor per namenode, each on a fiber
// of its own: the datanode registers with, reports to and heartbeats EVERY namenode, so that
// the standbys keep a hot block map (HDFS's one BPServiceActor per namenode); nn.RecoveryDone
// goes to the active through a locator of the whole list, which follows kNotActive redirects.
// Fencing: each heartbeat reply carries the fencing token of the active that sent it (a
// standby's carries 0); the datanode remembers the newest it has seen and refuses (counts,
// stale_commands_refused()) every block command of a reply under an older token, so a
// deposed active can never make it delete a replica; with several namenodes it also refuses
// those of a reply under token 0 (a standby issues none). A newer token is obeyed. A request
// to register again (KIND_REREGISTER) concerns one actor and is obeyed from any namenode.
// Replica events go to the namenode from one reporter fiber, in order, retried with backoff:
// nn.BlockReport full=false when a replica is finalized (last packet, FinalizeReplica,
// recovery), begun or reopened by a writer (finalized=false: every namenode then knows who
// holds a block being written, issue 16), or deleted, and nn.ReportBadBlock when a read or the
// block scanner finds a replica corrupt (it is then neither served nor included in full reports).
//
// Lease recovery (KIND_RECOVER with `block` as the namenode knows it, `targets` the other
// replicas, and recovery_generation_stamp): asks every replica (itself included) with
// dn.GetReplica, keeps those that answer with a stamp not older than block's, takes the
// minimum of their lengths, finalizes each with dn.FinalizeReplica at that length and the new
// stamp, then tells the namenode nn.RecoveryDone with the datanodes that succeeded (failed =
// none did).
//
// Threading: all of it runs on fibers of the Env; Run() returns only once every fiber it
// started (and every request handler it admitted) has ended, so the Datanode may be destroyed
// right after. The Env, Transport and Disk must outlive the Datanode.
#pragma once

#include <boost/fiber/condition_variable.hpp>
#include <boost/fiber/mutex.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/common/fiber_group.h"
#include "core/common/ids.h"
#include "core/common/status.h"
#include "core/datanode/block_lock_table.h"
#include "core/datanode/block_scanner.h"
#include "core/datanode/block_service.h"
#include "core/datanode/datanode_options.h"
#include "core/datanode/namenode_actor.h"
#include "core/datanode/replica_store.h"
#include "core/rpc/namenode_locator.h"
#include "core/rpc/router.h"
#include "core/seams/disk.h"
#include "core/seams/env.h"
#include "core/seams/transport.h"
#include "proto/namenode.pb.h"

namespace granary {

class Datanode {
 public:
  Datanode(Env& env, Transport& transport, Disk& disk, DatanodeOptions options);
  ~Datanode();
  Datanode(const Datanode&) = delete;
  Datanode& operator=(const Datanode&) = delete;

  // Runs the datanode until its process crashes or stops, and returns the status of the wait
  // that failed (kNodeDown), or the error that kept it from starting (bad options, an
  // unreadable disk). Call once.
  Status Run();

  // For tests and tools: state of the running datanode.
  // Registered with a namenode (with several: with at least one); the id it gave (the
  // namenodes of one journal share the ids).
  bool registered() const;
  uint32_t datanode_id() const;
  const std::string& storage_id() const { return storage_id_; }
  const ReplicaStore& store() const { return store_; }
  const BlockScanner& scanner() const { return scanner_; }
  // The newest fencing token seen on a heartbeat reply, and the commands refused because
  // their reply carried an older one.
  uint64_t fencing_token() const { return fencing_token_; }
  uint64_t stale_commands_refused() const { return stale_commands_refused_; }
  // The locator of the whole list (with one namenode, the one its actor calls through).
  const NamenodeLocator& namenode() const { return namenode_; }
  // One actor per namenode of the list with several, else one (namenode_actor.h).
  size_t actors() const { return actors_.size(); }
  const NamenodeActor& actor(size_t i) const { return *actors_[i]; }

 private:
  // Startup.
  Status Start();
  void SetBlockKeys(const proto::HeartbeatReply& reply);
  Instant Deadline() { return env_.Now() + options_.rpc_timeout; }
  Duration Jittered(Duration base);

  // Replica events, handed to every actor.
  void OnFinalized(const Replica& replica);
  void OnReceiving(const Replica& replica);
  void OnDeleted(const proto::BlockRef& block);
  void OnCorrupt(const Replica& replica);

  // Carries out a heartbeat reply's commands under the fencing rule above; true when it asks
  // the actor to register again.
  bool OnHeartbeatReply(const proto::HeartbeatReply& reply);
  // Commands.
  void Execute(const proto::DatanodeCommand& command);
  // Starts queued transfers while fewer than transfers_max run.
  void StartTransfers();
  Status ValidateCommand(const proto::DatanodeCommand& command) const;
  void Replicate(const proto::DatanodeCommand& command);
  void Delete(const proto::DatanodeCommand& command);
  // A piece of a replica for a transfer or a verify; a replica found bad is reported.
  Result<ReplicaRead> ReadReporting(BlockId id, uint64_t offset, uint64_t length);
  // KIND_VERIFY: re-reads the replica, checking every chunk; reports it if it is bad.
  void Verify(const proto::DatanodeCommand& command);
  void Recover(const proto::DatanodeCommand& command);

  Env& env_;
  Transport& transport_;
  Disk& disk_;
  const DatanodeOptions options_;
  NamenodeLocator namenode_;

  ReplicaStore store_;
  BlockLockTable locks_;
  FiberGroup fibers_;
  BlockService service_;
  BlockScanner scanner_;
  rpc::Router router_;

  // With several namenodes: a locator of each one alone, for its actor.
  std::vector<std::unique_ptr<NamenodeLocator>> own_locators_;
  std::vector<std::unique_ptr<NamenodeActor>> actors_;
  bool every_namenode_ = false;

  bool ran_ = false;
  bool stopping_ = false;
  std::string storage_id_;
  uint64_t fencing_token_ = 0;
  uint64_t stale_commands_refused_ = 0;

  // Blocks with a replicate or recover command queued or running; the queue; how many run.
  std::set<BlockId> transfers_;
  std::deque<proto::DatanodeCommand> transfer_queue_;
  uint32_t transfers_running_ = 0;
  // Blocks a KIND_VERIFY reads now (at most kDatanodeVerifiesMax).
  std::set<BlockId> verifying_;
  // Replicas reported corrupt (block id, stamp), so that each is reported once.
  std::set<std::pair<BlockId, GenerationStamp>> reported_corrupt_;
};

}  // namespace granary
