// MemStore: an ordered in-memory MetaStore with atomic batches and MVCC snapshots; the
// simulator's model of the namenode's RocksDB. SimMetaStore (sim_meta_store.h) binds it to a
// process and charges the latencies of a MetaStoreProfile.
//
// MemStore itself never suspends: a Write is applied in one step, so it is atomic with
// respect to every fiber. It belongs to a machine and survives process crashes, as a store
// whose every acknowledged write was synced does. Versions older than the oldest live
// snapshot are pruned when their key is next written.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/seams/meta_store.h"

namespace granary::sim {

class MemStore final : public MetaStore {
 public:
  MemStore() = default;
  // Requires every snapshot released.
  ~MemStore() override;

  Result<std::string> Get(std::string_view key, const Snapshot* snapshot = nullptr) override;
  Status GetAppend(std::string_view key, std::string& out,
                   const Snapshot* snapshot = nullptr) override;
  Result<std::vector<KeyValue>> Scan(std::string_view start, std::string_view end, uint32_t limit,
                                     const Snapshot* snapshot = nullptr) override;
  Status Write(const WriteBatch& batch) override;
  std::shared_ptr<const Snapshot> GetSnapshot() override;

  size_t key_count() const { return live_keys_; }
  uint64_t sequence() const { return sequence_; }

 private:
  class MemSnapshot;
  struct Version {
    uint64_t sequence;
    bool deleted;
    std::string value;
  };
  // The version visible at `sequence`, or null.
  static const Version* Visible(const std::vector<Version>& versions, uint64_t sequence);
  uint64_t ReadSequence(const Snapshot* snapshot) const;
  void Prune(std::vector<Version>& versions);

  std::map<std::string, std::vector<Version>, std::less<>> data_;
  uint64_t sequence_ = 0;
  size_t live_keys_ = 0;
  std::multiset<uint64_t> live_snapshots_;
};

}  // namespace granary::sim
