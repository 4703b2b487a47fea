#include "core/namenode/block_write_service.h"

#include <algorithm>
#include <cassert>
#include <optional>
#include <vector>

#include "core/common/limits.h"
#include "core/namenode/inode_store.h"
#include "core/namenode/permission.h"

namespace granary {
namespace {

const auto Invalid = NamenodeContext::Invalid;

// AddBlock on a file still inline: its conversion block (nn.ConvertToBlocks), which replaces
// an earlier one (a retry). The file's bytes stay inline until the conversion.
Status AddConversionBlock(const proto::AddBlockRequest& r, const proto::BlockRef& fresh,
                          proto::Inode& inode, WriteBatch& batch, ReleasedBlocks& released) {
  if (r.has_previous() && r.previous().block_id() != 0) {
    return Invalid(inode.name() + " is still inline: it has no previous block");
  }
  for (const proto::BlockRef& stale : inode.blocks()) {
    InodeStore::DeleteBlock(batch, BlockId(stale.block_id()));
    released.blocks.push_back(stale);
  }
  inode.clear_blocks();
  *inode.add_blocks() = fresh;
  InodeStore::PutBlock(batch, NamenodeContext::Stored(inode.id(), fresh, inode.replication()));
  return Status::Ok();
}

}  // namespace

Status BlockWriteService::ConvertToBlocks(const proto::ConvertToBlocksRequest& r,
                                          proto::ConvertToBlocksReply*, rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  Result<proto::Inode> file = ctx_.ns.MutateFile(InodeId(r.inode_id()), [&](proto::Inode& inode,
                                                                            WriteBatch& batch) {
    GRANARY_RETURN_IF_ERROR(NamenodeContext::CheckWriter(inode, r.client_name()));
    if (!inode.inline_data()) return Status::Ok();  // converted already (a retry)
    if (r.has_block()) {
      // The conversion block (AddBlock on the inline file) holds the inline bytes.
      if (inode.blocks_size() != 1 || inode.blocks(0).block_id() != r.block().block_id()) {
        return Invalid("block is not the file's conversion block");
      }
      if (r.block().length_bytes() != inode.length_bytes()) {
        return Invalid("conversion block holds " + std::to_string(r.block().length_bytes()) +
                       " bytes, the inline file " + std::to_string(inode.length_bytes()));
      }
      proto::BlockRef* block = inode.mutable_blocks(0);
      block->set_length_bytes(r.block().length_bytes());
      block->set_generation_stamp(
          std::max(block->generation_stamp(), r.block().generation_stamp()));
      InodeStore::PutBlock(batch, NamenodeContext::Stored(inode.id(), *block, inode.replication()));
    } else if (inode.blocks_size() > 0) {
      return Invalid("conversion without the file's conversion block");
    }
    InodeStore::DeleteInline(batch, InodeId(inode.id()));
    inode.set_inline_data(false);
    inode.clear_inline_crc32c();
    inode.set_length_bytes(NamenodeContext::SumOfBlocks(inode));
    return Status::Ok();
  });
  if (!file.ok()) return file.status();
  ctx_.leases.Renew(r.client_name(), ctx_.env.Now());
  return Status::Ok();
}

Result<std::vector<uint32_t>> BlockWriteService::ChoosePipeline(const proto::AddBlockRequest& r,
                                                                const proto::Inode& current) {
  const std::vector<uint32_t> excluded(r.excluded_datanodes().begin(),
                                       r.excluded_datanodes().end());
  std::vector<uint32_t> targets = ctx_.datanodes.ChooseTargets(current.replication(), excluded);
  if (targets.empty()) return Status(StatusCode::kUnavailable, "no live datanode to write to");
  // Just after a start the datanodes are still registering: a short pipeline now would
  // leave the block under-replicated for no reason. The client retries (HDFS's safe mode).
  if (targets.size() < current.replication() && ctx_.Starting()) {
    return Status(StatusCode::kUnavailable,
                  excluded.empty()
                      ? "namenode starting: datanodes still registering"
                      : "namenode starting: " + std::to_string(targets.size()) + " of " +
                            std::to_string(current.replication()) +
                            " datanodes left after excluding " + std::to_string(excluded.size()));
  }
  return targets;
}

Status BlockWriteService::AddBlock(const proto::AddBlockRequest& r, proto::AddBlockReply* reply,
                                   rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  if (static_cast<size_t>(r.excluded_datanodes_size()) > kExcludedDatanodesMax) {
    return Invalid("too many excluded datanodes");
  }
  if (r.client_address().size() > kNameBytesMax) return Invalid("client address too long");
  GRANARY_ASSIGN_OR_RETURN(proto::Inode current, ctx_.ns.GetFile(InodeId(r.inode_id())));
  GRANARY_RETURN_IF_ERROR(NamenodeContext::CheckWriter(current, r.client_name()));
  GRANARY_ASSIGN_OR_RETURN(std::vector<uint32_t> targets, ChoosePipeline(r, current));
  GRANARY_ASSIGN_OR_RETURN(uint64_t block_id, ctx_.ns.block_ids().Next());
  GRANARY_ASSIGN_OR_RETURN(uint64_t stamp, ctx_.ns.generation_stamps().Next());
  proto::BlockRef fresh;
  fresh.set_block_id(block_id);
  fresh.set_generation_stamp(stamp);
  std::optional<proto::BlockRef> committed;
  ReleasedBlocks released;
  Result<proto::Inode> file = ctx_.ns.MutateFile(InodeId(r.inode_id()), [&](proto::Inode& inode,
                                                                            WriteBatch& batch) {
    GRANARY_RETURN_IF_ERROR(NamenodeContext::CheckWriter(inode, r.client_name()));
    if (inode.inline_data()) return AddConversionBlock(r, fresh, inode, batch, released);
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
      InodeStore::PutBlock(batch, NamenodeContext::Stored(inode.id(), *last, inode.replication()));
      committed = *last;
    } else if (r.has_previous() && r.previous().block_id() != 0) {
      return Invalid("previous block given for a file without blocks");
    }
    // Every mutation of a file is one store batch, so its block list is bounded.
    if (static_cast<uint32_t>(inode.blocks_size()) >= kBlocksPerFileMax) {
      return Status(StatusCode::kLimitExceeded, inode.name() + " has kBlocksPerFileMax blocks");
    }
    *inode.add_blocks() = fresh;
    inode.set_length_bytes(NamenodeContext::SumOfBlocks(inode));
    inode.set_mtime_ns(ctx_.env.CalendarNanos());
    InodeStore::PutBlock(batch, NamenodeContext::Stored(inode.id(), fresh, inode.replication()));
    return Status::Ok();
  });
  if (!file.ok()) return file.status();
  ctx_.Release(released);
  // Replicas of the committed block may still be reporting; it completes with what arrives.
  if (committed) ctx_.blocks.CompleteBlock(*committed);
  // The new block is the file's last, on a pipeline no longer than its replication.
  assert(file->blocks(file->blocks_size() - 1).block_id() == block_id);
  assert(targets.size() <= file->replication());
  ctx_.blocks.AddBlock(InodeId(file->id()), fresh, file->replication(),
                       BlockState::kUnderConstruction, targets);
  ctx_.leases.Renew(r.client_name(), ctx_.env.Now());
  proto::LocatedBlock* located = reply->mutable_block();
  *located->mutable_block() = fresh;
  // An inline file's conversion block starts the file.
  located->set_offset_bytes(file->inline_data() ? 0 : file->length_bytes());
  for (uint32_t id : targets) {
    if (const DatanodeRecord* record = ctx_.datanodes.Find(id))
      *located->add_replicas() = record->Info();
  }
  ctx_.SignLocated(*located, r.user(), BlockAccess::kWrite);
  return Status::Ok();
}

Status BlockWriteService::Complete(const proto::CompleteRequest& r, proto::CompleteReply* reply,
                                   rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  GRANARY_ASSIGN_OR_RETURN(proto::Inode current, ctx_.ns.GetFile(InodeId(r.inode_id())));
  if (!current.under_construction()) {
    // A retried Complete whose first attempt succeeded (the retry cache answers most): the
    // file ends with exactly the writer's last block. A file that lease recovery closed
    // does not (a new stamp, maybe another length): the writer must hear that its close
    // failed, not that its bytes are in.
    if (r.has_last() && current.blocks_size() > 0) {
      const proto::BlockRef& last = current.blocks(current.blocks_size() - 1);
      if (last.block_id() == r.last().block_id() &&
          last.generation_stamp() == r.last().generation_stamp() &&
          last.length_bytes() == r.last().length_bytes()) {
        return Status::Ok();
      }
    }
  }
  GRANARY_RETURN_IF_ERROR(NamenodeContext::CheckWriter(current, r.client_name()));
  if (current.blocks_size() > 0) {
    const proto::BlockRef& last = current.blocks(current.blocks_size() - 1);
    if (!r.has_last() || r.last().block_id() != last.block_id()) {
      return Invalid("last block is not the file's last block");
    }
    if (r.last().length_bytes() > current.block_bytes()) return Invalid("last block too long");
    const BlockInfo* info = ctx_.blocks.Find(BlockId(last.block_id()));
    uint32_t finalized = 0;
    if (info != nullptr) {
      for (const auto& [datanode, replica] : info->replicas) {
        if (ctx_.datanodes.IsLive(datanode) && !replica.corrupt && replica.finalized &&
            replica.generation_stamp == r.last().generation_stamp() &&
            replica.length_bytes == r.last().length_bytes()) {
          ++finalized;
        }
      }
    }
    if (finalized < ctx_.options.min_replication) {
      reply->set_retry_later(true);
      return Status::Ok();
    }
  }
  std::optional<proto::BlockRef> completed;
  Result<proto::Inode> file = ctx_.ns.MutateFile(InodeId(r.inode_id()), [&](proto::Inode& inode,
                                                                            WriteBatch& batch) {
    GRANARY_RETURN_IF_ERROR(NamenodeContext::CheckWriter(inode, r.client_name()));
    if (inode.blocks_size() > 0) {
      proto::BlockRef* last = inode.mutable_blocks(inode.blocks_size() - 1);
      if (last->block_id() != r.last().block_id()) return Invalid("last block changed");
      last->set_length_bytes(r.last().length_bytes());
      last->set_generation_stamp(r.last().generation_stamp());
      InodeStore::PutBlock(batch, NamenodeContext::Stored(inode.id(), *last, inode.replication()));
      completed = *last;
      inode.set_length_bytes(NamenodeContext::SumOfBlocks(inode));
    }
    inode.set_under_construction(false);
    inode.set_lease_holder("");
    inode.set_mtime_ns(ctx_.env.CalendarNanos());
    return Status::Ok();
  });
  if (!file.ok()) return file.status();
  assert(!file->under_construction());  // its lease ends here
  if (completed) ctx_.blocks.CompleteBlock(*completed);
  ctx_.leases.Remove(r.client_name(), InodeId(r.inode_id()));
  return Status::Ok();
}

Status BlockWriteService::BumpGeneration(const proto::BumpGenerationRequest& r,
                                         proto::BumpGenerationReply* reply, rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  if (static_cast<size_t>(r.excluded_datanodes_size()) > kExcludedDatanodesMax ||
      r.replacements_wanted() > kReplicationMax) {
    return Invalid("too many excluded datanodes or replacements");
  }
  GRANARY_ASSIGN_OR_RETURN(proto::Inode file, ctx_.ns.GetFile(InodeId(r.inode_id())));
  GRANARY_RETURN_IF_ERROR(NamenodeContext::CheckWriter(file, r.client_name()));
  if (file.blocks_size() == 0 ||
      file.blocks(file.blocks_size() - 1).block_id() != r.block().block_id()) {
    return Invalid("block is not the file's last block");
  }
  GRANARY_ASSIGN_OR_RETURN(uint64_t stamp, ctx_.ns.generation_stamps().Next());
  reply->set_generation_stamp(stamp);
  if (ctx_.block_keys.enabled()) {
    reply->set_access_token(
        ctx_.block_keys.Issue(r.block().block_id(), stamp, BlockAccess::kWrite, r.user().user()));
  }
  std::vector<uint32_t> excluded(r.excluded_datanodes().begin(), r.excluded_datanodes().end());
  if (const BlockInfo* info = ctx_.blocks.Find(BlockId(r.block().block_id()))) {
    excluded.insert(excluded.end(), info->pipeline.begin(), info->pipeline.end());
  }
  for (uint32_t id : ctx_.datanodes.ChooseTargets(r.replacements_wanted(), excluded)) {
    if (const DatanodeRecord* record = ctx_.datanodes.Find(id))
      *reply->add_replacements() = record->Info();
  }
  ctx_.leases.Renew(r.client_name(), ctx_.env.Now());
  return Status::Ok();
}

Status BlockWriteService::UpdatePipeline(const proto::UpdatePipelineRequest& r,
                                         proto::UpdatePipelineReply*, rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  if (r.datanodes_size() == 0 || static_cast<uint32_t>(r.datanodes_size()) > kReplicationMax) {
    return Invalid("pipeline of 1..kReplicationMax datanodes expected");
  }
  Result<proto::Inode> file = ctx_.ns.MutateFile(InodeId(r.inode_id()), [&](proto::Inode& inode,
                                                                            WriteBatch& batch) {
    GRANARY_RETURN_IF_ERROR(NamenodeContext::CheckWriter(inode, r.client_name()));
    if (inode.blocks_size() == 0) return Invalid("file has no block");
    proto::BlockRef* last = inode.mutable_blocks(inode.blocks_size() - 1);
    if (last->block_id() != r.block().block_id()) return Invalid("not the last block");
    if (r.block().generation_stamp() <= last->generation_stamp()) {
      return Status(StatusCode::kStale, "generation stamp not newer");
    }
    if (r.block().length_bytes() > inode.block_bytes()) return Invalid("block too long");
    *last = r.block();
    InodeStore::PutBlock(batch, NamenodeContext::Stored(inode.id(), *last, inode.replication()));
    return Status::Ok();
  });
  if (!file.ok()) return file.status();
  assert(file->blocks(file->blocks_size() - 1).generation_stamp() == r.block().generation_stamp());
  ctx_.blocks.UpdatePipeline(r.block(), {r.datanodes().begin(), r.datanodes().end()});
  ctx_.leases.Renew(r.client_name(), ctx_.env.Now());
  return Status::Ok();
}

Status BlockWriteService::Fsync(const proto::FsyncRequest& r, proto::FsyncReply*,
                                rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  bool recorded_already = false;
  Result<proto::Inode> file = ctx_.ns.MutateFile(InodeId(r.inode_id()), [&](proto::Inode& inode,
                                                                            WriteBatch& batch) {
    GRANARY_RETURN_IF_ERROR(NamenodeContext::CheckWriter(inode, r.client_name()));
    if (inode.blocks_size() == 0 || inode.inline_data()) return Invalid("file has no block");
    proto::BlockRef* last = inode.mutable_blocks(inode.blocks_size() - 1);
    if (last->block_id() != r.block().block_id()) return Invalid("not the last block");
    if (r.block().generation_stamp() != last->generation_stamp()) {
      return Status(StatusCode::kStale, "not the block's generation stamp");
    }
    if (r.block().length_bytes() > inode.block_bytes()) return Invalid("block too long");
    if (r.block().length_bytes() <= last->length_bytes()) {
      recorded_already = true;  // nothing to write
      return Status(StatusCode::kStale, "recorded already");
    }
    last->set_length_bytes(r.block().length_bytes());
    InodeStore::PutBlock(batch, NamenodeContext::Stored(inode.id(), *last, inode.replication()));
    return Status::Ok();
  });
  if (!file.ok() && !recorded_already) return file.status();
  ctx_.leases.Renew(r.client_name(), ctx_.env.Now());
  return Status::Ok();
}

Status BlockWriteService::RenewLease(const proto::RenewLeaseRequest& r, proto::RenewLeaseReply*,
                                     rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  ctx_.leases.Renew(r.client_name(), ctx_.env.Now());
  return Status::Ok();
}

Status BlockWriteService::Append(const proto::AppendRequest& r, proto::AppendReply* reply,
                                 rpc::Exchange& exchange) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  if (r.client_name().empty()) return Invalid("append names no client");
  if (r.client_name().size() > kNameBytesMax || r.client_address().size() > kNameBytesMax) {
    return Invalid("client name or address too long");
  }
  for (uint32_t attempt = 0; attempt < kRetryAttemptsMax; ++attempt) {
    GRANARY_ASSIGN_OR_RETURN(OpenResult opened, ctx_.ns.Open(r.user(), r.path()));
    const proto::Inode& seen = opened.inode;
    GRANARY_RETURN_IF_ERROR(
        ctx_.ns.options().permissions.Check(r.user(), seen, Access::kWrite, r.path()));
    if (seen.under_construction()) {
      return Status(StatusCode::kLeaseConflict,
                    r.path() + " is being written by " + seen.lease_holder());
    }
    // The last block continues when it has room; its good replicas are where.
    std::optional<proto::BlockRef> last;
    std::vector<uint32_t> holders;
    if (!seen.inline_data() && seen.blocks_size() > 0 &&
        seen.blocks(seen.blocks_size() - 1).length_bytes() < seen.block_bytes()) {
      last = seen.blocks(seen.blocks_size() - 1);
      holders = ctx_.blocks.AppendHolders(BlockId(last->block_id()));
      if (holders.empty()) {
        return Status(StatusCode::kUnavailable,
                      r.path() + ": no live replica of its last block to append to");
      }
      // Too few to continue on: the block is complete, so the replication monitor is
      // copying it; the writer asks again (the fault swarm, seed 1070 over 120 s: an append
      // went on on the one live replica after a datanode died, and lost the log when that
      // replica rotted).
      const size_t wanted =
          std::min<size_t>(seen.replication(), ctx_.datanodes.live_count());
      if (holders.size() < wanted) {
        reply->set_retry_later(true);
        return Status::Ok();
      }
    }
    bool changed = false;
    Result<proto::Inode> file =
        ctx_.ns.MutateFile(InodeId(seen.id()), [&](proto::Inode& inode, WriteBatch&) {
          // What was opened must still be the file: else its bytes or blocks are stale.
          if (inode.under_construction() || inode.mtime_ns() != seen.mtime_ns() ||
              inode.length_bytes() != seen.length_bytes() ||
              inode.blocks_size() != seen.blocks_size()) {
            changed = true;
            return Status(StatusCode::kUnavailable, "changed while opened for append");
          }
          inode.set_under_construction(true);
          inode.set_lease_holder(r.client_name());
          return Status::Ok();
        });
    if (changed) continue;
    if (!file.ok()) return file.status();
    ctx_.leases.Add(r.client_name(), InodeId(file->id()), ctx_.env.Now());
    *reply->mutable_status() = Namespace::ToStatus(*file);
    reply->set_inline_threshold_bytes(ctx_.options.ns.inline_threshold_bytes);
    if (!last && !file->inline_data() && file->blocks_size() > 0) {
      // A full last block: the writer's next block follows it.
      *reply->mutable_last_block()->mutable_block() = file->blocks(file->blocks_size() - 1);
    }
    if (last) {
      GRANARY_ASSIGN_OR_RETURN(uint64_t stamp, ctx_.ns.generation_stamps().Next());
      ctx_.blocks.ReopenBlock(BlockId(last->block_id()), holders);
      proto::LocatedBlock* located = reply->mutable_last_block();
      *located->mutable_block() = *last;
      located->set_offset_bytes(file->length_bytes() - last->length_bytes());
      ctx_.datanodes.SortByDistance(holders, r.client_address());
      for (uint32_t id : holders) {
        if (const DatanodeRecord* record = ctx_.datanodes.Find(id))
          *located->add_replicas() = record->Info();
      }
      ctx_.SignLocated(*located, r.user(), BlockAccess::kWrite);
      reply->set_new_generation_stamp(stamp);
    }
    exchange.reply_payload = std::move(opened.inline_data);
    return Status::Ok();
  }
  return Status(StatusCode::kUnavailable, r.path() + " kept changing while opened for append");
}

}  // namespace granary
