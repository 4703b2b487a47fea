#include "core/namenode/block_manager.h"

#include <algorithm>
#include <cassert>

#include "core/common/limits.h"

namespace granary {
namespace {

BlockId IdOf(const proto::BlockRef& block) { return BlockId(block.block_id()); }

proto::BlockRef Ref(BlockId id, uint64_t generation_stamp, uint64_t length) {
  proto::BlockRef ref;
  ref.set_block_id(id.value());
  ref.set_generation_stamp(generation_stamp);
  ref.set_length_bytes(length);
  return ref;
}

}  // namespace

BlockManager::BlockManager(DatanodeManager& datanodes, BlockManagerOptions options)
    : datanodes_(datanodes), options_(options) {}

void BlockManager::AddBlock(InodeId inode_id, const proto::BlockRef& block, uint32_t replication,
                            BlockState state, std::vector<uint32_t> pipeline) {
  assert(block.block_id() != 0);
  assert(replication <= kReplicationMax);
  assert(pipeline.size() <= kReplicationMax);
  BlockInfo& info = blocks_[IdOf(block)];
  info.id = IdOf(block);
  info.inode_id = inode_id;
  info.generation_stamp = block.generation_stamp();
  info.length_bytes = block.length_bytes();
  info.replication = replication;
  info.state = state;
  info.pipeline = std::move(pipeline);
  if (state == BlockState::kComplete) Attend(info.id);
  auto kept = unmatched_.find(info.id);
  if (kept == unmatched_.end()) return;
  const auto replicas = std::move(kept->second);
  unmatched_count_ -= replicas.size();
  unmatched_.erase(kept);
  for (const auto& [datanode, report] : replicas) {
    if (datanodes_.IsLive(datanode)) ReportReplica(datanode, report.first, report.second);
  }
}

void BlockManager::CompleteBlock(const proto::BlockRef& block) {
  auto it = blocks_.find(IdOf(block));
  if (it == blocks_.end()) return;
  BlockInfo& info = it->second;
  info.state = BlockState::kComplete;
  info.completed_on.clear();
  if (info.generation_stamp == block.generation_stamp()) info.completed_on = info.pipeline;
  info.generation_stamp = block.generation_stamp();
  info.length_bytes = block.length_bytes();
  info.pipeline.clear();
  Attend(info.id);
}

void BlockManager::ReopenBlock(BlockId block, std::vector<uint32_t> pipeline) {
  auto it = blocks_.find(block);
  if (it == blocks_.end()) return;
  assert(pipeline.size() <= kReplicationMax);
  it->second.state = BlockState::kUnderConstruction;
  it->second.pipeline = std::move(pipeline);
  it->second.completed_on.clear();
  pending_.erase(block);
}

void BlockManager::UpdatePipeline(const proto::BlockRef& block, std::vector<uint32_t> pipeline) {
  auto it = blocks_.find(IdOf(block));
  if (it == blocks_.end()) return;
  BlockInfo& info = it->second;
  info.generation_stamp = block.generation_stamp();
  info.length_bytes = block.length_bytes();
  info.pipeline = std::move(pipeline);
  for (auto r = info.replicas.begin(); r != info.replicas.end();) {
    const bool in_pipeline =
        std::find(info.pipeline.begin(), info.pipeline.end(), r->first) != info.pipeline.end();
    if (!in_pipeline && r->second.generation_stamp < info.generation_stamp) {
      QueueDelete(r->first, Ref(info.id, r->second.generation_stamp, r->second.length_bytes));
      by_datanode_[r->first].erase(info.id);
      r = info.replicas.erase(r);
    } else {
      ++r;
    }
  }
}

void BlockManager::SetReplication(BlockId block, uint32_t replication) {
  auto it = blocks_.find(block);
  if (it == blocks_.end()) return;
  it->second.replication = replication;
  Attend(block);
}

void BlockManager::Release(const std::vector<proto::BlockRef>& blocks) {
  for (const proto::BlockRef& ref : blocks) {
    auto it = blocks_.find(IdOf(ref));
    if (it == blocks_.end()) continue;
    for (const auto& [datanode, replica] : it->second.replicas) {
      QueueDelete(datanode, Ref(IdOf(ref), replica.generation_stamp, replica.length_bytes));
      by_datanode_[datanode].erase(IdOf(ref));
    }
    // Pipeline members that have not reported yet get their delete when they do.
    blocks_.erase(it);
    pending_.erase(IdOf(ref));
    attention_.erase(IdOf(ref));
  }
  for (const proto::BlockRef& ref : blocks) DropUnmatched(0, IdOf(ref));
}

void BlockManager::QueueDelete(uint32_t datanode, const proto::BlockRef& block) {
  if (standby_) return;  // a standby orders nothing
  proto::DatanodeCommand command;
  command.set_kind(proto::DatanodeCommand::KIND_DELETE);
  *command.mutable_block() = block;
  datanodes_.QueueCommand(datanode, std::move(command));
}

void BlockManager::ReportReplica(uint32_t datanode, const proto::BlockRef& block, bool finalized) {
  auto it = blocks_.find(IdOf(block));
  if (it == blocks_.end()) {
    // A replica of a block the namespace no longer has: garbage. A standby may not know the
    // block yet: it keeps the replica aside.
    if (standby_) {
      KeepUnmatched(datanode, block, finalized);
    } else {
      QueueDelete(datanode, block);
    }
    return;
  }
  BlockInfo& info = it->second;
  if (block.generation_stamp() < info.generation_stamp) {
    const bool in_pipeline =
        std::find(info.pipeline.begin(), info.pipeline.end(), datanode) != info.pipeline.end();
    if (!in_pipeline) {
      QueueDelete(datanode, block);
      auto r = info.replicas.find(datanode);
      if (r != info.replicas.end() && r->second.generation_stamp <= block.generation_stamp()) {
        info.replicas.erase(r);
        by_datanode_[datanode].erase(info.id);
      }
      Attend(info.id);
      return;
    }
  }
  KnownReplica& replica = info.replicas[datanode];
  const bool same_stamp = replica.generation_stamp == block.generation_stamp();
  const bool was_corrupt = replica.corrupt && same_stamp;
  const bool was_deleting = replica.deleting && same_stamp;
  replica.generation_stamp = block.generation_stamp();
  replica.length_bytes = block.length_bytes();
  replica.finalized = finalized;
  replica.corrupt = was_corrupt;
  replica.deleting = was_deleting;
  if (!standby_ && info.state == BlockState::kComplete && finalized &&
      block.generation_stamp() == info.generation_stamp &&
      block.length_bytes() != info.length_bytes) {
    replica.corrupt = true;  // a finalized replica of the wrong length
  }
  by_datanode_[datanode].insert(info.id);
  // The two maps agree: a replica the block knows is one its datanode is known to hold.
  assert(info.replicas.count(datanode) == 1);
  auto p = pending_.find(info.id);
  if (p != pending_.end() && IsGood(info, datanode, replica)) {
    auto& targets = p->second.targets;
    targets.erase(std::remove(targets.begin(), targets.end(), datanode), targets.end());
    if (targets.empty()) pending_.erase(p);
  }
  Attend(info.id);
}

void BlockManager::ReportDeleted(uint32_t datanode, const proto::BlockRef& block) {
  auto it = blocks_.find(IdOf(block));
  if (it == blocks_.end()) return;
  auto r = it->second.replicas.find(datanode);
  if (r != it->second.replicas.end() && r->second.generation_stamp <= block.generation_stamp()) {
    it->second.replicas.erase(r);
    by_datanode_[datanode].erase(IdOf(block));
    Attend(IdOf(block));
  }
}

void BlockManager::FullReport(uint32_t datanode,
                              const std::vector<proto::ReplicaReport>& replicas) {
  std::set<BlockId> reported;
  for (const proto::ReplicaReport& r : replicas) reported.insert(IdOf(r.block()));
  DropUnmatched(datanode, BlockId(0));
  const std::set<BlockId> known = by_datanode_[datanode];
  for (BlockId id : known) {
    if (reported.count(id)) continue;
    auto it = blocks_.find(id);
    if (it != blocks_.end()) {
      it->second.replicas.erase(datanode);
      Attend(id);
    }
    by_datanode_[datanode].erase(id);
  }
  for (const proto::ReplicaReport& r : replicas) ReportReplica(datanode, r.block(), r.finalized());
  // What the datanode is known to hold now is what it reported, less garbage and stale copies.
  assert(ReplicasOn(datanode) <= replicas.size());
}

void BlockManager::ReportCorrupt(uint32_t datanode, const proto::BlockRef& block) {
  auto it = blocks_.find(IdOf(block));
  if (it == blocks_.end()) return;
  auto r = it->second.replicas.find(datanode);
  if (r == it->second.replicas.end()) return;
  r->second.corrupt = true;
  Attend(IdOf(block));
}

void BlockManager::DatanodeDead(uint32_t datanode) {
  DropUnmatched(datanode, BlockId(0));
  auto held = by_datanode_.find(datanode);
  if (held == by_datanode_.end()) return;
  for (BlockId id : held->second) {
    auto it = blocks_.find(id);
    if (it == blocks_.end()) continue;
    it->second.replicas.erase(datanode);
    Attend(id);
  }
  by_datanode_.erase(held);
  for (auto& [id, pending] : pending_) {
    auto& targets = pending.targets;
    targets.erase(std::remove(targets.begin(), targets.end(), datanode), targets.end());
  }
  assert(ReplicasOn(datanode) == 0);
}

bool BlockManager::IsGood(const BlockInfo& info, uint32_t datanode,
                          const KnownReplica& replica) const {
  if (!datanodes_.IsLive(datanode) || replica.corrupt || replica.deleting) return false;
  if (replica.generation_stamp != info.generation_stamp) return false;
  if (info.state == BlockState::kComplete) {
    return replica.finalized && replica.length_bytes == info.length_bytes;
  }
  return true;
}

std::vector<uint32_t> BlockManager::GoodReplicas(BlockId block_id) const {
  std::vector<uint32_t> good;
  auto it = blocks_.find(block_id);
  if (it == blocks_.end()) return good;
  for (const auto& [datanode, replica] : it->second.replicas) {
    if (IsGood(it->second, datanode, replica)) good.push_back(datanode);
  }
  return good;
}

std::vector<uint32_t> BlockManager::AppendHolders(BlockId block_id) const {
  std::vector<uint32_t> holders = GoodReplicas(block_id);
  auto it = blocks_.find(block_id);
  if (it == blocks_.end() || it->second.state != BlockState::kComplete) return holders;
  const BlockInfo& info = it->second;
  for (uint32_t datanode : info.completed_on) {
    if (!datanodes_.IsLive(datanode) ||
        std::find(holders.begin(), holders.end(), datanode) != holders.end()) {
      continue;
    }
    // Its finalized replica not reported yet: known at an older stamp (a deletion queued for
    // that stamp leaves the newer replica alone), or while still being written.
    auto known = info.replicas.find(datanode);
    const bool bad_now = known != info.replicas.end() &&
                         known->second.generation_stamp >= info.generation_stamp &&
                         (known->second.corrupt || known->second.deleting);
    if (!bad_now) holders.push_back(datanode);
  }
  return holders;
}

uint32_t BlockManager::FinalizedReplicas(BlockId block_id) const {
  auto it = blocks_.find(block_id);
  if (it == blocks_.end()) return 0;
  uint32_t n = 0;
  for (const auto& [datanode, replica] : it->second.replicas) {
    if (IsGood(it->second, datanode, replica) && replica.finalized) ++n;
  }
  return n;
}

const BlockInfo* BlockManager::Find(BlockId block_id) const {
  auto it = blocks_.find(block_id);
  return it == blocks_.end() ? nullptr : &it->second;
}

bool BlockManager::Work(BlockInfo& info, Instant now, std::map<uint32_t, uint32_t>& streams) {
  if (info.state != BlockState::kComplete) return true;
  std::vector<uint32_t> good;
  std::vector<uint32_t> bad;
  for (const auto& [datanode, replica] : info.replicas) {
    if (IsGood(info, datanode, replica)) {
      good.push_back(datanode);
    } else if (datanodes_.IsLive(datanode) && !replica.deleting) {
      bad.push_back(datanode);
    }
  }
  assert(good.size() + bad.size() <= info.replicas.size());
  // A corrupt, stale or wrong-length replica is worth nothing once a good one exists: it
  // goes at once, which also frees its datanode to receive a good copy.
  if (!good.empty()) {
    for (uint32_t datanode : bad) MarkForDeletion(info, datanode);
  }
  if (good.size() < info.replication) {
    if (good.empty()) return false;  // missing: nothing to copy from
    auto p = pending_.find(info.id);
    if (p != pending_.end()) {
      if (now < p->second.deadline && !p->second.targets.empty()) return false;
      pending_.erase(p);
    }
    if (pending_.size() >= options_.pending_replications_max) return false;
    uint32_t source = 0;
    uint32_t least = UINT32_MAX;
    for (uint32_t candidate : good) {
      if (streams[candidate] < least) {
        least = streams[candidate];
        source = candidate;
      }
    }
    if (least >= options_.replication_streams_per_datanode) return false;
    std::vector<uint32_t> excluded;
    for (const auto& [datanode, replica] : info.replicas) excluded.push_back(datanode);
    std::vector<uint32_t> targets =
        datanodes_.ChooseTargets(info.replication - static_cast<uint32_t>(good.size()), excluded);
    if (targets.empty()) return false;
    proto::DatanodeCommand command;
    command.set_kind(proto::DatanodeCommand::KIND_REPLICATE);
    *command.mutable_block() = Ref(info.id, info.generation_stamp, info.length_bytes);
    for (uint32_t target : targets) {
      if (const DatanodeRecord* record = datanodes_.Find(target)) {
        *command.add_targets() = record->Info();
      }
    }
    datanodes_.QueueCommand(source, std::move(command));
    ++streams[source];
    pending_[info.id] = Pending{now + options_.replication_timeout, std::move(targets)};
    assert(pending_.size() <= options_.pending_replications_max);
    return false;
  }
  pending_.erase(info.id);
  if (good.size() > info.replication) {
    // Excess copies go from the fullest datanodes.
    std::sort(good.begin(), good.end(), [this](uint32_t a, uint32_t b) {
      const DatanodeRecord* ra = datanodes_.Find(a);
      const DatanodeRecord* rb = datanodes_.Find(b);
      const uint64_t ua = ra ? ra->used_bytes : 0;
      const uint64_t ub = rb ? rb->used_bytes : 0;
      if (ua != ub) return ua > ub;
      return a < b;
    });
    for (size_t i = 0; i < good.size() - info.replication; ++i) MarkForDeletion(info, good[i]);
  }
  return true;
}

void BlockManager::MarkForDeletion(BlockInfo& info, uint32_t datanode) {
  KnownReplica& replica = info.replicas[datanode];
  if (replica.deleting) return;
  replica.deleting = true;
  QueueDelete(datanode, Ref(info.id, replica.generation_stamp, replica.length_bytes));
}

void BlockManager::Monitor(Instant now) {
  std::map<uint32_t, uint32_t> streams;
  const std::vector<BlockId> ids(attention_.begin(), attention_.end());
  for (BlockId id : ids) {
    auto it = blocks_.find(id);
    if (it == blocks_.end() || Work(it->second, now, streams)) attention_.erase(id);
  }
  assert(pending_.size() <= options_.pending_replications_max);
}

BlockCounts BlockManager::Counts() const {
  BlockCounts counts;
  counts.blocks = blocks_.size();
  counts.pending_replications = pending_.size();
  for (const auto& [id, info] : blocks_) {
    if (info.state != BlockState::kComplete) continue;
    uint32_t good = 0;
    uint32_t corrupt = 0;
    for (const auto& [datanode, replica] : info.replicas) {
      if (IsGood(info, datanode, replica)) ++good;
      if (replica.corrupt) ++corrupt;
    }
    if (good < info.replication) ++counts.under_replicated;
    if (good == 0) ++counts.missing;
    if (good == 0 && corrupt > 0) ++counts.corrupt;
  }
  assert(counts.corrupt <= counts.missing);
  assert(counts.missing <= counts.blocks);
  return counts;
}

}  // namespace granary

namespace granary {

uint64_t BlockManager::ReplicasOn(uint32_t datanode) const {
  const auto held = by_datanode_.find(datanode);
  return held == by_datanode_.end() ? 0 : held->second.size();
}

std::vector<uint64_t> BlockManager::UnderReplicated(size_t max) const {
  std::vector<uint64_t> ids;
  for (const auto& [id, info] : blocks_) {
    if (ids.size() >= max) break;
    if (info.state == BlockState::kComplete && GoodReplicas(id).size() < info.replication) {
      ids.push_back(id.value());
    }
  }
  return ids;
}

std::string BlockManager::Describe(uint64_t block_id) const {
  const BlockInfo* info = Find(BlockId(block_id));
  if (info == nullptr) return "block " + std::to_string(block_id) + " unknown";
  std::string out =
      "block " + std::to_string(block_id) + " gs " + std::to_string(info->generation_stamp) +
      " len " + std::to_string(info->length_bytes) + " repl " + std::to_string(info->replication) +
      (info->state == BlockState::kComplete ? " complete" : " writing") +
      (pending_.count(BlockId(block_id)) ? " pending" : "") +
      (attention_.count(BlockId(block_id)) ? " attended" : "") + " replicas:";
  for (const auto& [datanode, replica] : info->replicas) {
    out += " dn" + std::to_string(datanode) + "(gs " + std::to_string(replica.generation_stamp) +
           " len " + std::to_string(replica.length_bytes) + (replica.finalized ? " fin" : "") +
           (replica.corrupt ? " corrupt" : "") + (datanodes_.IsLive(datanode) ? "" : " dead") + ")";
  }
  return out;
}

// ---- standby ----

void BlockManager::KeepUnmatched(uint32_t datanode, const proto::BlockRef& block, bool finalized) {
  auto& replicas = unmatched_[IdOf(block)];
  auto it = replicas.find(datanode);
  if (it != replicas.end()) {
    it->second = {block, finalized};
    return;
  }
  if (unmatched_count_ >= kStandbyUnmatchedReplicasMax) {
    if (replicas.empty()) unmatched_.erase(IdOf(block));
    return;  // the active's failover start asks for nothing more than a full report then
  }
  replicas.emplace(datanode, std::make_pair(block, finalized));
  ++unmatched_count_;
}

void BlockManager::DropUnmatched(uint32_t datanode, BlockId block) {
  for (auto it = block.value() == 0 ? unmatched_.begin() : unmatched_.find(block);
       it != unmatched_.end();) {
    if (datanode == 0) {
      unmatched_count_ -= it->second.size();
      it->second.clear();
    } else {
      unmatched_count_ -= it->second.erase(datanode);
    }
    const bool one = block.value() != 0;
    it = it->second.empty() ? unmatched_.erase(it) : std::next(it);
    if (one) break;
  }
}

void BlockManager::EndStandby(const std::set<BlockId>& stored) {
  standby_ = false;
  std::vector<proto::BlockRef> gone;
  for (const auto& [id, info] : blocks_) {
    if (!stored.contains(id)) gone.push_back(Ref(id, info.generation_stamp, info.length_bytes));
  }
  Release(gone);
  for (const auto& [id, replicas] : unmatched_) {
    for (const auto& [datanode, report] : replicas) {
      if (blocks_.contains(id)) {
        ReportReplica(datanode, report.first, report.second);
      } else {
        QueueDelete(datanode, report.first);
      }
    }
  }
  unmatched_.clear();
  unmatched_count_ = 0;
  // Every block is looked at once by the first replication rounds.
  for (const auto& [id, info] : blocks_) Attend(id);
}

}  // namespace granary
