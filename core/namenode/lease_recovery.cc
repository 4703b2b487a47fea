#include "core/namenode/lease_recovery.h"

#include <algorithm>
#include <cassert>
#include <iterator>
#include <vector>

#include "core/common/limits.h"
#include "core/namenode/inode_store.h"
#include "core/namenode/permission.h"

namespace granary {
namespace {

const auto Invalid = NamenodeContext::Invalid;

// Closing a file without a recovery: drops its last block when it is `dropped` (being written
// and held by nobody), or, for a file still inline, its conversion block (whose bytes are
// the inline ones, kept).
void DropUnfinishedBlock(proto::Inode& inode, WriteBatch& batch, BlockId dropped,
                         ReleasedBlocks& released) {
  if (inode.inline_data()) {
    for (const proto::BlockRef& block : inode.blocks()) {
      released.blocks.push_back(block);
      InodeStore::DeleteBlock(batch, BlockId(block.block_id()));
    }
    inode.clear_blocks();
    return;
  }
  if (dropped.value() != 0 && inode.blocks_size() > 0 &&
      inode.blocks(inode.blocks_size() - 1).block_id() == dropped.value()) {
    released.blocks.push_back(inode.blocks(inode.blocks_size() - 1));
    InodeStore::DeleteBlock(batch, dropped);
    inode.mutable_blocks()->RemoveLast();
    inode.set_length_bytes(NamenodeContext::SumOfBlocks(inode));
  }
}

}  // namespace

Status LeaseRecovery::Finish(const proto::RecoveryDoneRequest& r) {
  auto it = recoveries_.find(BlockId(r.block().block_id()));
  if (it == recoveries_.end() || it->second.stamp != r.block().generation_stamp()) {
    return Status::Ok();  // late, duplicate, or an earlier round's
  }
  const Recovery recovery = it->second;
  recoveries_.erase(it);
  if (r.failed()) {
    ++recovery_failures_[BlockId(r.block().block_id())];
    return Status::Ok();  // the lease monitor tries again
  }
  recovery_failures_.erase(BlockId(r.block().block_id()));
  Result<proto::Inode> file = ctx_.ns.MutateFile(recovery.file, [&](proto::Inode& inode,
                                                                    WriteBatch& batch) {
    if (!inode.under_construction() || inode.blocks_size() == 0 || inode.inline_data()) {
      return Status(StatusCode::kStale, "file no longer being written in blocks");
    }
    proto::BlockRef* last = inode.mutable_blocks(inode.blocks_size() - 1);
    if (last->block_id() != r.block().block_id()) return Invalid("not the last block");
    *last = r.block();
    InodeStore::PutBlock(batch, NamenodeContext::Stored(inode.id(), *last, inode.replication()));
    inode.set_length_bytes(NamenodeContext::SumOfBlocks(inode));
    inode.set_under_construction(false);
    inode.set_lease_holder("");
    return Status::Ok();
  });
  if (!file.ok()) return Status::Ok();
  ctx_.blocks.UpdatePipeline(r.block(), {r.datanodes().begin(), r.datanodes().end()});
  ctx_.blocks.CompleteBlock(r.block());
  assert(!file->under_construction());
  ctx_.leases.Remove(recovery.client_name, recovery.file);
  return Status::Ok();
}

std::string LeaseRecovery::RecoveryHolder(const std::string& client_name) {
  static constexpr std::string_view kPrefix = "namenode-recovery:";
  return client_name.starts_with(kPrefix) ? client_name : std::string(kPrefix) + client_name;
}

bool LeaseRecovery::TakeLease(const std::string& client_name, InodeId inode_id) {
  const std::string holder = RecoveryHolder(client_name);
  Result<proto::Inode> taken =
      ctx_.ns.MutateFile(inode_id, [&](proto::Inode& inode, WriteBatch&) {
        if (!inode.under_construction() ||
            (inode.lease_holder() != client_name && inode.lease_holder() != holder)) {
          return Status(StatusCode::kStale, "no longer written by " + client_name);
        }
        inode.set_lease_holder(holder);
        return Status::Ok();
      });
  if (!taken.ok()) return false;
  if (holder != client_name) {
    ctx_.leases.Remove(client_name, inode_id);
    // Never renewed: every round of the lease monitor looks at the file again.
    ctx_.leases.Add(holder, inode_id, Instant{});
  }
  return true;
}

void LeaseRecovery::RecoverFile(const std::string& client_name, InodeId inode_id) {
  Result<proto::Inode> file = ctx_.ns.GetFile(inode_id);
  if (!file.ok() || !file->under_construction() ||
      (file->lease_holder() != client_name && file->lease_holder() != RecoveryHolder(client_name))) {
    if (file.ok() || file.code() == StatusCode::kNotFound)
      ctx_.leases.Remove(client_name, inode_id);
    return;
  }
  // A file still inline has at most a conversion block, which never holds more than the
  // inline bytes: it is discarded below, and the file closes with its inline bytes.
  const BlockInfo* last =
      file->blocks_size() == 0 || file->inline_data()
          ? nullptr
          : ctx_.blocks.Find(BlockId(file->blocks(file->blocks_size() - 1).block_id()));
  if (last != nullptr && last->state == BlockState::kUnderConstruction) {
    if (recoveries_.count(last->id)) return;  // in progress
    // The length the store records for the block: non-zero once a flush (nn.Fsync), a
    // pipeline update or an append acknowledged bytes of it.
    const uint64_t recorded = file->blocks(file->blocks_size() - 1).length_bytes();
    const bool tried_out = recovery_failures_[last->id] >= kRecoveryAttemptsMax;
    const HolderChoice holders = Holders(*last);
    // A block with recorded bytes is never given up: only its holders can bring them back,
    // and one may be down for a while (HDFS likewise keeps such a block under recovery).
    // Once kRecoveryAttemptsMax rounds were fruitless it stops asking every live datanode
    // and waits for one to report holding it. The fault swarm lost an acknowledged append
    // this way (seed 142, one namenode: the namenode restarted, the only holder was down,
    // five rounds in three seconds found nobody and the block was dropped).
    if (!holders.datanodes.empty() && (!tried_out || (recorded > 0 && holders.known))) {
      StartRecovery(client_name, inode_id, last->id);
      return;
    }
    // A namenode that just started knows no holder of a block being written until the
    // datanodes report it (its pipeline lived in memory): the recovery waits for them.
    if (recorded > 0 || (ctx_.Starting() && !tried_out)) return;
  }
  // No block being written, or one without acknowledged bytes that nobody holds: close the
  // file with what is committed.
  const uint64_t dropped_block =
      (last != nullptr && last->state == BlockState::kUnderConstruction) ? last->id.value() : 0;
  ReleasedBlocks released;
  Result<proto::Inode> closed =
      ctx_.ns.MutateFile(inode_id, [&](proto::Inode& inode, WriteBatch& batch) {
        if (!inode.under_construction()) return Status(StatusCode::kStale, "closed already");
        DropUnfinishedBlock(inode, batch, BlockId(dropped_block), released);
        inode.set_under_construction(false);
        inode.set_lease_holder("");
        return Status::Ok();
      });
  if (closed.ok() || closed.code() == StatusCode::kStale ||
      closed.code() == StatusCode::kNotFound) {
    if (last != nullptr) recovery_failures_.erase(last->id);
    ctx_.Release(released);
    ctx_.leases.Remove(client_name, inode_id);
  }
}

void LeaseRecovery::StartRecovery(const std::string& client_name, InodeId inode_id,
                                  BlockId block_id) {
  // Fenced and the old writer shut out first (TakeLease).
  if (!TakeLease(client_name, inode_id)) return;
  const std::string holder = RecoveryHolder(client_name);
  // Both the append and taking a stamp (a new range is journaled) yield: the block is looked
  // up again after each.
  const auto still_to_recover = [&]() -> const BlockInfo* {
    const BlockInfo* block = ctx_.blocks.Find(block_id);
    if (block == nullptr || block->state != BlockState::kUnderConstruction ||
        recoveries_.count(block_id)) {
      return nullptr;
    }
    return block;
  };
  if (still_to_recover() == nullptr) return;
  Result<uint64_t> stamp = ctx_.ns.generation_stamps().Next();
  if (!stamp.ok()) return;
  const BlockInfo* last = still_to_recover();
  if (last == nullptr) return;
  const std::vector<uint32_t> holders = Holders(*last).datanodes;
  if (holders.empty()) return;
  proto::DatanodeCommand command;
  command.set_kind(proto::DatanodeCommand::KIND_RECOVER);
  command.mutable_block()->set_block_id(last->id.value());
  command.mutable_block()->set_generation_stamp(last->generation_stamp);
  command.mutable_block()->set_length_bytes(last->length_bytes);
  command.set_recovery_generation_stamp(*stamp);
  for (size_t i = 1; i < holders.size(); ++i) {
    if (const DatanodeRecord* record = ctx_.datanodes.Find(holders[i])) {
      *command.add_targets() = record->Info();
    }
  }
  // One recovery per block, of the file whose last block it is.
  assert(last->inode_id == inode_id);
  recoveries_[last->id] =
      Recovery{inode_id, holder, ctx_.env.Now() + ctx_.options.recovery_timeout, *stamp};
  ctx_.datanodes.QueueCommand(holders[0], std::move(command));
}

LeaseRecovery::HolderChoice LeaseRecovery::Holders(const BlockInfo& last) const {
  HolderChoice choice;
  std::vector<uint32_t>& holders = choice.datanodes;
  for (const auto& [datanode, replica] : last.replicas) {
    if (ctx_.datanodes.IsLive(datanode)) holders.push_back(datanode);
  }
  for (uint32_t datanode : last.pipeline) {
    if (ctx_.datanodes.IsLive(datanode) &&
        std::find(holders.begin(), holders.end(), datanode) == holders.end()) {
      holders.push_back(datanode);
    }
  }
  choice.known = !holders.empty();
  if (!holders.empty() || ctx_.Starting()) return choice;
  // Nobody known to hold it: the namenode may just not have heard (a restart or failover
  // forgot the pipeline, and a report was lost or is late), while live datanodes hold bytes
  // a Sync made durable. Dropping the block would lose them (issue 16, swarm seed 102
  // without inline files): every live datanode is asked instead (those without a replica
  // answer nothing), and only kRecoveryAttemptsMax fruitless rounds give it up.
  for (const auto& [id, record] : ctx_.datanodes.all()) {
    if (record.live) holders.push_back(id);
  }
  return choice;
}

Status LeaseRecovery::RecoverLease(const proto::RecoverLeaseRequest& r,
                                   proto::RecoverLeaseReply* reply, rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(ctx_.Admit(r.user()));
  GRANARY_ASSIGN_OR_RETURN(const proto::FileStatus status, ctx_.ns.Stat(r.user(), r.path()));
  if (status.type() != proto::INODE_TYPE_FILE) {
    return Status(StatusCode::kIsADirectory, r.path());
  }
  const InodeId id(status.inode_id());
  GRANARY_ASSIGN_OR_RETURN(const proto::Inode file, ctx_.ns.GetFile(id));
  GRANARY_RETURN_IF_ERROR(
      ctx_.ns.options().permissions.Check(r.user(), file, Access::kWrite, r.path()));
  reply->set_lease_holder(file.lease_holder());
  if (file.under_construction()) RecoverFile(file.lease_holder(), id);
  GRANARY_ASSIGN_OR_RETURN(const proto::Inode now, ctx_.ns.GetFile(id));
  reply->set_closed(!now.under_construction());
  return Status::Ok();
}

void LeaseRecovery::ExpireOverdue(Instant now) {
  for (auto it = recoveries_.begin(); it != recoveries_.end();) {
    it = now > it->second.deadline ? recoveries_.erase(it) : std::next(it);
  }
}

}  // namespace granary
