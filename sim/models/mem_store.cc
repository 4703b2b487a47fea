#include "sim/models/mem_store.h"

#include <cassert>

#include "core/common/limits.h"

namespace granary::sim {

class MemStore::MemSnapshot final : public Snapshot {
 public:
  MemSnapshot(MemStore& store, uint64_t sequence) : store_(store), sequence_(sequence) {
    store_.live_snapshots_.insert(sequence_);
  }
  ~MemSnapshot() override { store_.live_snapshots_.erase(store_.live_snapshots_.find(sequence_)); }
  uint64_t sequence() const { return sequence_; }
  const MemStore* store() const { return &store_; }

 private:
  MemStore& store_;
  const uint64_t sequence_;
};

MemStore::~MemStore() { assert(live_snapshots_.empty()); }

const MemStore::Version* MemStore::Visible(const std::vector<Version>& versions,
                                           uint64_t sequence) {
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    if (it->sequence <= sequence) return it->deleted ? nullptr : &*it;
  }
  return nullptr;
}

uint64_t MemStore::ReadSequence(const Snapshot* snapshot) const {
  if (snapshot == nullptr) return sequence_;
  const auto* mine = dynamic_cast<const MemSnapshot*>(snapshot);
  assert(mine != nullptr && mine->store() == this);  // a snapshot of another store is a bug
  return mine->sequence();
}

Result<std::string> MemStore::Get(std::string_view key, const Snapshot* snapshot) {
  std::string value;
  GRANARY_RETURN_IF_ERROR(GetAppend(key, value, snapshot));
  return value;
}

Status MemStore::GetAppend(std::string_view key, std::string& out, const Snapshot* snapshot) {
  auto it = data_.find(key);
  if (it != data_.end()) {
    if (const Version* v = Visible(it->second, ReadSequence(snapshot))) {
      out.append(v->value);
      return Status::Ok();
    }
  }
  return Status(StatusCode::kNotFound, "no key");
}

Result<std::vector<KeyValue>> MemStore::Scan(std::string_view start, std::string_view end,
                                             uint32_t limit, const Snapshot* snapshot) {
  if (limit == 0 || limit > kMetaScanEntriesMax) {
    return Status(StatusCode::kInvalidArgument, "scan limit outside 1..kMetaScanEntriesMax");
  }
  const uint64_t sequence = ReadSequence(snapshot);
  std::vector<KeyValue> out;
  for (auto it = data_.lower_bound(start); it != data_.end() && out.size() < limit; ++it) {
    if (!end.empty() && it->first >= end) break;
    if (const Version* v = Visible(it->second, sequence)) out.push_back({it->first, v->value});
  }
  return out;
}

Status MemStore::Write(const WriteBatch& batch) {
  GRANARY_RETURN_IF_ERROR(batch.Validate());
  const uint64_t sequence = ++sequence_;
  for (const WriteBatch::Op& op : batch.ops()) {
    std::vector<Version>& versions = data_[op.key];
    const bool was_live = Visible(versions, sequence) != nullptr;
    const bool deleted = op.kind == WriteBatch::Op::Kind::kDelete;
    if (!versions.empty() && versions.back().sequence == sequence) {
      versions.back() = Version{sequence, deleted, deleted ? std::string() : op.value};
    } else {
      versions.push_back(Version{sequence, deleted, deleted ? std::string() : op.value});
    }
    if (was_live && deleted) --live_keys_;
    if (!was_live && !deleted) ++live_keys_;
    Prune(versions);
    if (versions.empty()) data_.erase(op.key);
  }
  return Status::Ok();
}

void MemStore::Prune(std::vector<Version>& versions) {
  // Keep every version newer than the oldest snapshot, and the one it sees.
  const uint64_t oldest = live_snapshots_.empty() ? sequence_ : *live_snapshots_.begin();
  size_t first_kept = 0;
  for (size_t i = 0; i < versions.size(); ++i) {
    if (versions[i].sequence <= oldest) first_kept = i;
  }
  versions.erase(versions.begin(), versions.begin() + static_cast<std::ptrdiff_t>(first_kept));
  if (versions.size() == 1 && versions[0].deleted && versions[0].sequence <= oldest) {
    versions.clear();
  }
}

std::shared_ptr<const Snapshot> MemStore::GetSnapshot() {
  return std::make_shared<MemSnapshot>(*this, sequence_);
}

}  // namespace granary::sim
