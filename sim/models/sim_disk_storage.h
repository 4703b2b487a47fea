// SimDiskStorage: the files of one simulated machine's disk, and the disk's timing model.
// It belongs to the machine (sim/models/sim_machine.h) and survives process crashes; SimDisk
// (sim_disk.h) is the Disk seam of one process over it.
//
// Timing: an operation waits for one of the profile's queue_depth service slots, then its
// fixed latency, then its bytes through the disk's one bandwidth channel (Reserve).
//
// Crash model (the contract of core/seams/disk.h): for each file, in name order, the bytes
// appended since its last completed Sync are dropped (one time in two), torn to a random
// prefix (one in four) or kept (one in four), drawn from the disk's own seeded generator.
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
#include "sim/models/profiles.h"

namespace granary::sim {

class SimDiskStorage {
 public:
  SimDiskStorage(DiskProfile profile, Random random);

  const DiskProfile& profile() const { return profile_; }

  // The data model: immediate, no timing.
  Status Create(std::string_view name);
  Status Append(std::string_view name, std::string_view data);
  Result<std::string> Read(std::string_view name, uint64_t offset, uint64_t length) const;
  // Marks the first `length` bytes of the file durable.
  Status MarkSynced(std::string_view name, uint64_t length);
  Status Truncate(std::string_view name, uint64_t length);
  Status Rename(std::string_view from, std::string_view to);
  Status Remove(std::string_view name);
  Result<uint64_t> Size(std::string_view name) const;
  std::vector<std::string> List(std::string_view prefix) const;
  DiskUsage Usage() const { return DiskUsage{profile_.capacity_bytes, used_bytes_}; }
  // Bytes of `name` that a crash now could lose.
  uint64_t UnsyncedBytes(std::string_view name) const;
  // Bytes moved through the disk's bandwidth channel so far, and operations served.
  uint64_t bytes_moved() const { return bytes_moved_; }
  // Syncs so far through the timing model: of files (Sync, Truncate) and of directories
  // (after Create, Rename, Remove).
  uint64_t file_syncs() const { return file_syncs_; }
  uint64_t directory_syncs() const { return directory_syncs_; }
  void CountSync(bool directory) { ++(directory ? directory_syncs_ : file_syncs_); }
  // A sync's latency: the profile's fixed one, or one of its samples (DiskProfile).
  Duration SyncLatency(bool directory);
  uint64_t operations() const { return operations_; }

  // The timing model: when an operation of `latency` moving `bytes`, issued at `now`,
  // completes. Reserves the slot and the bandwidth.
  Instant Reserve(Instant now, Duration latency, uint64_t bytes);

  // Faults.
  void Crash();
  // Flips the bits of one byte at `offset` (kNotFound / kInvalidArgument when outside).
  Status Corrupt(std::string_view name, uint64_t offset);
  void SetFull(bool full) { forced_full_ = full; }

 private:
  struct File {
    std::string data;
    uint64_t synced_bytes = 0;
    // Content-free (DiskProfile::content_free): only the length is kept, in `hollow_bytes`.
    bool hollow = false;
    uint64_t hollow_bytes = 0;
    uint64_t size() const { return hollow ? hollow_bytes : data.size(); }
    void Resize(uint64_t length) {
      if (hollow) {
        hollow_bytes = length;
      } else {
        data.resize(length);
      }
    }
  };

  DiskProfile profile_;
  Random random_;
  // Only drawn from when the profile has sync samples (a stream of its own, so the crash
  // draws of runs without samples do not move).
  Random sync_random_;
  std::map<std::string, File, std::less<>> files_;
  uint64_t used_bytes_ = 0;
  bool forced_full_ = false;
  std::vector<Instant> slot_free_;
  Instant bandwidth_free_{};
  uint64_t bytes_moved_ = 0;
  uint64_t file_syncs_ = 0;
  uint64_t directory_syncs_ = 0;
  uint64_t operations_ = 0;
};

}  // namespace granary::sim
