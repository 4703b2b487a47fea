#include "sim/models/sim_disk.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "core/common/limits.h"
#include "sim/kernel/sim_process.h"

namespace granary::sim {
namespace {

Status BadName(std::string_view name) {
  return Status(StatusCode::kInvalidArgument, "invalid disk file name '" + std::string(name) + "'");
}

}  // namespace

SimDisk::SimDisk(SimProcess& process, SimDiskStorage& storage)
    : process_(process), storage_(storage) {}

Status SimDisk::Service(Duration latency, uint64_t bytes, uint64_t digest) {
  const Instant done = storage_.Reserve(process_.simulator().Now(), latency, bytes);
  return process_.WaitUntil(done, EventKind::kDiskDone, digest);
}

Status SimDisk::SyncService(bool directory, uint64_t digest) {
  storage_.CountSync(directory);
  const Duration latency = storage_.SyncLatency(directory);
  const Duration delay = storage_.profile().sync_delay;
  const std::shared_ptr<std::vector<Instant>>& host = storage_.profile().host_sync_slots;
  if (host == nullptr || host->empty()) {
    GRANARY_RETURN_IF_ERROR(Service(latency, 0, digest));
  } else {
    auto slot = std::min_element(host->begin(), host->end());
    const Instant start = std::max(process_.simulator().Now(), *slot);
    *slot = start + latency;
    GRANARY_RETURN_IF_ERROR(process_.WaitUntil(*slot, EventKind::kDiskDone, digest));
  }
  if (delay <= Duration(0)) return Status::Ok();
  return process_.WaitUntil(process_.simulator().Now() + delay, EventKind::kDiskDone, digest);
}

Status SimDisk::Create(std::string_view name) {
  if (!IsValidDiskFileName(name)) return BadName(name);
  GRANARY_RETURN_IF_ERROR(SyncService(true, HashBytes(name)));
  return storage_.Create(name);
}

Status SimDisk::Append(std::string_view name, std::string_view data) {
  if (!IsValidDiskFileName(name)) return BadName(name);
  GRANARY_RETURN_IF_ERROR(
      Service(storage_.profile().write_latency, data.size(), HashBytes(name) ^ data.size()));
  return storage_.Append(name, data);
}

Result<std::string> SimDisk::Read(std::string_view name, uint64_t offset, uint64_t length) {
  if (!IsValidDiskFileName(name)) return BadName(name);
  if (length > kDiskReadBytesMax) {
    return Status(StatusCode::kInvalidArgument, "read exceeds kDiskReadBytesMax");
  }
  GRANARY_ASSIGN_OR_RETURN(uint64_t size, storage_.Size(name));
  const uint64_t bytes = offset >= size ? 0 : std::min(length, size - offset);
  GRANARY_RETURN_IF_ERROR(
      Service(storage_.profile().read_latency, bytes, HashBytes(name) ^ offset));
  return storage_.Read(name, offset, length);
}

Status SimDisk::Sync(std::string_view name) {
  if (!IsValidDiskFileName(name)) return BadName(name);
  // Everything appended before the sync began becomes durable when it completes.
  GRANARY_ASSIGN_OR_RETURN(uint64_t size, storage_.Size(name));
  GRANARY_RETURN_IF_ERROR(SyncService(false, HashBytes(name) ^ size));
  return storage_.MarkSynced(name, size);
}

Status SimDisk::Truncate(std::string_view name, uint64_t length) {
  if (!IsValidDiskFileName(name)) return BadName(name);
  GRANARY_RETURN_IF_ERROR(SyncService(false, HashBytes(name) ^ length));
  return storage_.Truncate(name, length);
}

Status SimDisk::Rename(std::string_view from, std::string_view to) {
  if (!IsValidDiskFileName(from)) return BadName(from);
  if (!IsValidDiskFileName(to)) return BadName(to);
  GRANARY_RETURN_IF_ERROR(SyncService(true, HashBytes(from) ^ HashBytes(to)));
  return storage_.Rename(from, to);
}

Status SimDisk::Remove(std::string_view name) {
  if (!IsValidDiskFileName(name)) return BadName(name);
  GRANARY_RETURN_IF_ERROR(SyncService(true, HashBytes(name)));
  return storage_.Remove(name);
}

Result<uint64_t> SimDisk::Size(std::string_view name) {
  if (!IsValidDiskFileName(name)) return BadName(name);
  if (!process_.alive()) return Status(StatusCode::kNodeDown, "crashed");
  return storage_.Size(name);
}

Result<std::vector<std::string>> SimDisk::List(std::string_view prefix) {
  GRANARY_RETURN_IF_ERROR(Service(storage_.profile().read_latency, 0, HashBytes(prefix)));
  return storage_.List(prefix);
}

Result<DiskUsage> SimDisk::Usage() {
  if (!process_.alive()) return Status(StatusCode::kNodeDown, "crashed");
  return storage_.Usage();
}

}  // namespace granary::sim
