#include "core/namenode/namespace_service.h"

#include <algorithm>
#include <cassert>
#include <memory>
#include <optional>
#include <vector>

#include "core/common/crc32c.h"
#include "core/common/limits.h"
#include "core/namenode/inode_store.h"

namespace granary {
namespace {

const auto Invalid = NamenodeContext::Invalid;

}  // namespace

Status NamespaceService::Mkdirs(const proto::MkdirsRequest& r, proto::MkdirsReply*,
                                rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  return ctx_.ns.Mkdirs(r.user(), r.path(), r.mode(), r.create_parents());
}

Status NamespaceService::Create(const proto::CreateRequest& r, proto::CreateReply* reply,
                                rpc::Exchange& exchange) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  CreateArgs args;
  args.mode = r.mode();
  args.overwrite = r.overwrite();
  args.replication = r.replication();
  args.block_bytes = r.block_bytes();
  args.client_name = r.client_name();
  args.complete = r.complete();
  args.create_parents = r.create_parents();
  args.inline_data = std::move(exchange.request_payload);
  args.lease_soft_expired = [this](const std::string& client_name) {
    return ctx_.leases.SoftExpired(client_name, ctx_.env.Now(), ctx_.options.lease_soft_limit);
  };
  // The reply is filled before the commit: the retry cache records it with the file.
  args.before_commit = [&](const proto::Inode& file) {
    *reply->mutable_status() = Namespace::ToStatus(file);
    reply->set_inline_threshold_bytes(ctx_.options.ns.inline_threshold_bytes);
  };
  ReleasedBlocks released;
  Result<proto::Inode> file = ctx_.ns.Create(r.user(), r.path(), args, &released);
  ctx_.Release(released);
  if (!file.ok()) return file.status();
  // A lease covers exactly the files open for writing.
  assert(file->under_construction() != r.complete());
  if (!r.complete()) ctx_.leases.Add(r.client_name(), InodeId(file->id()), ctx_.env.Now());
  assert(reply->status().inode_id() == file->id());
  return Status::Ok();
}

Status NamespaceService::WriteInline(const proto::WriteInlineRequest& r, proto::WriteInlineReply*,
                                     rpc::Exchange& exchange) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  const std::string& data = exchange.request_payload;
  if (data.size() > ctx_.options.ns.inline_threshold_bytes) {
    return Invalid("inline data exceeds the inline threshold");
  }
  Result<proto::Inode> file =
      ctx_.ns.MutateFile(InodeId(r.inode_id()), [&](proto::Inode& inode, WriteBatch& batch) {
        GRANARY_RETURN_IF_ERROR(NamenodeContext::CheckWriter(inode, r.client_name()));
        if (!inode.inline_data()) return Invalid(inode.name() + " is stored in blocks");
        if (data.empty()) {
          InodeStore::DeleteInline(batch, InodeId(inode.id()));
        } else {
          InodeStore::PutInline(batch, InodeId(inode.id()), data);
        }
        inode.set_length_bytes(data.size());
        inode.set_inline_crc32c(Crc32c(data));
        inode.set_mtime_ns(ctx_.env.CalendarNanos());
        if (r.complete()) {
          inode.set_under_construction(false);
          inode.set_lease_holder("");
        }
        return Status::Ok();
      });
  if (!file.ok()) return file.status();
  assert(file->length_bytes() == data.size());
  assert(file->under_construction() != r.complete());
  if (r.complete()) {
    ctx_.leases.Remove(r.client_name(), InodeId(r.inode_id()));
  } else {
    ctx_.leases.Renew(r.client_name(), ctx_.env.Now());
  }
  return Status::Ok();
}

proto::LocatedBlock NamespaceService::Locate(const proto::BlockRef& block, uint64_t offset,
                                             const std::string& client_address) {
  proto::LocatedBlock located;
  *located.mutable_block() = block;
  located.set_offset_bytes(offset);
  std::vector<uint32_t> good = ctx_.blocks.GoodReplicas(BlockId(block.block_id()));
  // A block being written is also read from its pipeline (readers of a flushed file), whose
  // datanodes report its replicas only once finalized.
  const BlockInfo* info = ctx_.blocks.Find(BlockId(block.block_id()));
  if (info != nullptr && info->state == BlockState::kUnderConstruction) {
    for (uint32_t id : info->pipeline) {
      if (ctx_.datanodes.IsLive(id) && std::find(good.begin(), good.end(), id) == good.end()) {
        good.push_back(id);
      }
    }
  }
  ctx_.datanodes.SortByDistance(good, client_address);
  for (uint32_t id : good) {
    if (const DatanodeRecord* record = ctx_.datanodes.Find(id))
      *located.add_replicas() = record->Info();
  }
  if (good.empty() && info != nullptr) located.set_corrupt(!info->replicas.empty());
  return located;
}

Status NamespaceService::Open(const proto::OpenRequest& r, proto::OpenReply* reply,
                              rpc::Exchange& exchange) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  if (r.client_address().size() > kNameBytesMax) return Invalid("client address too long");
  GRANARY_ASSIGN_OR_RETURN(Namespace::OpenResult opened, ctx_.ns.Open(r.user(), r.path()));
  *reply->mutable_status() = Namespace::ToStatus(opened.inode);
  if (opened.inode.inline_data()) {
    exchange.reply_payload = std::move(opened.inline_data);
    return Status::Ok();
  }
  uint64_t offset = 0;
  bool unreported = false;
  for (const proto::BlockRef& block : opened.inode.blocks()) {
    *reply->add_blocks() = Locate(block, offset, r.client_address());
    ctx_.SignLocated(*reply->mutable_blocks(reply->blocks_size() - 1), r.user(),
                     BlockAccess::kRead);
    const proto::LocatedBlock& located = reply->blocks(reply->blocks_size() - 1);
    unreported |= located.replicas().empty() && !located.corrupt();
    offset += block.length_bytes();
  }
  // A namenode that just became the active (HA) knows the blocks from the journal but learns
  // their replicas from the datanodes' reports, a few heartbeats later: until then a block
  // without a known replica means "not reported yet", not "lost", so the client is told to
  // retry (kUnavailable) rather than fail the read. HDFS's safe mode, for the same reason.
  // A lone namenode keeps its behaviour after a restart (and the simulator's traces theirs).
  if (unreported && ctx_.options.fencing_token != 0 && ctx_.Starting()) {
    return Status(StatusCode::kUnavailable,
                  "the namenode just became active: the datanodes have not reported the "
                  "replicas of " +
                      r.path() + " yet");
  }
  return Status::Ok();
}

static_assert(kOpenManyPayloadBytesMax <= kPayloadBytesMax);
static_assert(kOpenManyReplyBodyBytesMax <= kMessageBodyBytesMax);
// The first file of a batch always fits.
static_assert(kInlineThresholdBytesMax <= kOpenManyPayloadBytesMax);

Status NamespaceService::OpenMany(const proto::OpenManyRequest& r, proto::OpenManyReply* reply,
                                  rpc::Exchange& exchange) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
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
  const std::shared_ptr<Namespace::OpenView> view = ctx_.ns.NewOpenView();
  // Inline files' bytes go straight from the store into the payload, in the order of the
  // files; room for the largest answer is taken at once, not by a chain of regrowths.
  std::string& payload = exchange.reply_payload;
  payload.clear();
  payload.reserve(std::min<uint64_t>(
      kOpenManyPayloadBytesMax + kInlineThresholdBytesMax,
      static_cast<uint64_t>(r.paths_size()) * ctx_.options.ns.inline_threshold_bytes));
  size_t body_bytes = 0;
  for (const std::string& path : r.paths()) {
    const size_t payload_before = payload.size();
    Result<Namespace::OpenResult> opened = ctx_.ns.Open(r.user(), path, *view, &payload);
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
          ctx_.SignLocated(*file.mutable_blocks(file.blocks_size() - 1), r.user(),
                           BlockAccess::kRead);
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

Status NamespaceService::Stat(const proto::StatRequest& r, proto::StatReply* reply,
                              rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  GRANARY_ASSIGN_OR_RETURN(*reply->mutable_status(), ctx_.ns.Stat(r.user(), r.path()));
  return Status::Ok();
}

Status NamespaceService::List(const proto::ListRequest& r, proto::ListReply* reply,
                              rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  GRANARY_ASSIGN_OR_RETURN(Namespace::ListPage page,
                           ctx_.ns.List(r.user(), r.path(), r.start_after(), r.limit()));
  for (proto::FileStatus& entry : page.entries) *reply->add_entries() = std::move(entry);
  reply->set_has_more(page.has_more);
  return Status::Ok();
}

Status NamespaceService::Delete(const proto::DeleteRequest& r, proto::DeleteReply*,
                                rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  ReleasedBlocks released;
  const Status status = ctx_.ns.Delete(r.user(), r.path(), r.recursive(), &released);
  ctx_.Release(released);
  return status;
}

Status NamespaceService::Rename(const proto::RenameRequest& r, proto::RenameReply*,
                                rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  ReleasedBlocks released;
  const Status status = ctx_.ns.Rename(r.user(), r.source(), r.destination(), &released);
  ctx_.Release(released);
  return status;
}

Status NamespaceService::SetPermission(const proto::SetPermissionRequest& r,
                                       proto::SetAttributeReply*, rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  return ctx_.ns.SetPermission(r.user(), r.path(), r.mode());
}

Status NamespaceService::SetTimes(const proto::SetTimesRequest& r, proto::SetAttributeReply*,
                                  rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  return ctx_.ns.SetTimes(r.user(), r.path(), r.mtime_ns(), r.atime_ns());
}

Status NamespaceService::SetOwner(const proto::SetOwnerRequest& r, proto::SetAttributeReply*,
                                  rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  if (r.owner().empty() && r.group().empty()) return Invalid("neither owner nor group given");
  return ctx_.ns.SetOwner(r.user(), r.path(), r.owner(), r.group());
}

Status NamespaceService::SetQuota(const proto::SetQuotaRequest& r, proto::SetQuotaReply*,
                                  rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  std::optional<uint64_t> names_max;
  std::optional<uint64_t> bytes_max;
  if (r.has_names_max()) names_max = r.names_max();
  if (r.has_bytes_max()) bytes_max = r.bytes_max();
  return ctx_.ns.SetQuota(r.user(), r.path(), names_max, bytes_max, r.clear());
}

Status NamespaceService::GetQuota(const proto::GetQuotaRequest& r, proto::GetQuotaReply* reply,
                                  rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  GRANARY_ASSIGN_OR_RETURN(const Namespace::QuotaReport report,
                           ctx_.ns.GetQuota(r.user(), r.path()));
  reply->set_has_quota(report.has_quota);
  reply->set_names_max(report.state.names_max);
  reply->set_bytes_max(report.state.bytes_max);
  reply->set_names_used(report.state.used.names);
  reply->set_bytes_used(report.state.used.bytes);
  return Status::Ok();
}

Status NamespaceService::SetReplication(const proto::SetReplicationRequest& r,
                                        proto::SetAttributeReply*, rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  GRANARY_ASSIGN_OR_RETURN(proto::Inode file,
                           ctx_.ns.SetReplication(r.user(), r.path(), r.replication()));
  for (const proto::BlockRef& block : file.blocks()) {
    ctx_.blocks.SetReplication(BlockId(block.block_id()), file.replication());
  }
  return Status::Ok();
}

Status NamespaceService::ReportBadBlock(const proto::ReportBadBlockRequest& r,
                                        proto::ReportBadBlockReply*, rpc::Exchange&) {
  if (!ctx_.datanodes.Find(r.datanode_id())) return Invalid("unknown datanode");
  if (r.from_client()) {
    // On a client's word nothing changes here: the datanode re-reads the replica and reports
    // it itself if it is bad (a client key could otherwise have every replica re-made).
    proto::DatanodeCommand verify;
    verify.set_kind(proto::DatanodeCommand::KIND_VERIFY);
    *verify.mutable_block() = r.block();
    ctx_.datanodes.QueueCommand(r.datanode_id(), std::move(verify));
    return Status::Ok();
  }
  ctx_.blocks.ReportCorrupt(r.datanode_id(), r.block());
  return Status::Ok();
}

Status NamespaceService::ClusterReport(const proto::ClusterReportRequest&,
                                       proto::ClusterReportReply* reply, rpc::Exchange&) {
  for (const auto& [id, record] : ctx_.datanodes.all()) {
    proto::DatanodeReport* dn = reply->add_datanodes();
    *dn->mutable_info() = record.Info();
    dn->set_live(record.live);
    dn->set_capacity_bytes(record.capacity_bytes);
    dn->set_used_bytes(record.used_bytes);
    dn->set_blocks(ctx_.blocks.ReplicasOn(id));
    dn->set_last_heartbeat_ns(ToNanos(record.last_heartbeat));
  }
  const NamespaceCounts counts = ctx_.ns.counts();
  reply->set_files(counts.files);
  reply->set_directories(counts.directories);
  const BlockCounts blocks = ctx_.blocks.Counts();
  reply->set_blocks(blocks.blocks);
  reply->set_under_replicated_blocks(blocks.under_replicated);
  reply->set_corrupt_blocks(blocks.corrupt);
  reply->set_missing_blocks(blocks.missing);
  reply->set_pending_replications(blocks.pending_replications);
  return Status::Ok();
}

Status NamespaceService::ServerDefaults(const proto::ServerDefaultsRequest&,
                                        proto::ServerDefaultsReply* reply, rpc::Exchange&) {
  reply->set_inline_threshold_bytes(ctx_.options.ns.inline_threshold_bytes);
  reply->set_replication(ctx_.options.ns.default_replication);
  reply->set_block_bytes(ctx_.options.ns.default_block_bytes);
  return Status::Ok();
}

}  // namespace granary
