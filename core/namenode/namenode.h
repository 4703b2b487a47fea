// The namenode: the namespace, the block map, the datanodes and the leases behind one RPC
// service (DESIGN.md §5, issue "the file system itself").
//
// Every mutation is persisted in the MetaStore (through the Namespace) before its reply.
// Memory-only state — the block map, datanodes, leases — is rebuilt after a restart from the
// store and from the datanodes, which re-register and report their replicas when their
// heartbeats meet a namenode that does not know them. Replication work waits for
// `datanode_dead_after` after a start, so that reports can arrive before blocks look missing.
//
// This class is the composition root: it owns that state, hands it (as a NamenodeContext)
// to the services that implement its protocols, routes every method of core/rpc/methods.h to
// one of them and runs. The protocols:
//   - namespace_service.h: the client-facing namespace service;
//   - block_write_service.h and lease_recovery.h: the block-write protocol;
//   - datanode_service.h: the datanode-facing service;
//   - namenode_monitors.h: the background fibers (heartbeat, replication and lease monitors,
//     orphan collector).
// The HDFS-baseline knobs (global namespace lock, per-method CPU, edit-log sync) live here
// only, in the guard around every handler (Guarded).
#pragma once

#include <boost/fiber/condition_variable.hpp>
#include <boost/fiber/mutex.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/common/fiber_group.h"
#include "core/common/limits.h"
#include "core/common/status.h"
#include "core/namenode/block_manager.h"
#include "core/namenode/block_write_service.h"
#include "core/namenode/datanode_manager.h"
#include "core/namenode/datanode_service.h"
#include "core/namenode/lease_manager.h"
#include "core/namenode/lease_recovery.h"
#include "core/namenode/lock_manager.h"
#include "core/namenode/namenode_context.h"
#include "core/namenode/namenode_inspection.h"
#include "core/namenode/namenode_monitors.h"
#include "core/namenode/namenode_options.h"
#include "core/namenode/namespace.h"
#include "core/namenode/namespace_service.h"
#include "core/namenode/retry_cache.h"
#include "core/namenode/standby_block_map.h"
#include "core/rpc/router.h"
#include "core/seams/env.h"
#include "core/seams/meta_store.h"
#include "core/seams/transport.h"
#include "proto/namenode.pb.h"

namespace granary {

class Namenode final : public NamenodeInspection {
 public:
  // `carried`: the hot block map of the standby this Namenode starts from (HA,
  // standby_block_map.h): its datanodes and replicas stay known, Start reconciles its blocks
  // with the store, and the start-up grace ends datanode_dead_after past `carried->since`.
  // Null: a map of its own, empty until the datanodes register.
  Namenode(Env& env, Transport& transport, MetaStore& store, NamenodeOptions options,
           std::unique_ptr<HotBlockMap> carried = nullptr);

  // Loads the namespace, serves requests and runs the monitors until the process stops;
  // returns the status that stopped it (kNodeDown when crashed), once every fiber it started
  // and every request it admitted has ended, so that the Namenode may be destroyed then.
  Status Run();

  // True once loaded and serving.
  bool ready() const { return ready_; }

  // Makes Run return (with kCancelled) as if the process stopped, but leaves the process
  // running: what a namenode that lost its leadership does (ha_namenode.h). The monitors end
  // after their current sleep; requests already admitted finish first. The caller must stop
  // routing requests here before calling it.
  void Stop() { stop_requested_ = true; }

  // NamenodeInspection: what the simulator's checkers read.
  NamespaceCounts namespace_counts() const override { return ns_.counts(); }
  BlockCounts block_counts() const override { return blocks_.Counts(); }
  size_t live_datanodes() const override { return datanodes_.live_count(); }
  size_t open_files() const override { return leases_.open_files(); }
  size_t GoodReplicaCount(BlockId block) const override;
  std::vector<BlockId> UnderReplicatedBlocks(size_t max) const override;
  std::string DescribeBlock(BlockId block) const override;
  std::vector<std::pair<InodeId, QuotaState>> QuotaStates() const override {
    std::vector<std::pair<InodeId, QuotaState>> states;
    for (InodeId id : ns_.quotas().Ids()) states.emplace_back(id, *ns_.quotas().Find(id));
    return states;
  }

  // The parts themselves, for the namenode binary's status lines (tools/granary_namenode.cc)
  // and tests that look inside; checkers use NamenodeInspection.
  Namespace& ns() { return ns_; }
  RetryCache& retry_cache() { return retry_cache_; }
  BlockManager& blocks() { return blocks_; }
  DatanodeManager& datanodes() { return datanodes_; }

 private:
  // A request's class, for the baseline knobs around its handler: kNone takes no lock;
  // kRead the global lock shared; kWrite (a mutation of the namespace) exclusive, then the
  // edit-log sync; kUpdate (of the block map only) exclusive, not logged.
  enum class RequestClass : uint8_t { kNone, kRead, kWrite, kUpdate };

  NamenodeContext Context() {
    return NamenodeContext{env_,     options_,        ns_,        datanodes_, blocks_, leases_,
                           started_, stop_requested_, block_keys_};
  }
  Status Start();
  // Routes every namenode method of core/rpc/methods.h to its service, inside Guarded.
  void AddRoutes();
  // The baseline knobs around every handler (NamenodeOptions): the global lock, per-method
  // CPU, the batched edit-log sync.
  Status Guarded(std::string_view method, RequestClass request_class,
                 const std::function<Status()>& body);
  Status SyncEditLog();
  // Sweeps the retry cache every kRetryCacheSweepInterval until the namenode stops.
  Status RetryCacheSweeper();

  Env& env_;
  Transport& transport_;
  NamenodeOptions options_;
  MetaStore& store_;
  Namespace ns_;
  // The answers of recorded mutations, kept in store_ (so journaled with them).
  RetryCache retry_cache_{env_, store_};
  IdAllocator datanode_ids_;
  const bool carried_;
  std::unique_ptr<HotBlockMap> map_;
  DatanodeManager& datanodes_;
  BlockManager& blocks_;
  LeaseManager leases_;
  Instant started_{};
  bool stop_requested_ = false;
  BlockKeyManager block_keys_{env_, options_.block_tokens};
  // The protocols, over the state above (each holds a NamenodeContext).
  NamespaceService namespace_service_;
  BlockWriteService block_write_;
  LeaseRecovery lease_recovery_;
  DatanodeService datanode_service_;
  NamenodeMonitors monitors_;
  rpc::Router router_;
  FiberGroup fibers_;
  bool ready_ = false;
  // Baseline knobs.
  LockManager global_lock_;
  uint64_t edits_logged_ = 0;
  uint64_t edits_synced_ = 0;
  bool edit_sync_running_ = false;
  boost::fibers::mutex edit_sync_mutex_;
  boost::fibers::condition_variable edit_sync_done_;
};

}  // namespace granary
