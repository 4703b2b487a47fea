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
// The namenode may be a list ("a,b,c", DatanodeOptions::namenode): every call to it goes
// through a NamenodeLocator (core/rpc/namenode_locator.h), which follows kNotActive redirects
// to the active and moves to the next namenode when one is unreachable; when calls have
// moved to another namenode than the one the datanode registered with, it registers again
// and sends a full report (step 1). Fencing: each heartbeat reply carries the fencing token
// of the active that sent it; the datanode remembers the newest it has seen and refuses
// (counts, stale_commands_refused()) every command of a reply under an older token, so a
// deposed active can never make it delete a replica. A newer token is obeyed.
// Replica events go to the namenode from one reporter fiber, in order, retried with backoff:
// nn.BlockReport full=false when a replica is finalized (last packet, FinalizeReplica,
// recovery) or deleted, and nn.ReportBadBlock when a read or the block scanner finds a replica
// corrupt (it is then neither served nor included in full reports).
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
#include <set>
#include <string>
#include <utility>

#include "core/common/fiber_group.h"
#include "core/common/ids.h"
#include "core/common/status.h"
#include "core/datanode/block_lock_table.h"
#include "core/datanode/block_scanner.h"
#include "core/datanode/block_service.h"
#include "core/datanode/datanode_options.h"
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
  bool registered() const { return registered_; }
  uint32_t datanode_id() const { return datanode_id_; }
  const std::string& storage_id() const { return storage_id_; }
  const ReplicaStore& store() const { return store_; }
  const BlockScanner& scanner() const { return scanner_; }
  // The newest fencing token seen on a heartbeat reply, and the commands refused because
  // their reply carried an older one.
  uint64_t fencing_token() const { return fencing_token_; }
  uint64_t stale_commands_refused() const { return stale_commands_refused_; }
  const NamenodeLocator& namenode() const { return namenode_; }

 private:
  // Startup and the namenode protocol.
  Status Start();
  Status NamenodeLoop();
  Status Register();
  Status SendFullReport();
  // Returns ok when the datanode must register again, else the failed wait's status.
  Status HeartbeatLoop();
  void SetBlockKeys(const proto::HeartbeatReply& reply);
  Instant Deadline() { return env_.Now() + options_.rpc_timeout; }
  Duration Jittered(Duration base);

  // Replica events and the reporter fiber.
  void OnFinalized(const Replica& replica);
  void OnDeleted(const proto::BlockRef& block);
  void OnCorrupt(const Replica& replica);
  void QueueEvent();
  void ReportLoop();
  bool HasReports() const;
  // Sends the oldest queued events; an error leaves them queued.
  Status SendReports();

  // Commands.
  void Execute(const proto::DatanodeCommand& command);
  // Starts queued transfers while fewer than transfers_max run.
  void StartTransfers();
  Status ValidateCommand(const proto::DatanodeCommand& command) const;
  void Replicate(const proto::DatanodeCommand& command);
  void Delete(const proto::DatanodeCommand& command);
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

  bool ran_ = false;
  bool stopping_ = false;
  std::string storage_id_;
  bool registered_ = false;
  uint32_t datanode_id_ = 0;
  // The namenode that answered the last registration.
  Address registered_with_;
  uint64_t fencing_token_ = 0;
  uint64_t stale_commands_refused_ = 0;
  Duration heartbeat_interval_;

  // Events not yet acknowledged by the namenode, oldest first.
  std::deque<proto::ReplicaReport> pending_finalized_;
  std::deque<proto::BlockRef> pending_deleted_;
  std::deque<proto::BlockRef> pending_bad_;
  // Bumped whenever the queues change other than at the back (a full report, a superseded
  // event): a report in flight then no longer covers their head.
  uint64_t report_epoch_ = 0;
  bool full_report_wanted_ = false;
  boost::fibers::mutex report_mutex_;
  boost::fibers::condition_variable report_wakeup_;

  // Blocks with a replicate or recover command queued or running; the queue; how many run.
  std::set<BlockId> transfers_;
  std::deque<proto::DatanodeCommand> transfer_queue_;
  uint32_t transfers_running_ = 0;
  // Replicas reported corrupt (block id, stamp), so that each is reported once.
  std::set<std::pair<BlockId, GenerationStamp>> reported_corrupt_;
};

}  // namespace granary
