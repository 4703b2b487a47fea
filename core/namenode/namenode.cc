#include "core/namenode/namenode.h"

#include <algorithm>
#include <cassert>
#include <mutex>

#include "core/common/crc32c.h"
#include "core/common/limits.h"
#include "core/namenode/inode_store.h"

namespace granary {
namespace {

Status Invalid(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

uint64_t SumOfBlocks(const proto::Inode& file) {
  uint64_t total = 0;
  for (const proto::BlockRef& block : file.blocks()) total += block.length_bytes();
  return total;
}

proto::StoredBlock Stored(uint64_t inode_id, const proto::BlockRef& block, uint32_t replication) {
  proto::StoredBlock stored;
  stored.set_inode_id(inode_id);
  *stored.mutable_block() = block;
  stored.set_replication(replication);
  return stored;
}

}  // namespace

Namenode::Namenode(Env& env, Transport& transport, MetaStore& store, NamenodeOptions options)
    : env_(env),
      transport_(transport),
      options_(std::move(options)),
      store_(store),
      ns_(env, store, options_.ns),
      datanode_ids_(store, "datanode", 1),
      datanodes_(env.random().Derive("datanodes")),
      blocks_(datanodes_, options_.blocks),
      fibers_(env) {}

Status Namenode::Run() {
  Status status = Start();
  if (status.ok()) status = HeartbeatMonitor();
  ready_ = false;
  fibers_.Close();
  fibers_.Drain();
  return status;
}

Status Namenode::Start() {
  std::vector<proto::Inode> open_files;
  GRANARY_RETURN_IF_ERROR(ns_.Load(&open_files));
  GRANARY_RETURN_IF_ERROR(datanode_ids_.Load());
  started_ = env_.Now();
  std::map<uint64_t, uint64_t> last_block_of_open_file;  // block id -> inode id
  for (const proto::Inode& file : open_files) {
    leases_.Add(file.lease_holder(), file.id(), started_);
    if (file.blocks_size() > 0) {
      last_block_of_open_file[file.blocks(file.blocks_size() - 1).block_id()] = file.id();
    }
  }
  GRANARY_RETURN_IF_ERROR(ns_.ForEachBlock([&](const proto::StoredBlock& stored) {
    const bool open = last_block_of_open_file.count(stored.block().block_id()) != 0;
    blocks_.AddBlock(stored.inode_id(), stored.block(), stored.replication(),
                     open ? BlockState::kUnderConstruction : BlockState::kComplete, {});
  }));
  AddRoutes();
  GRANARY_RETURN_IF_ERROR(transport_.Serve(fibers_.Wrap(router_.AsHandler())));
  ready_ = true;
  fibers_.Spawn("replication-monitor", [this] { (void)ReplicationMonitor(); });
  fibers_.Spawn("lease-monitor", [this] { (void)LeaseMonitor(); });
  fibers_.Spawn("orphan-collector", [this] { (void)OrphanCollector(); });
  return Status::Ok();
}

// Each route is the table's method (core/rpc/methods.h), its handler and its request class.
#define GRANARY_ROUTE(method, Handler, access)                                            \
  router_.Add(method, [this](const auto& request, auto* reply, rpc::Exchange& exchange) { \
    return Guarded(method.name, Access::access,                                           \
                   [&] { return Handler(request, reply, exchange); });                    \
  })

void Namenode::AddRoutes() {
  GRANARY_ROUTE(rpc::nn::kMkdirs, Mkdirs, kWrite);
  GRANARY_ROUTE(rpc::nn::kCreate, Create, kWrite);
  GRANARY_ROUTE(rpc::nn::kWriteInline, WriteInline, kWrite);
  GRANARY_ROUTE(rpc::nn::kConvertToBlocks, ConvertToBlocks, kWrite);
  GRANARY_ROUTE(rpc::nn::kAddBlock, AddBlock, kWrite);
  GRANARY_ROUTE(rpc::nn::kComplete, Complete, kWrite);
  GRANARY_ROUTE(rpc::nn::kBumpGeneration, BumpGeneration, kWrite);
  GRANARY_ROUTE(rpc::nn::kUpdatePipeline, UpdatePipeline, kWrite);
  GRANARY_ROUTE(rpc::nn::kRenewLease, RenewLease, kRead);
  GRANARY_ROUTE(rpc::nn::kOpen, Open, kRead);
  GRANARY_ROUTE(rpc::nn::kOpenMany, OpenMany, kRead);
  GRANARY_ROUTE(rpc::nn::kStat, Stat, kRead);
  GRANARY_ROUTE(rpc::nn::kList, List, kRead);
  GRANARY_ROUTE(rpc::nn::kDelete, Delete, kWrite);
  GRANARY_ROUTE(rpc::nn::kRename, Rename, kWrite);
  GRANARY_ROUTE(rpc::nn::kSetPermission, SetPermission, kWrite);
  GRANARY_ROUTE(rpc::nn::kSetOwner, SetOwner, kWrite);
  GRANARY_ROUTE(rpc::nn::kSetReplication, SetReplication, kWrite);
  GRANARY_ROUTE(rpc::nn::kReportBadBlock, ReportBadBlock, kUpdate);
  GRANARY_ROUTE(rpc::nn::kClusterReport, ClusterReport, kNone);
  GRANARY_ROUTE(rpc::nn::kServerDefaults, ServerDefaults, kNone);
  GRANARY_ROUTE(rpc::nn::kRegister, Register, kNone);
  GRANARY_ROUTE(rpc::nn::kHeartbeat, Heartbeat, kNone);
  GRANARY_ROUTE(rpc::nn::kBlockReport, BlockReport, kUpdate);
  GRANARY_ROUTE(rpc::nn::kRecoveryDone, RecoveryDone, kUpdate);
}

#undef GRANARY_ROUTE

Status Namenode::Guarded(std::string_view method, Access access,
                         const std::function<Status()>& body) {
  LockSet global;
  if (options_.global_namespace_lock && access != Access::kNone) {
    global = global_lock_.Acquire(
        {{"fsn", access == Access::kRead ? LockMode::kShared : LockMode::kExclusive}});
  }
  auto cost = options_.cpu_per_method.find(method);
  if (cost != options_.cpu_per_method.end()) GRANARY_RETURN_IF_ERROR(env_.ChargeCpu(cost->second));
  const Status status = body();
  global.Release();
  if (access == Access::kWrite && options_.edit_log_sync > Duration(0) && status.ok()) {
    GRANARY_RETURN_IF_ERROR(SyncEditLog());
  }
  return status;
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
    edit_sync_done_.notify_all();
    GRANARY_RETURN_IF_ERROR(slept);
  }
  return Status::Ok();
}

Status Namenode::Admit(const proto::UserContext& user) {
  if (user.user().empty()) return Status(StatusCode::kPermissionDenied, "request names no user");
  if (user.user().size() > kNameBytesMax) return Invalid("user name too long");
  if (static_cast<size_t>(user.groups_size()) > kGroupsPerUserMax)
    return Invalid("too many groups");
  for (const std::string& group : user.groups()) {
    if (group.empty() || group.size() > kNameBytesMax) return Invalid("bad group name");
  }
  return env_.ChargeCpu(options_.cpu_per_request);
}

Status Namenode::CheckWriter(const proto::Inode& file, const std::string& client) const {
  if (!file.under_construction()) {
    return Status(StatusCode::kStale, file.name() + " is not open for writing");
  }
  if (file.lease_holder() != client) {
    return Status(StatusCode::kLeaseConflict,
                  file.name() + " is held by " + file.lease_holder() + ", not " + client);
  }
  return Status::Ok();
}

// ---- client protocol: namespace ----

Status Namenode::Mkdirs(const proto::MkdirsRequest& r, proto::MkdirsReply*, rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(Admit(r.user()));
  return ns_.Mkdirs(r.user(), r.path(), r.mode(), r.create_parents());
}

Status Namenode::Create(const proto::CreateRequest& r, proto::CreateReply* reply,
                        rpc::Exchange& exchange) {
  GRANARY_RETURN_IF_ERROR(Admit(r.user()));
  CreateArgs args;
  args.mode = r.mode();
  args.overwrite = r.overwrite();
  args.replication = r.replication();
  args.block_bytes = r.block_bytes();
  args.client_name = r.client_name();
  args.complete = r.complete();
  args.create_parents = r.create_parents();
  args.inline_data = std::move(exchange.request_payload);
  args.lease_soft_expired = [this](const std::string& holder) {
    return leases_.SoftExpired(holder, env_.Now(), options_.lease_soft_limit);
  };
  ReleasedBlocks released;
  Result<proto::Inode> file = ns_.Create(r.user(), r.path(), args, &released);
  Release(released);
  if (!file.ok()) return file.status();
  if (!r.complete()) leases_.Add(r.client_name(), file->id(), env_.Now());
  *reply->mutable_status() = Namespace::ToStatus(*file);
  reply->set_inline_threshold_bytes(options_.ns.inline_threshold_bytes);
  return Status::Ok();
}

Status Namenode::WriteInline(const proto::WriteInlineRequest& r, proto::WriteInlineReply*,
                             rpc::Exchange& exchange) {
  GRANARY_RETURN_IF_ERROR(Admit(r.user()));
  const std::string& data = exchange.request_payload;
  if (data.size() > options_.ns.inline_threshold_bytes) {
    return Invalid("inline data exceeds the inline threshold");
  }
  Result<proto::Inode> file =
      ns_.MutateFile(InodeId(r.inode_id()), [&](proto::Inode& inode, WriteBatch& batch) {
        GRANARY_RETURN_IF_ERROR(CheckWriter(inode, r.client_name()));
        if (!inode.inline_data()) return Invalid(inode.name() + " is stored in blocks");
        if (data.empty()) {
          InodeStore::DeleteInline(batch, InodeId(inode.id()));
        } else {
          InodeStore::PutInline(batch, InodeId(inode.id()), data);
        }
        inode.set_length_bytes(data.size());
        inode.set_inline_crc32c(Crc32c(data));
        inode.set_mtime_ns(env_.CalendarNanos());
        if (r.complete()) {
          inode.set_under_construction(false);
          inode.set_lease_holder("");
        }
        return Status::Ok();
      });
  if (!file.ok()) return file.status();
  if (r.complete()) {
    leases_.Remove(r.client_name(), r.inode_id());
  } else {
    leases_.Renew(r.client_name(), env_.Now());
  }
  return Status::Ok();
}

Status Namenode::ConvertToBlocks(const proto::ConvertToBlocksRequest& r,
                                 proto::ConvertToBlocksReply*, rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(Admit(r.user()));
  return ns_
      .MutateFile(InodeId(r.inode_id()),
                  [&](proto::Inode& inode, WriteBatch& batch) {
                    GRANARY_RETURN_IF_ERROR(CheckWriter(inode, r.client_name()));
                    if (!inode.inline_data()) return Status::Ok();
                    InodeStore::DeleteInline(batch, InodeId(inode.id()));
                    inode.set_inline_data(false);
                    inode.clear_inline_crc32c();
                    inode.set_length_bytes(0);
                    return Status::Ok();
                  })
      .status();
}

// ---- client protocol: blocks ----

Status Namenode::AddBlock(const proto::AddBlockRequest& r, proto::AddBlockReply* reply,
                          rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(Admit(r.user()));
  if (static_cast<size_t>(r.excluded_datanodes_size()) > kExcludedDatanodesMax) {
    return Invalid("too many excluded datanodes");
  }
  if (r.client_address().size() > kNameBytesMax) return Invalid("client address too long");
  GRANARY_ASSIGN_OR_RETURN(proto::Inode current, ns_.GetFile(InodeId(r.inode_id())));
  GRANARY_RETURN_IF_ERROR(CheckWriter(current, r.client_name()));
  const std::vector<uint32_t> excluded(r.excluded_datanodes().begin(),
                                       r.excluded_datanodes().end());
  std::vector<uint32_t> targets = datanodes_.ChooseTargets(current.replication(), excluded);
  if (targets.empty()) return Status(StatusCode::kUnavailable, "no live datanode to write to");
  // Just after a start the datanodes are still registering: a short pipeline now would
  // leave the block under-replicated for no reason. The client retries (HDFS's safe mode).
  if (targets.size() < current.replication() &&
      env_.Now() - started_ < options_.datanode_dead_after) {
    return Status(StatusCode::kUnavailable,
                  excluded.empty()
                      ? "namenode starting: datanodes still registering"
                      : "namenode starting: " + std::to_string(targets.size()) + " of " +
                            std::to_string(current.replication()) +
                            " datanodes left after excluding " + std::to_string(excluded.size()));
  }
  GRANARY_ASSIGN_OR_RETURN(uint64_t block_id, ns_.block_ids().Next());
  GRANARY_ASSIGN_OR_RETURN(uint64_t stamp, ns_.generation_stamps().Next());
  proto::BlockRef fresh;
  fresh.set_block_id(block_id);
  fresh.set_generation_stamp(stamp);
  std::optional<proto::BlockRef> committed;
  Result<proto::Inode> file =
      ns_.MutateFile(InodeId(r.inode_id()), [&](proto::Inode& inode, WriteBatch& batch) {
        GRANARY_RETURN_IF_ERROR(CheckWriter(inode, r.client_name()));
        if (inode.inline_data()) return Invalid(inode.name() + " is still inline");
        if (inode.blocks_size() > 0) {
          proto::BlockRef* last = inode.mutable_blocks(inode.blocks_size() - 1);
          if (!r.has_previous() || r.previous().block_id() != last->block_id()) {
            return Invalid("previous block is not the file's last block");
          }
          if (r.previous().length_bytes() > inode.block_bytes()) {
            return Invalid("previous block longer than the block size");
          }
          last->set_length_bytes(r.previous().length_bytes());
          last->set_generation_stamp(
              std::max(last->generation_stamp(), r.previous().generation_stamp()));
          InodeStore::PutBlock(batch, Stored(inode.id(), *last, inode.replication()));
          committed = *last;
        } else if (r.has_previous() && r.previous().block_id() != 0) {
          return Invalid("previous block given for a file without blocks");
        }
        // Every mutation of a file is one store batch, so its block list is bounded.
        if (static_cast<uint32_t>(inode.blocks_size()) >= kBlocksPerFileMax) {
          return Status(StatusCode::kLimitExceeded, inode.name() + " has kBlocksPerFileMax blocks");
        }
        *inode.add_blocks() = fresh;
        inode.set_length_bytes(SumOfBlocks(inode));
        inode.set_mtime_ns(env_.CalendarNanos());
        InodeStore::PutBlock(batch, Stored(inode.id(), fresh, inode.replication()));
        return Status::Ok();
      });
  if (!file.ok()) return file.status();
  // Replicas of the committed block may still be reporting; it completes with what arrives.
  if (committed) blocks_.CompleteBlock(*committed);
  blocks_.AddBlock(file->id(), fresh, file->replication(), BlockState::kUnderConstruction, targets);
  leases_.Renew(r.client_name(), env_.Now());
  proto::LocatedBlock* located = reply->mutable_block();
  *located->mutable_block() = fresh;
  located->set_offset_bytes(file->length_bytes());
  for (uint32_t id : targets) {
    if (const DatanodeRecord* record = datanodes_.Find(id))
      *located->add_replicas() = record->Info();
  }
  return Status::Ok();
}

Status Namenode::Complete(const proto::CompleteRequest& r, proto::CompleteReply* reply,
                          rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(Admit(r.user()));
  GRANARY_ASSIGN_OR_RETURN(proto::Inode current, ns_.GetFile(InodeId(r.inode_id())));
  if (!current.under_construction()) {
    // A retried Complete whose first attempt succeeded.
    if (r.has_last() && current.blocks_size() > 0 &&
        current.blocks(current.blocks_size() - 1).block_id() == r.last().block_id()) {
      return Status::Ok();
    }
  }
  GRANARY_RETURN_IF_ERROR(CheckWriter(current, r.client_name()));
  if (current.blocks_size() > 0) {
    const proto::BlockRef& last = current.blocks(current.blocks_size() - 1);
    if (!r.has_last() || r.last().block_id() != last.block_id()) {
      return Invalid("last block is not the file's last block");
    }
    if (r.last().length_bytes() > current.block_bytes()) return Invalid("last block too long");
    const BlockInfo* info = blocks_.Find(last.block_id());
    uint32_t finalized = 0;
    if (info != nullptr) {
      for (const auto& [datanode, replica] : info->replicas) {
        if (datanodes_.IsLive(datanode) && !replica.corrupt && replica.finalized &&
            replica.generation_stamp == r.last().generation_stamp() &&
            replica.length_bytes == r.last().length_bytes()) {
          ++finalized;
        }
      }
    }
    if (finalized < options_.min_replication) {
      reply->set_retry_later(true);
      return Status::Ok();
    }
  }
  std::optional<proto::BlockRef> completed;
  Result<proto::Inode> file =
      ns_.MutateFile(InodeId(r.inode_id()), [&](proto::Inode& inode, WriteBatch& batch) {
        GRANARY_RETURN_IF_ERROR(CheckWriter(inode, r.client_name()));
        if (inode.blocks_size() > 0) {
          proto::BlockRef* last = inode.mutable_blocks(inode.blocks_size() - 1);
          if (last->block_id() != r.last().block_id()) return Invalid("last block changed");
          last->set_length_bytes(r.last().length_bytes());
          last->set_generation_stamp(r.last().generation_stamp());
          InodeStore::PutBlock(batch, Stored(inode.id(), *last, inode.replication()));
          completed = *last;
          inode.set_length_bytes(SumOfBlocks(inode));
        }
        inode.set_under_construction(false);
        inode.set_lease_holder("");
        inode.set_mtime_ns(env_.CalendarNanos());
        return Status::Ok();
      });
  if (!file.ok()) return file.status();
  if (completed) blocks_.CompleteBlock(*completed);
  leases_.Remove(r.client_name(), r.inode_id());
  return Status::Ok();
}

Status Namenode::BumpGeneration(const proto::BumpGenerationRequest& r,
                                proto::BumpGenerationReply* reply, rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(Admit(r.user()));
  if (static_cast<size_t>(r.excluded_datanodes_size()) > kExcludedDatanodesMax ||
      r.replacements_wanted() > kReplicationMax) {
    return Invalid("too many excluded datanodes or replacements");
  }
  GRANARY_ASSIGN_OR_RETURN(proto::Inode file, ns_.GetFile(InodeId(r.inode_id())));
  GRANARY_RETURN_IF_ERROR(CheckWriter(file, r.client_name()));
  if (file.blocks_size() == 0 ||
      file.blocks(file.blocks_size() - 1).block_id() != r.block().block_id()) {
    return Invalid("block is not the file's last block");
  }
  GRANARY_ASSIGN_OR_RETURN(uint64_t stamp, ns_.generation_stamps().Next());
  reply->set_generation_stamp(stamp);
  std::vector<uint32_t> excluded(r.excluded_datanodes().begin(), r.excluded_datanodes().end());
  if (const BlockInfo* info = blocks_.Find(r.block().block_id())) {
    excluded.insert(excluded.end(), info->pipeline.begin(), info->pipeline.end());
  }
  for (uint32_t id : datanodes_.ChooseTargets(r.replacements_wanted(), excluded)) {
    if (const DatanodeRecord* record = datanodes_.Find(id))
      *reply->add_replacements() = record->Info();
  }
  leases_.Renew(r.client_name(), env_.Now());
  return Status::Ok();
}

Status Namenode::UpdatePipeline(const proto::UpdatePipelineRequest& r, proto::UpdatePipelineReply*,
                                rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(Admit(r.user()));
  if (r.datanodes_size() == 0 || static_cast<uint32_t>(r.datanodes_size()) > kReplicationMax) {
    return Invalid("pipeline of 1..kReplicationMax datanodes expected");
  }
  Result<proto::Inode> file =
      ns_.MutateFile(InodeId(r.inode_id()), [&](proto::Inode& inode, WriteBatch& batch) {
        GRANARY_RETURN_IF_ERROR(CheckWriter(inode, r.client_name()));
        if (inode.blocks_size() == 0) return Invalid("file has no block");
        proto::BlockRef* last = inode.mutable_blocks(inode.blocks_size() - 1);
        if (last->block_id() != r.block().block_id()) return Invalid("not the last block");
        if (r.block().generation_stamp() <= last->generation_stamp()) {
          return Status(StatusCode::kStale, "generation stamp not newer");
        }
        if (r.block().length_bytes() > inode.block_bytes()) return Invalid("block too long");
        *last = r.block();
        InodeStore::PutBlock(batch, Stored(inode.id(), *last, inode.replication()));
        return Status::Ok();
      });
  if (!file.ok()) return file.status();
  blocks_.UpdatePipeline(r.block(), {r.datanodes().begin(), r.datanodes().end()});
  leases_.Renew(r.client_name(), env_.Now());
  return Status::Ok();
}

Status Namenode::RenewLease(const proto::RenewLeaseRequest& r, proto::RenewLeaseReply*,
                            rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(Admit(r.user()));
  leases_.Renew(r.client_name(), env_.Now());
  return Status::Ok();
}

// ---- client protocol: reads ----

proto::LocatedBlock Namenode::Locate(const proto::BlockRef& block, uint64_t offset,
                                     const std::string& client_address) {
  proto::LocatedBlock located;
  *located.mutable_block() = block;
  located.set_offset_bytes(offset);
  std::vector<uint32_t> good = blocks_.GoodReplicas(block.block_id());
  datanodes_.SortByDistance(good, client_address);
  for (uint32_t id : good) {
    if (const DatanodeRecord* record = datanodes_.Find(id))
      *located.add_replicas() = record->Info();
  }
  if (good.empty()) {
    if (const BlockInfo* info = blocks_.Find(block.block_id())) {
      located.set_corrupt(!info->replicas.empty());
    }
  }
  return located;
}

Status Namenode::Open(const proto::OpenRequest& r, proto::OpenReply* reply,
                      rpc::Exchange& exchange) {
  GRANARY_RETURN_IF_ERROR(Admit(r.user()));
  if (r.client_address().size() > kNameBytesMax) return Invalid("client address too long");
  GRANARY_ASSIGN_OR_RETURN(Namespace::OpenResult opened, ns_.Open(r.user(), r.path()));
  *reply->mutable_status() = Namespace::ToStatus(opened.inode);
  if (opened.inode.inline_data()) {
    exchange.reply_payload = std::move(opened.inline_data);
    return Status::Ok();
  }
  uint64_t offset = 0;
  for (const proto::BlockRef& block : opened.inode.blocks()) {
    *reply->add_blocks() = Locate(block, offset, r.client_address());
    offset += block.length_bytes();
  }
  return Status::Ok();
}

static_assert(kOpenManyPayloadBytesMax <= kPayloadBytesMax);
static_assert(kOpenManyReplyBodyBytesMax <= kMessageBodyBytesMax);
// The first file of a batch always fits.
static_assert(kInlineThresholdBytesMax <= kOpenManyPayloadBytesMax);

Status Namenode::OpenMany(const proto::OpenManyRequest& r, proto::OpenManyReply* reply,
                          rpc::Exchange& exchange) {
  GRANARY_RETURN_IF_ERROR(Admit(r.user()));
  if (r.client_address().size() > kNameBytesMax) return Invalid("client address too long");
  if (r.paths_size() == 0) return Invalid("nn.OpenMany names no path");
  if (static_cast<size_t>(r.paths_size()) > kOpenManyPathsMax) {
    return Invalid("nn.OpenMany names " + std::to_string(r.paths_size()) + " paths; at most " +
                   std::to_string(kOpenManyPathsMax));
  }
  size_t path_bytes = 0;
  for (const std::string& path : r.paths()) path_bytes += path.size();
  if (path_bytes > kOpenManyPathBytesMax) {
    return Invalid("nn.OpenMany paths total " + std::to_string(path_bytes) + " bytes; at most " +
                   std::to_string(kOpenManyPathBytesMax));
  }
  const std::shared_ptr<Namespace::OpenView> view = ns_.NewOpenView();
  // Inline files' bytes go straight from the store into the payload, in the order of the
  // files; room for the largest answer is taken at once, not by a chain of regrowths.
  std::string& payload = exchange.reply_payload;
  payload.clear();
  payload.reserve(std::min<uint64_t>(
      kOpenManyPayloadBytesMax + kInlineThresholdBytesMax,
      static_cast<uint64_t>(r.paths_size()) * options_.ns.inline_threshold_bytes));
  size_t body_bytes = 0;
  for (const std::string& path : r.paths()) {
    const size_t payload_before = payload.size();
    Result<Namespace::OpenResult> opened = ns_.Open(r.user(), path, *view, &payload);
    // A namenode going down fails the whole batch, as it would fail a lone Open.
    if (opened.code() == StatusCode::kNodeDown) return opened.status();
    proto::OpenedFile file;
    if (!opened.ok()) {
      file.set_status_code(static_cast<int32_t>(opened.code()));
      file.set_status_message(opened.status().message());
    } else {
      *file.mutable_status() = Namespace::ToStatus(opened->inode);
      if (opened->inode.inline_data()) {
        file.set_inline_bytes(payload.size() - payload_before);
      } else {
        uint64_t offset = 0;
        for (const proto::BlockRef& block : opened->inode.blocks()) {
          *file.add_blocks() = Locate(block, offset, r.client_address());
          offset += block.length_bytes();
        }
      }
    }
    // Its tag and length prefix in the reply take at most 11 bytes more.
    const size_t file_bytes = file.ByteSizeLong() + 11;
    if (reply->files_size() > 0 && (payload.size() > kOpenManyPayloadBytesMax ||
                                    body_bytes + file_bytes > kOpenManyReplyBodyBytesMax)) {
      payload.resize(payload_before);
      break;  // the client asks again for the rest
    }
    body_bytes += file_bytes;
    *reply->add_files() = std::move(file);
  }
  assert(reply->files_size() > 0);
  return Status::Ok();
}

Status Namenode::Stat(const proto::StatRequest& r, proto::StatReply* reply, rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(Admit(r.user()));
  GRANARY_ASSIGN_OR_RETURN(*reply->mutable_status(), ns_.Stat(r.user(), r.path()));
  return Status::Ok();
}

Status Namenode::List(const proto::ListRequest& r, proto::ListReply* reply, rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(Admit(r.user()));
  GRANARY_ASSIGN_OR_RETURN(Namespace::ListPage page,
                           ns_.List(r.user(), r.path(), r.start_after(), r.limit()));
  for (proto::FileStatus& entry : page.entries) *reply->add_entries() = std::move(entry);
  reply->set_has_more(page.has_more);
  return Status::Ok();
}

Status Namenode::Delete(const proto::DeleteRequest& r, proto::DeleteReply*, rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(Admit(r.user()));
  ReleasedBlocks released;
  const Status status = ns_.Delete(r.user(), r.path(), r.recursive(), &released);
  Release(released);
  return status;
}

Status Namenode::Rename(const proto::RenameRequest& r, proto::RenameReply*, rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(Admit(r.user()));
  ReleasedBlocks released;
  const Status status = ns_.Rename(r.user(), r.source(), r.destination(), &released);
  Release(released);
  return status;
}

Status Namenode::SetPermission(const proto::SetPermissionRequest& r, proto::SetAttributeReply*,
                               rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(Admit(r.user()));
  return ns_.SetPermission(r.user(), r.path(), r.mode());
}

Status Namenode::SetOwner(const proto::SetOwnerRequest& r, proto::SetAttributeReply*,
                          rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(Admit(r.user()));
  if (r.owner().empty() && r.group().empty()) return Invalid("neither owner nor group given");
  return ns_.SetOwner(r.user(), r.path(), r.owner(), r.group());
}

Status Namenode::SetReplication(const proto::SetReplicationRequest& r, proto::SetAttributeReply*,
                                rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(Admit(r.user()));
  GRANARY_ASSIGN_OR_RETURN(proto::Inode file,
                           ns_.SetReplication(r.user(), r.path(), r.replication()));
  for (const proto::BlockRef& block : file.blocks()) {
    blocks_.SetReplication(block.block_id(), file.replication());
  }
  return Status::Ok();
}

Status Namenode::ReportBadBlock(const proto::ReportBadBlockRequest& r, proto::ReportBadBlockReply*,
                                rpc::Exchange&) {
  if (!datanodes_.Find(r.datanode_id())) return Invalid("unknown datanode");
  blocks_.ReportCorrupt(r.datanode_id(), r.block());
  return Status::Ok();
}

Status Namenode::ClusterReport(const proto::ClusterReportRequest&, proto::ClusterReportReply* reply,
                               rpc::Exchange&) {
  for (const auto& [id, record] : datanodes_.all()) {
    proto::DatanodeReport* dn = reply->add_datanodes();
    *dn->mutable_info() = record.Info();
    dn->set_live(record.live);
    dn->set_capacity_bytes(record.capacity_bytes);
    dn->set_used_bytes(record.used_bytes);
    dn->set_blocks(blocks_.ReplicasOn(id));
    dn->set_last_heartbeat_ns(ToNanos(record.last_heartbeat));
  }
  const NamespaceCounts counts = ns_.counts();
  reply->set_files(counts.files);
  reply->set_directories(counts.directories);
  const BlockCounts blocks = blocks_.Counts();
  reply->set_blocks(blocks.blocks);
  reply->set_under_replicated_blocks(blocks.under_replicated);
  reply->set_corrupt_blocks(blocks.corrupt);
  reply->set_missing_blocks(blocks.missing);
  reply->set_pending_replications(blocks.pending_replications);
  return Status::Ok();
}

Status Namenode::ServerDefaults(const proto::ServerDefaultsRequest&,
                                proto::ServerDefaultsReply* reply, rpc::Exchange&) {
  reply->set_inline_threshold_bytes(options_.ns.inline_threshold_bytes);
  reply->set_replication(options_.ns.default_replication);
  reply->set_block_bytes(options_.ns.default_block_bytes);
  return Status::Ok();
}

// ---- datanode protocol ----

Status Namenode::Register(const proto::RegisterRequest& r, proto::RegisterReply* reply,
                          rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(DatanodeManager::ValidateRegistration(r));
  // A datanode's id is stable for its storage id, across namenode restarts too: reports sent
  // with an id handed out by an earlier incarnation must not land on another datanode.
  InodeStore records(store_);
  uint32_t id = 0;
  Result<uint64_t> known = records.GetDatanodeId(r.storage_id());
  if (known.ok()) {
    id = static_cast<uint32_t>(*known);
  } else if (known.code() == StatusCode::kNotFound) {
    GRANARY_ASSIGN_OR_RETURN(uint64_t fresh, datanode_ids_.Next());
    if (fresh > UINT32_MAX) return Status(StatusCode::kLimitExceeded, "datanode ids exhausted");
    WriteBatch batch;
    InodeStore::PutDatanodeId(batch, r.storage_id(), fresh);
    GRANARY_RETURN_IF_ERROR(records.Write(batch));
    id = static_cast<uint32_t>(fresh);
  } else {
    return known.status();
  }
  GRANARY_RETURN_IF_ERROR(datanodes_.Register(id, r, env_.Now()));
  // What the namenode knew of an earlier incarnation of this datanode is void: its full
  // report comes next.
  blocks_.DatanodeDead(id);
  reply->set_datanode_id(id);
  reply->set_heartbeat_interval_ns(options_.heartbeat_interval.count());
  return Status::Ok();
}

Status Namenode::Heartbeat(const proto::HeartbeatRequest& r, proto::HeartbeatReply* reply,
                           rpc::Exchange&) {
  const Status known = datanodes_.Heartbeat(r, env_.Now());
  if (known.code() == StatusCode::kNotFound) {
    reply->add_commands()->set_kind(proto::DatanodeCommand::KIND_REREGISTER);
    return Status::Ok();
  }
  GRANARY_RETURN_IF_ERROR(known);
  for (proto::DatanodeCommand& command : datanodes_.TakeCommands(r.datanode_id())) {
    *reply->add_commands() = std::move(command);
  }
  return Status::Ok();
}

Status Namenode::BlockReport(const proto::BlockReportRequest& r, proto::BlockReportReply*,
                             rpc::Exchange&) {
  if (!datanodes_.IsLive(r.datanode_id())) {
    return Status(StatusCode::kNotFound, "unknown datanode: register again");
  }
  if (options_.cpu_per_reported_block > Duration(0)) {
    GRANARY_RETURN_IF_ERROR(env_.ChargeCpu(options_.cpu_per_reported_block * r.replicas_size()));
  }
  if (r.full()) {
    blocks_.FullReport(r.datanode_id(), {r.replicas().begin(), r.replicas().end()});
  } else {
    for (const proto::ReplicaReport& replica : r.replicas()) {
      blocks_.ReportReplica(r.datanode_id(), replica.block(), replica.finalized());
    }
  }
  for (const proto::BlockRef& deleted : r.deleted()) {
    blocks_.ReportDeleted(r.datanode_id(), deleted);
  }
  return Status::Ok();
}

Status Namenode::RecoveryDone(const proto::RecoveryDoneRequest& r, proto::RecoveryDoneReply*,
                              rpc::Exchange&) {
  auto it = recoveries_.find(r.block().block_id());
  if (it == recoveries_.end()) return Status::Ok();  // late or duplicate
  const Recovery recovery = it->second;
  recoveries_.erase(it);
  if (r.failed()) {
    ++recovery_failures_[r.block().block_id()];
    return Status::Ok();  // the lease monitor tries again
  }
  recovery_failures_.erase(r.block().block_id());
  Result<proto::Inode> file =
      ns_.MutateFile(InodeId(recovery.inode_id), [&](proto::Inode& inode, WriteBatch& batch) {
        if (!inode.under_construction() || inode.blocks_size() == 0) {
          return Status(StatusCode::kStale, "file no longer being written");
        }
        proto::BlockRef* last = inode.mutable_blocks(inode.blocks_size() - 1);
        if (last->block_id() != r.block().block_id()) return Invalid("not the last block");
        *last = r.block();
        InodeStore::PutBlock(batch, Stored(inode.id(), *last, inode.replication()));
        inode.set_length_bytes(SumOfBlocks(inode));
        inode.set_under_construction(false);
        inode.set_lease_holder("");
        return Status::Ok();
      });
  if (!file.ok()) return Status::Ok();
  blocks_.UpdatePipeline(r.block(), {r.datanodes().begin(), r.datanodes().end()});
  blocks_.CompleteBlock(r.block());
  leases_.Remove(recovery.client, recovery.inode_id);
  return Status::Ok();
}

// ---- monitors ----

Status Namenode::HeartbeatMonitor() {
  for (;;) {
    GRANARY_RETURN_IF_ERROR(env_.SleepFor(options_.heartbeat_interval));
    for (uint32_t dead : datanodes_.ExpireSilent(env_.Now(), options_.datanode_dead_after)) {
      blocks_.DatanodeDead(dead);
    }
  }
}

Status Namenode::ReplicationMonitor() {
  for (;;) {
    GRANARY_RETURN_IF_ERROR(env_.SleepFor(options_.replication_check_interval));
    if (env_.Now() - started_ < options_.datanode_dead_after) continue;  // reports first
    blocks_.Monitor(env_.Now());
  }
}

Status Namenode::LeaseMonitor() {
  for (;;) {
    GRANARY_RETURN_IF_ERROR(env_.SleepFor(options_.lease_check_interval));
    const Instant now = env_.Now();
    for (auto it = recoveries_.begin(); it != recoveries_.end();) {
      it = now > it->second.deadline ? recoveries_.erase(it) : std::next(it);
    }
    for (const auto& [client, inode] : leases_.Expired(now, options_.lease_hard_limit)) {
      RecoverFile(client, inode);
    }
  }
}

void Namenode::RecoverFile(const std::string& client, uint64_t inode_id) {
  Result<proto::Inode> file = ns_.GetFile(InodeId(inode_id));
  if (!file.ok() || !file->under_construction() || file->lease_holder() != client) {
    if (file.ok() || file.code() == StatusCode::kNotFound) leases_.Remove(client, inode_id);
    return;
  }
  const BlockInfo* last = file->blocks_size() == 0
                              ? nullptr
                              : blocks_.Find(file->blocks(file->blocks_size() - 1).block_id());
  // A block no replica can recover after kRecoveryAttemptsMax tries is given up: its bytes
  // were never acknowledged (the file was never closed), and the file must not stay open.
  const bool hopeless = last != nullptr && recovery_failures_[last->id] >= kRecoveryAttemptsMax;
  if (last != nullptr && last->state == BlockState::kUnderConstruction && !hopeless) {
    if (recoveries_.count(last->id)) return;  // in progress
    std::vector<uint32_t> holders;
    for (const auto& [datanode, replica] : last->replicas) {
      if (datanodes_.IsLive(datanode)) holders.push_back(datanode);
    }
    for (uint32_t datanode : last->pipeline) {
      if (datanodes_.IsLive(datanode) &&
          std::find(holders.begin(), holders.end(), datanode) == holders.end()) {
        holders.push_back(datanode);
      }
    }
    if (!holders.empty()) {
      Result<uint64_t> stamp = ns_.generation_stamps().Next();
      if (!stamp.ok()) return;
      proto::DatanodeCommand command;
      command.set_kind(proto::DatanodeCommand::KIND_RECOVER);
      command.mutable_block()->set_block_id(last->id);
      command.mutable_block()->set_generation_stamp(last->generation_stamp);
      command.mutable_block()->set_length_bytes(last->length_bytes);
      command.set_recovery_generation_stamp(*stamp);
      for (size_t i = 1; i < holders.size(); ++i) {
        if (const DatanodeRecord* record = datanodes_.Find(holders[i])) {
          *command.add_targets() = record->Info();
        }
      }
      recoveries_[last->id] = Recovery{inode_id, client, env_.Now() + options_.recovery_timeout};
      datanodes_.QueueCommand(holders[0], std::move(command));
      return;
    }
  }
  // No block being written, or one nobody holds: close the file with what is committed.
  const uint64_t dropped_block =
      (last != nullptr && last->state == BlockState::kUnderConstruction) ? last->id : 0;
  ReleasedBlocks released;
  Result<proto::Inode> closed =
      ns_.MutateFile(InodeId(inode_id), [&](proto::Inode& inode, WriteBatch& batch) {
        if (!inode.under_construction()) return Status(StatusCode::kStale, "closed already");
        if (dropped_block != 0 && inode.blocks_size() > 0 &&
            inode.blocks(inode.blocks_size() - 1).block_id() == dropped_block) {
          released.blocks.push_back(inode.blocks(inode.blocks_size() - 1));
          InodeStore::DeleteBlock(batch, BlockId(dropped_block));
          inode.mutable_blocks()->RemoveLast();
          inode.set_length_bytes(SumOfBlocks(inode));
        }
        inode.set_under_construction(false);
        inode.set_lease_holder("");
        return Status::Ok();
      });
  if (closed.ok() || closed.code() == StatusCode::kStale ||
      closed.code() == StatusCode::kNotFound) {
    if (last != nullptr) recovery_failures_.erase(last->id);
    Release(released);
    leases_.Remove(client, inode_id);
  }
}

Status Namenode::OrphanCollector() {
  for (;;) {
    GRANARY_RETURN_IF_ERROR(env_.SleepFor(options_.orphan_collect_interval));
    ReleasedBlocks released;
    Result<size_t> removed = ns_.CollectOrphans(kOrphanCollectBatch, &released);
    Release(released);
    if (removed.code() == StatusCode::kNodeDown) return removed.status();
  }
}

}  // namespace granary
