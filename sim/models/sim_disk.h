// SimDisk: the Disk seam of one simulated process incarnation over its machine's files
// (SimDiskStorage, sim_disk_storage.h).
//
// Timing: an operation waits for one of the profile's queue_depth service slots, then its
// fixed latency, then its bytes through the disk's one bandwidth channel. Effects happen
// when the operation completes; an operation whose process crashes before then has no
// effect and returns kNodeDown.
//
// Crash model (the contract of core/seams/disk.h): for each file, in name order, the bytes
// appended since its last completed Sync are dropped (one time in two), torn to a random
// prefix (one in four) or kept (one in four), drawn from the disk's own seeded generator.
// Create, Truncate, Rename and Remove are durable once they complete.
//
// Faults: Corrupt flips bits of stored bytes silently; SetFull makes every Append fail with
// kNoSpace until cleared (and the capacity of the profile is enforced always).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/random.h"
#include "core/common/status.h"
#include "core/common/time.h"
#include "core/seams/disk.h"
#include "sim/models/sim_disk_storage.h"

namespace granary::sim {

class SimProcess;

// The Disk seam of one process incarnation.
class SimDisk final : public Disk {
 public:
  SimDisk(SimProcess& process, SimDiskStorage& storage);

  Status Create(std::string_view name) override;
  Status Append(std::string_view name, std::string_view data) override;
  Result<std::string> Read(std::string_view name, uint64_t offset, uint64_t length) override;
  Status Sync(std::string_view name) override;
  Status Truncate(std::string_view name, uint64_t length) override;
  Status Rename(std::string_view from, std::string_view to) override;
  Status Remove(std::string_view name) override;
  Result<uint64_t> Size(std::string_view name) override;
  Result<std::vector<std::string>> List(std::string_view prefix) override;
  Result<DiskUsage> Usage() override;

 private:
  // Waits for an operation of `latency` moving `bytes` to complete.
  Status Service(Duration latency, uint64_t bytes, uint64_t digest);
  // Waits for a sync (of a directory or a file): on the disk's slots, and for its latency
  // on one of the host's sync slots when the profile shares them.
  Status SyncService(bool directory, uint64_t digest);

  SimProcess& process_;
  SimDiskStorage& storage_;
};

}  // namespace granary::sim
