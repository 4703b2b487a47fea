// SimMetaStore: the MetaStore seam of one simulated process incarnation over its machine's
// MemStore (mem_store.h). Each read waits the profile's read latency and each batch its write
// latency before the store applies it; once the incarnation crashes, every call returns
// kNodeDown and a batch not yet applied never is.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/random.h"
#include "core/seams/meta_store.h"
#include "sim/models/mem_store.h"
#include "sim/models/profiles.h"

namespace granary::sim {

class SimProcess;

// The MetaStore seam of one simulated process over its machine's MemStore.
class SimMetaStore final : public MetaStore {
 public:
  SimMetaStore(SimProcess& process, MemStore& store, MetaStoreProfile profile);

  Result<std::string> Get(std::string_view key, const Snapshot* snapshot = nullptr) override;
  // As Get: the same latency, then the machine's store appends in place.
  Status GetAppend(std::string_view key, std::string& out,
                   const Snapshot* snapshot = nullptr) override;
  Result<std::vector<KeyValue>> Scan(std::string_view start, std::string_view end, uint32_t limit,
                                     const Snapshot* snapshot = nullptr) override;
  Status Write(const WriteBatch& batch) override;
  std::shared_ptr<const Snapshot> GetSnapshot() override { return store_.GetSnapshot(); }

 private:
  Status Wait(Duration latency, uint64_t digest);

  SimProcess& process_;
  MemStore& store_;
  const MetaStoreProfile profile_;
  // Draws the commit latency when the profile has samples.
  Random commit_random_;
};

}  // namespace granary::sim
