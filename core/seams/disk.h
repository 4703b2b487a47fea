// Disk: one node's local storage, as a flat set of named files of bytes (DESIGN.md §3).
//
// Names are 1..kDiskFileNameBytesMax bytes of [A-Za-z0-9._-]; anything else is
// kInvalidArgument (the seam is never handed a path to escape through).
//
// Durability contract, which the crash model of SimDisk enforces and PosixDisk implements:
//   - Append puts bytes at the end of a file. They are readable at once but durable only once
//     a later Sync(name) returns ok. A crash keeps, for each file, everything synced and any
//     prefix (possibly none, possibly all) of what was appended after the last sync.
//   - Create, Truncate, Rename and Remove are durable when they return ok (the real disk
//     syncs the directory). Rename atomically replaces an existing target.
//   - kNoSpace: the disk is full; the failed Append wrote nothing.
//   - kCorruption is never returned by the disk: the bytes may be silently wrong (bit rot),
//     which is why every block carries checksums above this seam.
//   - kNodeDown: the calling process crashed; the operation may or may not have happened.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"

namespace granary {

struct DiskUsage {
  uint64_t capacity_bytes = 0;
  uint64_t used_bytes = 0;
};

class Disk {
 public:
  virtual ~Disk() = default;

  // Creates an empty file; kAlreadyExists when the name is taken.
  virtual Status Create(std::string_view name) = 0;
  virtual Status Append(std::string_view name, std::string_view data) = 0;
  // Reads up to `length` bytes (at most kDiskReadBytesMax) at `offset`; fewer at the end of
  // the file, none past it. kNotFound for a missing file.
  virtual Result<std::string> Read(std::string_view name, uint64_t offset, uint64_t length) = 0;
  virtual Status Sync(std::string_view name) = 0;
  // Cuts a file to `length` bytes (no longer than it is).
  virtual Status Truncate(std::string_view name, uint64_t length) = 0;
  virtual Status Rename(std::string_view from, std::string_view to) = 0;
  virtual Status Remove(std::string_view name) = 0;
  virtual Result<uint64_t> Size(std::string_view name) = 0;
  // Names starting with `prefix`, in byte order.
  virtual Result<std::vector<std::string>> List(std::string_view prefix) = 0;
  virtual Result<DiskUsage> Usage() = 0;
};

// True when `name` is a valid file name for the Disk seam.
bool IsValidDiskFileName(std::string_view name);

}  // namespace granary
