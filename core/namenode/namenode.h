// The namenode: the namespace, the block map, the datanodes and the leases behind one RPC
// service (DESIGN.md §5, issue "the file system itself").
//
// Every mutation is persisted in the MetaStore (through the Namespace) before its reply.
// Memory-only state — the block map, datanodes, leases — is rebuilt after a restart from the
// store and from the datanodes, which re-register and report their replicas when their
// heartbeats meet a namenode that does not know them. Replication work waits for
// `datanode_dead_after` after a start, so that reports can arrive before blocks look missing.
//
// Background fibers: the heartbeat monitor (declares silent datanodes dead), the
// replication monitor, the lease monitor (recovers files of writers silent past the hard
// limit) and the orphan collector (removes deleted subtrees).
#pragma once

#include <boost/fiber/condition_variable.hpp>
#include <boost/fiber/mutex.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "core/common/fiber_group.h"
#include "core/common/limits.h"
#include "core/common/status.h"
#include "core/namenode/block_manager.h"
#include "core/namenode/datanode_manager.h"
#include "core/namenode/lease_manager.h"
#include "core/namenode/lock_manager.h"
#include "core/namenode/namespace.h"
#include "core/rpc/router.h"
#include "core/seams/env.h"
#include "core/seams/meta_store.h"
#include "core/seams/transport.h"
#include "proto/namenode.pb.h"

namespace granary {

struct NamenodeOptions {
  NamespaceOptions ns;
  BlockManagerOptions blocks;
  Duration heartbeat_interval = std::chrono::seconds(3);
  Duration datanode_dead_after = std::chrono::seconds(30);
  Duration replication_check_interval = std::chrono::seconds(1);
  Duration lease_soft_limit = std::chrono::seconds(30);
  Duration lease_hard_limit = std::chrono::seconds(60);
  Duration lease_check_interval = std::chrono::seconds(2);
  Duration recovery_timeout = std::chrono::seconds(20);
  Duration orphan_collect_interval = std::chrono::milliseconds(500);
  uint32_t min_replication = 1;
  // CPU time charged per request (the simulator's CPU model; 0 in the real world).
  Duration cpu_per_request{0};
  // Further CPU time charged per request of a method (rpc::nn::kCreate), on top of
  // cpu_per_request (the simulator's per-operation costs; empty in the real world).
  std::map<std::string, Duration, std::less<>> cpu_per_method;
  // CPU time charged per replica listed in a block report.
  Duration cpu_per_reported_block{0};
  // Baseline knobs for the HDFS-like configuration of the simulator (all off by default):
  //   global_namespace_lock: every client request runs under one namenode-wide read-write
  //     lock (shared for reads, exclusive for mutations; block reports exclusive too), as
  //     HDFS's FSNamesystem lock;
  //   edit_log_sync: a mutation's reply waits, after the lock is released, for a batched
  //     sync of this latency (one sync in flight; requests arriving meanwhile share the next),
  //     as HDFS's FSEditLog.logSync. The MetaStore is then expected to be memory-fast.
  bool global_namespace_lock = false;
  Duration edit_log_sync{0};
};

class Namenode {
 public:
  Namenode(Env& env, Transport& transport, MetaStore& store, NamenodeOptions options);

  // Loads the namespace, serves requests and runs the monitors until the process stops;
  // returns the status that stopped it (kNodeDown when crashed), once every fiber it started
  // and every request it admitted has ended, so that the Namenode may be destroyed then.
  Status Run();

  Namespace& ns() { return ns_; }
  BlockManager& blocks() { return blocks_; }
  DatanodeManager& datanodes() { return datanodes_; }
  LeaseManager& leases() { return leases_; }
  // True once loaded and serving.
  bool ready() const { return ready_; }

 private:
  Status Start();
  void AddRoutes();
  // Client protocol.
  Status Mkdirs(const proto::MkdirsRequest&, proto::MkdirsReply*, rpc::Exchange&);
  Status Create(const proto::CreateRequest&, proto::CreateReply*, rpc::Exchange&);
  Status WriteInline(const proto::WriteInlineRequest&, proto::WriteInlineReply*, rpc::Exchange&);
  Status ConvertToBlocks(const proto::ConvertToBlocksRequest&, proto::ConvertToBlocksReply*,
                         rpc::Exchange&);
  Status AddBlock(const proto::AddBlockRequest&, proto::AddBlockReply*, rpc::Exchange&);
  Status Complete(const proto::CompleteRequest&, proto::CompleteReply*, rpc::Exchange&);
  Status BumpGeneration(const proto::BumpGenerationRequest&, proto::BumpGenerationReply*,
                        rpc::Exchange&);
  Status UpdatePipeline(const proto::UpdatePipelineRequest&, proto::UpdatePipelineReply*,
                        rpc::Exchange&);
  Status RenewLease(const proto::RenewLeaseRequest&, proto::RenewLeaseReply*, rpc::Exchange&);
  Status Open(const proto::OpenRequest&, proto::OpenReply*, rpc::Exchange&);
  Status OpenMany(const proto::OpenManyRequest&, proto::OpenManyReply*, rpc::Exchange&);
  Status Stat(const proto::StatRequest&, proto::StatReply*, rpc::Exchange&);
  Status List(const proto::ListRequest&, proto::ListReply*, rpc::Exchange&);
  Status Delete(const proto::DeleteRequest&, proto::DeleteReply*, rpc::Exchange&);
  Status Rename(const proto::RenameRequest&, proto::RenameReply*, rpc::Exchange&);
  Status SetPermission(const proto::SetPermissionRequest&, proto::SetAttributeReply*,
                       rpc::Exchange&);
  Status SetOwner(const proto::SetOwnerRequest&, proto::SetAttributeReply*, rpc::Exchange&);
  Status SetReplication(const proto::SetReplicationRequest&, proto::SetAttributeReply*,
                        rpc::Exchange&);
  Status ReportBadBlock(const proto::ReportBadBlockRequest&, proto::ReportBadBlockReply*,
                        rpc::Exchange&);
  Status ClusterReport(const proto::ClusterReportRequest&, proto::ClusterReportReply*,
                       rpc::Exchange&);
  Status ServerDefaults(const proto::ServerDefaultsRequest&, proto::ServerDefaultsReply*,
                        rpc::Exchange&);
  // Datanode protocol.
  Status Register(const proto::RegisterRequest&, proto::RegisterReply*, rpc::Exchange&);
  Status Heartbeat(const proto::HeartbeatRequest&, proto::HeartbeatReply*, rpc::Exchange&);
  Status BlockReport(const proto::BlockReportRequest&, proto::BlockReportReply*, rpc::Exchange&);
  Status RecoveryDone(const proto::RecoveryDoneRequest&, proto::RecoveryDoneReply*, rpc::Exchange&);

  // The baseline knobs around every handler (NamenodeOptions): the global lock, per-method
  // CPU, the batched edit-log sync.
  // kWrite: a mutation of the namespace (exclusive, logged); kUpdate: of the block map only
  // (exclusive, not logged).
  enum class Access : uint8_t { kNone, kRead, kWrite, kUpdate };
  Status Guarded(std::string_view method, Access access, const std::function<Status()>& body);
  Status SyncEditLog();

  // Checks shared by the handlers.
  Status Admit(const proto::UserContext& user);
  Status CheckWriter(const proto::Inode& file, const std::string& client) const;
  void Release(const ReleasedBlocks& released) { blocks_.Release(released.blocks); }
  proto::LocatedBlock Locate(const proto::BlockRef& block, uint64_t offset,
                             const std::string& client_address);

  // Monitors.
  Status HeartbeatMonitor();
  Status ReplicationMonitor();
  Status LeaseMonitor();
  Status OrphanCollector();
  void RecoverFile(const std::string& client, uint64_t inode_id);

  Env& env_;
  Transport& transport_;
  NamenodeOptions options_;
  MetaStore& store_;
  Namespace ns_;
  IdAllocator datanode_ids_;
  DatanodeManager datanodes_;
  BlockManager blocks_;
  LeaseManager leases_;
  rpc::Router router_;
  FiberGroup fibers_;
  Instant started_{};
  bool ready_ = false;
  struct Recovery {
    uint64_t inode_id;
    std::string client;
    Instant deadline;
  };
  std::map<uint64_t, Recovery> recoveries_;         // by block id
  std::map<uint64_t, uint32_t> recovery_failures_;  // by block id
  // Baseline knobs.
  LockManager global_lock_;
  uint64_t edits_logged_ = 0;
  uint64_t edits_synced_ = 0;
  bool edit_sync_running_ = false;
  boost::fibers::mutex edit_sync_mutex_;
  boost::fibers::condition_variable edit_sync_done_;
};

}  // namespace granary
