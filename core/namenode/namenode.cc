#include "core/namenode/namenode.h"

#include <algorithm>
#include <cassert>
#include <mutex>
#include <set>
#include <vector>

#include "core/security/identity.h"

namespace granary {

Namenode::Namenode(Env& env, Transport& transport, MetaStore& store, NamenodeOptions options,
                   std::unique_ptr<HotBlockMap> carried)
    : env_(env),
      transport_(transport),
      options_(std::move(options)),
      store_(store),
      ns_(env, store, options_.ns),
      datanode_ids_(store, "datanode", 1),
      carried_(carried != nullptr),
      map_(carried
               ? std::move(carried)
               : std::make_unique<HotBlockMap>(env.random().Derive("datanodes"), options_.blocks)),
      datanodes_(map_->datanodes),
      blocks_(map_->blocks),
      namespace_service_(Context()),
      block_write_(Context()),
      lease_recovery_(Context()),
      datanode_service_(Context(), store_, datanode_ids_, lease_recovery_),
      monitors_(Context(), lease_recovery_),
      fibers_(env) {}

Status Namenode::Run() {
  Status status = Start();
  if (status.ok()) status = monitors_.HeartbeatMonitor();
  ready_ = false;
  fibers_.Close();
  fibers_.Drain();
  return status;
}

Status Namenode::Start() {
  std::vector<proto::Inode> open_files;
  GRANARY_RETURN_IF_ERROR(ns_.Load(&open_files));
  GRANARY_RETURN_IF_ERROR(datanode_ids_.Load());
  GRANARY_RETURN_IF_ERROR(retry_cache_.Load());
  const Instant now = env_.Now();
  // A carried map heard the datanodes since `since`: the grace counts from there.
  started_ = carried_ ? std::min(now, map_->since) : now;
  std::map<uint64_t, uint64_t> last_block_of_open_file;  // block id -> inode id
  for (const proto::Inode& file : open_files) {
    leases_.Add(file.lease_holder(), InodeId(file.id()), now);
    if (file.blocks_size() > 0) {
      last_block_of_open_file[file.blocks(file.blocks_size() - 1).block_id()] = file.id();
    }
  }
  std::set<BlockId> stored_ids;  // with a carried map: what it may keep
  GRANARY_RETURN_IF_ERROR(ns_.ForEachBlock([&](const proto::StoredBlock& stored) {
    const bool open = last_block_of_open_file.count(stored.block().block_id()) != 0;
    blocks_.AddBlock(InodeId(stored.inode_id()), stored.block(), stored.replication(),
                     open ? BlockState::kUnderConstruction : BlockState::kComplete, {});
    if (carried_) stored_ids.insert(BlockId(stored.block().block_id()));
  }));
  if (carried_) blocks_.EndStandby(stored_ids);
  AddRoutes();
  GRANARY_RETURN_IF_ERROR(transport_.Serve(fibers_.Wrap(router_.AsHandler())));
  ready_ = true;
  fibers_.Spawn("replication-monitor", [this] { (void)monitors_.ReplicationMonitor(); });
  fibers_.Spawn("lease-monitor", [this] { (void)monitors_.LeaseMonitor(); });
  fibers_.Spawn("orphan-collector", [this] { (void)monitors_.OrphanCollector(); });
  fibers_.Spawn("retry-cache-sweeper", [this] { (void)RetryCacheSweeper(); });
  return Status::Ok();
}

// Each route is the table's method (core/rpc/methods.h), the service and handler that
// answer it, and its request class.
#define GRANARY_ROUTE(method, service, Handler, request_class)                            \
  router_.Add(method, [this](const auto& request, auto* reply, rpc::Exchange& exchange) { \
    return Guarded(method.name, RequestClass::request_class,                              \
                   [&] { return service.Handler(request, reply, exchange); });            \
  })

// A mutation whose retry, after its first attempt ran, would answer differently (create:
// "exists", or with overwrite a second file; delete and rename: "not found", or the effect on
// what another client made meanwhile; write-inline and complete: "not under construction",
// where complete's own check misses a file without blocks) goes through the retry cache,
// which answers a retry with the first answer. The others are left out, each because a
// retry is harmless or handled already: mkdirs, the set-attribute calls and set-quota end in
// the same state when run twice; convert-to-blocks and update-pipeline recognise their own
// retry; add-block, bump-generation, append
// and recover-lease answer with state made after their commit (a block, a stamp), which a
// record taken at the commit cannot hold (retry_cache.h), and the writer recovers from a lost
// answer to those through the pipeline protocol.
#define GRANARY_RECORDED_ROUTE(method, service, Handler)                                     \
  router_.Add(method, [this](const auto& request, auto* reply, rpc::Exchange& exchange) {    \
    return Guarded(method.name, RequestClass::kWrite, [&] {                                  \
      return retry_cache_.Run(RetryKey{exchange.key.client_id, exchange.key.call_id}, reply, \
                              [&] { return service.Handler(request, reply, exchange); });    \
    });                                                                                      \
  })

void Namenode::AddRoutes() {
  // Before any handler: a request acts as its key's user (core/security/identity.h).
  router_.SetRequestCheck(
      MakeIdentityCheck(IdentityPolicy(options_.ns.permissions.superuser, options_.proxy_users),
                        options_.security_log));
  GRANARY_ROUTE(rpc::nn::kMkdirs, namespace_service_, Mkdirs, kWrite);
  GRANARY_RECORDED_ROUTE(rpc::nn::kCreate, namespace_service_, Create);
  GRANARY_RECORDED_ROUTE(rpc::nn::kWriteInline, namespace_service_, WriteInline);
  GRANARY_ROUTE(rpc::nn::kConvertToBlocks, block_write_, ConvertToBlocks, kWrite);
  GRANARY_ROUTE(rpc::nn::kAddBlock, block_write_, AddBlock, kWrite);
  GRANARY_RECORDED_ROUTE(rpc::nn::kComplete, block_write_, Complete);
  GRANARY_ROUTE(rpc::nn::kBumpGeneration, block_write_, BumpGeneration, kWrite);
  GRANARY_ROUTE(rpc::nn::kUpdatePipeline, block_write_, UpdatePipeline, kWrite);
  GRANARY_ROUTE(rpc::nn::kFsync, block_write_, Fsync, kWrite);
  GRANARY_ROUTE(rpc::nn::kRenewLease, block_write_, RenewLease, kRead);
  GRANARY_ROUTE(rpc::nn::kOpen, namespace_service_, Open, kRead);
  GRANARY_ROUTE(rpc::nn::kOpenMany, namespace_service_, OpenMany, kRead);
  GRANARY_ROUTE(rpc::nn::kStat, namespace_service_, Stat, kRead);
  GRANARY_ROUTE(rpc::nn::kList, namespace_service_, List, kRead);
  GRANARY_RECORDED_ROUTE(rpc::nn::kDelete, namespace_service_, Delete);
  GRANARY_RECORDED_ROUTE(rpc::nn::kRename, namespace_service_, Rename);
  GRANARY_ROUTE(rpc::nn::kSetPermission, namespace_service_, SetPermission, kWrite);
  GRANARY_ROUTE(rpc::nn::kSetTimes, namespace_service_, SetTimes, kWrite);
  GRANARY_ROUTE(rpc::nn::kSetOwner, namespace_service_, SetOwner, kWrite);
  GRANARY_ROUTE(rpc::nn::kSetReplication, namespace_service_, SetReplication, kWrite);
  GRANARY_ROUTE(rpc::nn::kReportBadBlock, namespace_service_, ReportBadBlock, kUpdate);
  GRANARY_ROUTE(rpc::nn::kClusterReport, namespace_service_, ClusterReport, kNone);
  GRANARY_ROUTE(rpc::nn::kServerDefaults, namespace_service_, ServerDefaults, kNone);
  GRANARY_ROUTE(rpc::nn::kRegister, datanode_service_, Register, kNone);
  GRANARY_ROUTE(rpc::nn::kHeartbeat, datanode_service_, Heartbeat, kNone);
  GRANARY_ROUTE(rpc::nn::kBlockReport, datanode_service_, BlockReport, kUpdate);
  GRANARY_ROUTE(rpc::nn::kRecoveryDone, datanode_service_, RecoveryDone, kUpdate);
  GRANARY_ROUTE(rpc::nn::kAppend, block_write_, Append, kWrite);
  GRANARY_ROUTE(rpc::nn::kRecoverLease, lease_recovery_, RecoverLease, kWrite);
  GRANARY_ROUTE(rpc::nn::kSetQuota, namespace_service_, SetQuota, kWrite);
  GRANARY_ROUTE(rpc::nn::kGetQuota, namespace_service_, GetQuota, kRead);
  // Without a journal this namenode is the only one. With one, HaNamenode answers these
  // methods before they reach this router (ha_namenode.h).
  router_.Add(rpc::nn::kHaStatus,
              [this](const proto::HaStatusRequest&, proto::HaStatusReply* reply, rpc::Exchange&) {
                reply->set_role("single");
                reply->set_address(transport_.self().value);
                reply->set_active(transport_.self().value);
                return Status::Ok();
              });
  router_.Add(rpc::nn::kMsync, [](const proto::MsyncRequest&, proto::MsyncReply*, rpc::Exchange&) {
    return Status::Ok();
  });  // no journal: 0
  router_.Add(rpc::nn::kFailover,
              [](const proto::FailoverRequest&, proto::FailoverReply*, rpc::Exchange&) {
                return Status(StatusCode::kInvalidArgument,
                              "this namenode runs without a journal: there is no standby to "
                              "fail over to (granary-namenode --journal)");
              });
}

#undef GRANARY_ROUTE
#undef GRANARY_RECORDED_ROUTE

Status Namenode::Guarded(std::string_view method, RequestClass request_class,
                         const std::function<Status()>& body) {
  LockSet global;
  if (options_.global_namespace_lock && request_class != RequestClass::kNone) {
    global = global_lock_.Acquire(
        {{"fsn", request_class == RequestClass::kRead ? LockMode::kShared : LockMode::kExclusive}});
  }
  auto cost = options_.cpu_per_method.find(method);
  if (cost != options_.cpu_per_method.end()) GRANARY_RETURN_IF_ERROR(env_.ChargeCpu(cost->second));
  const Status status = body();
  global.Release();
  if (request_class == RequestClass::kWrite && options_.edit_log_sync > Duration(0) &&
      status.ok()) {
    GRANARY_RETURN_IF_ERROR(SyncEditLog());
  }
  // A failed request may have logged edits too (HDFS syncs in a finally block).
  if (request_class == RequestClass::kWrite && options_.sync_logged_edits) {
    GRANARY_RETURN_IF_ERROR(options_.sync_logged_edits());
  }
  return status;
}

Status Namenode::RetryCacheSweeper() {
  for (;;) {
    GRANARY_RETURN_IF_ERROR(Context().SleepUnlessStopped(kRetryCacheSweepInterval));
    // A failed sweep (a journal append refused) leaves the records for the next one.
    (void)retry_cache_.Sweep();
  }
}

Status Namenode::SyncEditLog() {
  const uint64_t mine = ++edits_logged_;
  std::unique_lock lock(edit_sync_mutex_);
  while (edits_synced_ < mine) {
    if (edit_sync_running_) {
      edit_sync_done_.wait(lock);
      continue;
    }
    // This fiber syncs everything logged so far; later edits wait for the next sync.
    edit_sync_running_ = true;
    const uint64_t covered = edits_logged_;
    lock.unlock();
    const Status slept = env_.SleepFor(options_.edit_log_sync);
    lock.lock();
    edit_sync_running_ = false;
    if (slept.ok()) edits_synced_ = std::max(edits_synced_, covered);
    assert(edits_synced_ <= edits_logged_);
    edit_sync_done_.notify_all();
    GRANARY_RETURN_IF_ERROR(slept);
  }
  return Status::Ok();
}

size_t Namenode::GoodReplicaCount(BlockId block) const {
  return blocks_.GoodReplicas(block).size();
}

std::vector<BlockId> Namenode::UnderReplicatedBlocks(size_t max) const {
  std::vector<BlockId> ids;
  for (uint64_t id : blocks_.UnderReplicated(max)) ids.emplace_back(id);
  return ids;
}

std::string Namenode::DescribeBlock(BlockId block) const { return blocks_.Describe(block.value()); }

}  // namespace granary
