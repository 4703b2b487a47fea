#include "sim/models/sim_meta_store.h"

#include "sim/kernel/sim_process.h"

namespace granary::sim {

SimMetaStore::SimMetaStore(SimProcess& process, MemStore& store, MetaStoreProfile profile)
    : process_(process),
      store_(store),
      profile_(profile),
      commit_random_(process.random().Derive("store-commit")) {}

Status SimMetaStore::Wait(Duration latency, uint64_t digest) {
  return process_.WaitUntil(process_.simulator().Now() + latency, EventKind::kDiskDone, digest);
}

Result<std::string> SimMetaStore::Get(std::string_view key, const Snapshot* snapshot) {
  GRANARY_RETURN_IF_ERROR(Wait(profile_.read_latency, HashBytes(key)));
  return store_.Get(key, snapshot);
}

Status SimMetaStore::GetAppend(std::string_view key, std::string& out, const Snapshot* snapshot) {
  GRANARY_RETURN_IF_ERROR(Wait(profile_.read_latency, HashBytes(key)));
  return store_.GetAppend(key, out, snapshot);
}

Result<std::vector<KeyValue>> SimMetaStore::Scan(std::string_view start, std::string_view end,
                                                 uint32_t limit, const Snapshot* snapshot) {
  GRANARY_RETURN_IF_ERROR(Wait(profile_.read_latency, HashBytes(start) ^ limit));
  return store_.Scan(start, end, limit, snapshot);
}

Status SimMetaStore::Write(const WriteBatch& batch) {
  GRANARY_RETURN_IF_ERROR(batch.Validate());
  const std::vector<Duration>& samples = profile_.write_samples;
  const Duration latency =
      samples.empty() ? profile_.write_latency : samples[commit_random_.Below(samples.size())];
  GRANARY_RETURN_IF_ERROR(Wait(latency + profile_.write_delay, batch.size()));
  // Applied in one step once the modelled sync completes: atomic, and lost entirely when
  // the process crashed before.
  return store_.Write(batch);
}

}  // namespace granary::sim
