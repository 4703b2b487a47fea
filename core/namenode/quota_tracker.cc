#include "core/namenode/quota_tracker.h"

#include <algorithm>
#include <cassert>

#include "core/common/limits.h"

namespace granary {
namespace {

bool Exceeds(uint64_t used, int64_t delta, uint64_t max) {
  if (max == 0 || delta <= 0) return false;
  return used + static_cast<uint64_t>(delta) > max;
}

uint64_t Applied(uint64_t used, int64_t delta) {
  if (delta >= 0) return used + static_cast<uint64_t>(delta);
  const uint64_t down = static_cast<uint64_t>(-delta);
  // Usage is exact: a decrease past zero means some mutation was not charged.
  assert(down <= used);
  return used - down;
}

}  // namespace

const QuotaState* QuotaTracker::Find(InodeId id) const {
  if (quotas_.empty()) return nullptr;
  auto found = quotas_.find(id);
  return found == quotas_.end() ? nullptr : &found->second;
}

std::vector<InodeId> QuotaTracker::Ids() const {
  std::vector<InodeId> ids;
  ids.reserve(quotas_.size());
  for (const auto& [id, state] : quotas_) ids.push_back(id);
  return ids;
}

uint64_t QuotaTracker::ChargedBytes(const proto::Inode& inode) {
  if (inode.type() == proto::INODE_TYPE_DIRECTORY) return 0;
  uint64_t bytes = inode.length_bytes();
  if (inode.under_construction() && !inode.inline_data()) {
    // The last block is reserved whole while it is written (none yet: the first one).
    bytes = 0;
    const int count = inode.blocks_size();
    for (int i = 0; i + 1 < count; ++i) bytes += inode.blocks(i).length_bytes();
    const uint64_t last = count > 0 ? inode.blocks(count - 1).length_bytes() : 0;
    bytes += std::max<uint64_t>(last, inode.block_bytes());
  }
  return bytes * std::max<uint32_t>(inode.replication(), 1);
}

Result<QuotaUsage> QuotaTracker::Measure(const proto::Inode& root) {
  QuotaUsage usage;
  usage.names = 1;
  usage.bytes = ChargedBytes(root);
  if (root.type() != proto::INODE_TYPE_DIRECTORY) return usage;
  std::vector<InodeId> pending{InodeId(root.id())};
  while (!pending.empty()) {
    const InodeId directory = pending.back();
    pending.pop_back();
    std::string after;
    for (;;) {
      GRANARY_ASSIGN_OR_RETURN(std::vector<StoredEntry> page,
                               records_.ScanEntries(directory, after, kStoreScanPageEntries));
      for (const StoredEntry& entry : page) {
        ++usage.names;
        usage.bytes += ChargedBytes(entry.inode);
        if (entry.inode.type() == proto::INODE_TYPE_DIRECTORY) {
          pending.push_back(InodeId(entry.inode.id()));
        }
      }
      if (page.size() < kStoreScanPageEntries) break;
      after = page.back().entry.name;
    }
  }
  return usage;
}

Result<QuotaUsage> QuotaTracker::SubtreeUsage(const proto::Inode& root) {
  if (root.type() != proto::INODE_TYPE_DIRECTORY) return QuotaUsage{1, ChargedBytes(root)};
  if (const QuotaState* tracked = Find(InodeId(root.id()))) return tracked->used;
  return Measure(root);
}

QuotaCharges QuotaTracker::ChargesFor(const std::vector<proto::Inode>& chain, size_t count,
                                      QuotaDelta delta) const {
  QuotaCharges charges;
  if (quotas_.empty() || delta.zero()) return charges;
  assert(count <= chain.size());
  for (size_t i = 0; i < count; ++i) {
    const InodeId id(chain[i].id());
    if (quotas_.count(id) != 0) charges.emplace_back(id, delta);
  }
  return charges;
}

Result<QuotaCharges> QuotaTracker::RenameCharges(const std::vector<proto::Inode>& from,
                                                 size_t src_count,
                                                 const std::vector<proto::Inode>& to,
                                                 size_t dst_count, const proto::Inode& moving,
                                                 const proto::Inode* replaced) {
  QuotaCharges charges;
  if (quotas_.empty()) return charges;
  assert(src_count <= from.size() && dst_count <= to.size());
  // Each quota'd directory above either side: is it above the source, the destination?
  std::map<InodeId, std::pair<bool, bool>> sides;
  for (size_t i = 0; i < src_count; ++i) {
    if (quotas_.count(InodeId(from[i].id())) != 0) sides[InodeId(from[i].id())].first = true;
  }
  for (size_t i = 0; i < dst_count; ++i) {
    if (quotas_.count(InodeId(to[i].id())) != 0) sides[InodeId(to[i].id())].second = true;
  }
  if (sides.empty()) return charges;
  QuotaUsage gone;
  if (replaced != nullptr) {
    GRANARY_ASSIGN_OR_RETURN(gone, SubtreeUsage(*replaced));
  }
  QuotaUsage moved;
  // The moved subtree is measured only when some quota sees it come or go.
  for (const auto& [id, side] : sides) {
    if (side.first != side.second) {
      GRANARY_ASSIGN_OR_RETURN(moved, SubtreeUsage(moving));
      break;
    }
  }
  for (const auto& [id, side] : sides) {
    const int64_t in = (side.second ? 1 : 0) - (side.first ? 1 : 0);
    const int64_t lost = side.second ? 1 : 0;
    const QuotaDelta delta{
        in * static_cast<int64_t>(moved.names) - lost * static_cast<int64_t>(gone.names),
        in * static_cast<int64_t>(moved.bytes) - lost * static_cast<int64_t>(gone.bytes)};
    if (!delta.zero()) charges.emplace_back(id, delta);
  }
  return charges;
}

Status QuotaTracker::Charge(const QuotaCharges& charges,
                            const std::function<std::string(InodeId)>& path_of) {
  if (quotas_.empty()) return Status::Ok();
  for (const auto& [id, delta] : charges) {
    auto found = quotas_.find(id);
    if (found == quotas_.end()) continue;
    const QuotaState& state = found->second;
    if (Exceeds(state.used.names, delta.names, state.names_max)) {
      return Status(StatusCode::kQuotaExceeded, "name quota of " + path_of(id) + " exceeded: " +
                                                    std::to_string(state.names_max) + " names (" +
                                                    std::to_string(state.used.names) + " used)");
    }
    if (Exceeds(state.used.bytes, delta.bytes, state.bytes_max)) {
      return Status(StatusCode::kQuotaExceeded, "space quota of " + path_of(id) + " exceeded: " +
                                                    std::to_string(state.bytes_max) + " bytes (" +
                                                    std::to_string(state.used.bytes) + " used, " +
                                                    std::to_string(delta.bytes) + " more asked)");
    }
  }
  for (const auto& [id, delta] : charges) {
    auto found = quotas_.find(id);
    if (found == quotas_.end()) continue;
    found->second.used.names = Applied(found->second.used.names, delta.names);
    found->second.used.bytes = Applied(found->second.used.bytes, delta.bytes);
  }
  return Status::Ok();
}

void QuotaTracker::Undo(const QuotaCharges& charges) {
  for (const auto& [id, delta] : charges) {
    auto found = quotas_.find(id);
    if (found == quotas_.end()) continue;
    found->second.used.names = Applied(found->second.used.names, -delta.names);
    found->second.used.bytes = Applied(found->second.used.bytes, -delta.bytes);
  }
}

void QuotaTracker::Set(InodeId id, const proto::DirectoryQuota& limits, QuotaUsage used) {
  quotas_[id] = QuotaState{limits.names_max(), limits.bytes_max(), used};
}

}  // namespace granary
