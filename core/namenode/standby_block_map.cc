#include "core/namenode/standby_block_map.h"

#include <algorithm>
#include <cassert>
#include <set>
#include <utility>

#include "core/common/ids.h"
#include "core/namenode/inode_store.h"
#include "core/rpc/methods.h"

namespace granary {
namespace {

Status NoMap() {
  return Status(StatusCode::kUnavailable, "namenode starting as active: datanodes, try again");
}

}  // namespace

StandbyBlockMap::StandbyBlockMap(Env& env, MetaStore& store, const NamenodeOptions& options)
    : env_(env), store_(store), options_(options) {
  router_.Add(rpc::nn::kRegister, [this](const auto& request, auto* reply, rpc::Exchange&) {
    return Register(request, reply);
  });
  router_.Add(rpc::nn::kHeartbeat, [this](const auto& request, auto* reply, rpc::Exchange&) {
    return Heartbeat(request, reply);
  });
  router_.Add(rpc::nn::kBlockReport,
              [this](const auto& request, auto*, rpc::Exchange&) { return BlockReport(request); });
  router_.Add(rpc::nn::kReportBadBlock, [this](const auto& request, auto*, rpc::Exchange&) {
    return ReportBadBlock(request);
  });
}

bool StandbyBlockMap::Serves(std::string_view method) {
  return method == rpc::nn::kRegister.name || method == rpc::nn::kHeartbeat.name ||
         method == rpc::nn::kBlockReport.name || method == rpc::nn::kReportBadBlock.name;
}

Result<RpcReply> StandbyBlockMap::Handle(const RpcContext& context, RpcRequest& request) {
  if (map_ == nullptr) return NoMap();
  return router_.Dispatch(context, request);
}

std::unique_ptr<HotBlockMap> StandbyBlockMap::Release() { return std::move(map_); }

Status StandbyBlockMap::Load() {
  auto map = std::make_unique<HotBlockMap>(env_.random().Derive("datanodes"), options_.blocks);
  map->blocks.BeginStandby();
  map->since = env_.Now();
  InodeStore records(store_);
  // The last block of a file left open is being written (Namenode::Start does the same).
  std::set<uint64_t> open_last;
  GRANARY_RETURN_IF_ERROR(records.ForEachEntry([&](const StoredEntry& entry) {
    const proto::Inode& inode = entry.inode;
    if (inode.under_construction() && inode.blocks_size() > 0) {
      open_last.insert(inode.blocks(inode.blocks_size() - 1).block_id());
    }
    return Status::Ok();
  }));
  GRANARY_RETURN_IF_ERROR(records.ForEachBlock([&](const proto::StoredBlock& stored) {
    const bool open = open_last.contains(stored.block().block_id());
    map->blocks.AddBlock(InodeId(stored.inode_id()), stored.block(), stored.replication(),
                         open ? BlockState::kUnderConstruction : BlockState::kComplete, {});
  }));
  map_ = std::move(map);
  return Status::Ok();
}

Status StandbyBlockMap::OnApplied(const JournalEntry& entry) {
  if (map_ == nullptr) return Status::Ok();
  proto::JournalPayload payload;
  if (!payload.ParseFromString(entry.payload)) {
    return Status(StatusCode::kCorruption,
                  "journal entry " + std::to_string(entry.seq) + " does not parse");
  }
  BlockManager& blocks = map_->blocks;
  // Block records first, so that the inodes of the same entry find their blocks.
  for (const proto::JournalOp& op : payload.ops()) {
    const RecordKey key = InodeStore::Classify(op.key());
    if (key.kind != RecordKind::kBlock || key.id == 0) continue;
    if (op.is_delete()) {
      proto::BlockRef ref;
      ref.set_block_id(key.id);
      blocks.Release({ref});
      continue;
    }
    proto::StoredBlock stored;
    if (!stored.ParseFromString(op.value()) || stored.block().block_id() != key.id) {
      return Status(StatusCode::kCorruption, "block record " + std::to_string(key.id) +
                                                 " in journal entry " + std::to_string(entry.seq));
    }
    const BlockInfo* known = blocks.Find(BlockId(key.id));
    blocks.AddBlock(InodeId(stored.inode_id()), stored.block(), stored.replication(),
                    known != nullptr ? known->state : BlockState::kUnderConstruction,
                    known != nullptr ? known->pipeline : std::vector<uint32_t>{});
  }
  for (const proto::JournalOp& op : payload.ops()) {
    if (op.is_delete() || InodeStore::Classify(op.key()).kind != RecordKind::kEntry) continue;
    proto::Inode inode;
    if (!inode.ParseFromString(op.value())) {
      return Status(StatusCode::kCorruption,
                    "inode record in journal entry " + std::to_string(entry.seq));
    }
    if (inode.blocks_size() > 0) LearnFile(inode);
  }
  return Status::Ok();
}

void StandbyBlockMap::LearnFile(const proto::Inode& file) {
  BlockManager& blocks = map_->blocks;
  for (int i = 0; i < file.blocks_size(); ++i) {
    const proto::BlockRef& ref = file.blocks(i);
    const BlockInfo* info = blocks.Find(BlockId(ref.block_id()));
    if (info == nullptr) continue;
    const bool writing = file.under_construction() && i == file.blocks_size() - 1;
    const bool same = info->generation_stamp == ref.generation_stamp() &&
                      info->length_bytes == ref.length_bytes();
    if (writing && (info->state != BlockState::kUnderConstruction || !same)) {
      blocks.AddBlock(info->inode_id, ref, info->replication, BlockState::kUnderConstruction,
                      info->pipeline);
    } else if (!writing && (info->state != BlockState::kComplete || !same)) {
      blocks.CompleteBlock(ref);
    }
    if (file.replication() != 0 && file.replication() != info->replication) {
      blocks.SetReplication(info->id, file.replication());
    }
  }
}

void StandbyBlockMap::ExpireSilent() {
  if (map_ == nullptr) return;
  for (uint32_t dead : map_->datanodes.ExpireSilent(env_.Now(), options_.datanode_dead_after)) {
    map_->blocks.DatanodeDead(dead);
  }
}

Status StandbyBlockMap::Register(const proto::RegisterRequest& r, proto::RegisterReply* reply) {
  GRANARY_RETURN_IF_ERROR(DatanodeManager::ValidateRegistration(r));
  // Ids are the active's, through the journal: a standby hands out none.
  Result<uint64_t> known = InodeStore(store_).GetDatanodeId(r.storage_id());
  if (known.code() == StatusCode::kNotFound) {
    return Status(StatusCode::kUnavailable,
                  "standby namenode: register with the active first (this datanode's id comes "
                  "through the journal)");
  }
  if (!known.ok()) return known.status();
  if (map_ == nullptr) return NoMap();  // handed over while the store was read
  const uint32_t id = static_cast<uint32_t>(*known);
  GRANARY_RETURN_IF_ERROR(map_->datanodes.Register(id, r, env_.Now()));
  // What was known of an earlier incarnation is void: its full report comes next.
  map_->blocks.DatanodeDead(id);
  reply->set_datanode_id(id);
  reply->set_heartbeat_interval_ns(options_.heartbeat_interval.count());
  return Status::Ok();
}

Status StandbyBlockMap::Heartbeat(const proto::HeartbeatRequest& r, proto::HeartbeatReply* reply) {
  reply->set_fencing_token(0);  // a standby: no block command ever comes from here
  const Status known = map_->datanodes.Heartbeat(r, env_.Now());
  if (known.code() == StatusCode::kNotFound) {
    reply->add_commands()->set_kind(proto::DatanodeCommand::KIND_REREGISTER);
    return Status::Ok();
  }
  // Nothing is queued while standby; what an earlier role left is not this namenode's to send.
  (void)map_->datanodes.TakeCommands(r.datanode_id());
  return known;
}

Status StandbyBlockMap::BlockReport(const proto::BlockReportRequest& r) {
  if (!map_->datanodes.IsLive(r.datanode_id())) {
    return Status(StatusCode::kNotFound, "unknown datanode: register again");
  }
  if (options_.cpu_per_reported_block > Duration(0)) {
    GRANARY_RETURN_IF_ERROR(env_.ChargeCpu(options_.cpu_per_reported_block * r.replicas_size()));
    if (map_ == nullptr) return NoMap();
  }
  BlockManager& blocks = map_->blocks;
  if (r.full()) {
    blocks.FullReport(r.datanode_id(), {r.replicas().begin(), r.replicas().end()});
  } else {
    for (const proto::ReplicaReport& replica : r.replicas()) {
      blocks.ReportReplica(r.datanode_id(), replica.block(), replica.finalized());
    }
  }
  for (const proto::BlockRef& deleted : r.deleted()) {
    blocks.ReportDeleted(r.datanode_id(), deleted);
  }
  return Status::Ok();
}

Status StandbyBlockMap::ReportBadBlock(const proto::ReportBadBlockRequest& r) {
  if (map_->datanodes.Find(r.datanode_id()) == nullptr) {
    return Status(StatusCode::kInvalidArgument, "unknown datanode");
  }
  map_->blocks.ReportCorrupt(r.datanode_id(), r.block());
  return Status::Ok();
}

std::vector<proto::LocatedBlock> StandbyBlockMap::LocateBlocks(const proto::Inode& file,
                                                               const std::string& client_address) {
  std::vector<proto::LocatedBlock> located;
  if (map_ == nullptr) return located;
  uint64_t offset = 0;
  for (const proto::BlockRef& block : file.blocks()) {
    (void)LocateBlock(block, offset, client_address, &located.emplace_back());
    offset += block.length_bytes();
  }
  return located;
}

bool StandbyBlockMap::LocateBlock(const proto::BlockRef& block, uint64_t offset,
                                  const std::string& client_address, proto::LocatedBlock* one) {
  if (map_ == nullptr) return false;
  // As NamespaceService::Locate on the active: the good replicas, and a block being written
  // also from its pipeline.
  *one->mutable_block() = block;
  one->set_offset_bytes(offset);
  std::vector<uint32_t> good = map_->blocks.GoodReplicas(BlockId(block.block_id()));
  const BlockInfo* info = map_->blocks.Find(BlockId(block.block_id()));
  if (info != nullptr && info->state == BlockState::kUnderConstruction) {
    for (uint32_t id : info->pipeline) {
      if (map_->datanodes.IsLive(id) && std::find(good.begin(), good.end(), id) == good.end()) {
        good.push_back(id);
      }
    }
  }
  map_->datanodes.SortByDistance(good, client_address);
  for (uint32_t id : good) {
    if (const DatanodeRecord* record = map_->datanodes.Find(id)) {
      *one->add_replicas() = record->Info();
    }
  }
  if (good.empty() && info != nullptr) one->set_corrupt(!info->replicas.empty());
  return info != nullptr && one->replicas_size() > 0;
}

}  // namespace granary
