#include "sim/models/sim_disk_storage.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace granary::sim {
namespace {

Status NoFile(std::string_view name) {
  return Status(StatusCode::kNotFound, "no file " + std::string(name));
}

}  // namespace

SimDiskStorage::SimDiskStorage(DiskProfile profile, Random random)
    : profile_(profile),
      random_(random),
      sync_random_(random.Derive("sync-latency")),
      slot_free_(std::max(profile.queue_depth, 1u)) {}

Duration SimDiskStorage::SyncLatency(bool directory) {
  const std::vector<Duration>& samples = directory && !profile_.directory_sync_samples.empty()
                                             ? profile_.directory_sync_samples
                                             : profile_.sync_samples;
  if (directory && profile_.directory_sync_samples.empty() &&
      profile_.directory_sync_latency.has_value()) {
    return *profile_.directory_sync_latency;
  }
  if (samples.empty()) return profile_.sync_latency;
  return samples[sync_random_.Below(samples.size())];
}

Status SimDiskStorage::Create(std::string_view name) {
  if (files_.count(name)) {
    return Status(StatusCode::kAlreadyExists, "file " + std::string(name) + " exists");
  }
  File file;
  file.hollow = profile_.content_free && name.ends_with(".data");
  files_.emplace(std::string(name), std::move(file));
  return Status::Ok();
}

Status SimDiskStorage::Append(std::string_view name, std::string_view data) {
  auto it = files_.find(name);
  if (it == files_.end()) return NoFile(name);
  if (forced_full_ || used_bytes_ + data.size() > profile_.capacity_bytes) {
    return Status(StatusCode::kNoSpace, "disk full appending to " + std::string(name));
  }
  if (it->second.hollow) {
    it->second.hollow_bytes += data.size();
  } else {
    it->second.data.append(data);
  }
  used_bytes_ += data.size();
  return Status::Ok();
}

Result<std::string> SimDiskStorage::Read(std::string_view name, uint64_t offset,
                                         uint64_t length) const {
  auto it = files_.find(name);
  if (it == files_.end()) return NoFile(name);
  const File& file = it->second;
  if (offset >= file.size()) return std::string();
  const uint64_t n = std::min<uint64_t>(length, file.size() - offset);
  if (file.hollow) return std::string(n, '\0');
  return file.data.substr(offset, n);
}

Status SimDiskStorage::MarkSynced(std::string_view name, uint64_t length) {
  auto it = files_.find(name);
  if (it == files_.end()) return NoFile(name);
  File& file = it->second;
  file.synced_bytes = std::max(file.synced_bytes, std::min<uint64_t>(length, file.size()));
  return Status::Ok();
}

Status SimDiskStorage::Truncate(std::string_view name, uint64_t length) {
  auto it = files_.find(name);
  if (it == files_.end()) return NoFile(name);
  File& file = it->second;
  if (length > file.size()) {
    return Status(StatusCode::kInvalidArgument, "truncate beyond the end of " + std::string(name));
  }
  used_bytes_ -= file.size() - length;
  file.Resize(length);
  file.synced_bytes = std::min(file.synced_bytes, length);
  return Status::Ok();
}

Status SimDiskStorage::Rename(std::string_view from, std::string_view to) {
  auto it = files_.find(from);
  if (it == files_.end()) return NoFile(from);
  if (from == to) return Status::Ok();
  File file = std::move(it->second);
  files_.erase(it);
  auto target = files_.find(to);
  if (target != files_.end()) {
    used_bytes_ -= target->second.size();
    files_.erase(target);
  }
  files_.emplace(std::string(to), std::move(file));
  return Status::Ok();
}

Status SimDiskStorage::Remove(std::string_view name) {
  auto it = files_.find(name);
  if (it == files_.end()) return NoFile(name);
  used_bytes_ -= it->second.size();
  files_.erase(it);
  return Status::Ok();
}

Result<uint64_t> SimDiskStorage::Size(std::string_view name) const {
  auto it = files_.find(name);
  if (it == files_.end()) return NoFile(name);
  return it->second.size();
}

std::vector<std::string> SimDiskStorage::List(std::string_view prefix) const {
  std::vector<std::string> names;
  for (auto it = files_.lower_bound(prefix); it != files_.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    names.push_back(it->first);
  }
  return names;
}

uint64_t SimDiskStorage::UnsyncedBytes(std::string_view name) const {
  auto it = files_.find(name);
  if (it == files_.end()) return 0;
  return it->second.size() - it->second.synced_bytes;
}

Instant SimDiskStorage::Reserve(Instant now, Duration latency, uint64_t bytes) {
  auto slot = std::min_element(slot_free_.begin(), slot_free_.end());
  const Instant start = std::max(now, *slot);
  Instant done = start + latency;
  ++operations_;
  bytes_moved_ += bytes;
  if (bytes > 0) {
    const double seconds = static_cast<double>(bytes) / profile_.bandwidth_bytes_per_second;
    const Instant transfer_start = std::max(done, bandwidth_free_);
    done = transfer_start + Duration(static_cast<int64_t>(std::llround(seconds * 1e9)));
    bandwidth_free_ = done;
  }
  *slot = done;
  return done;
}

void SimDiskStorage::Crash() {
  for (auto& [name, file] : files_) {
    const uint64_t unsynced = file.size() - file.synced_bytes;
    if (unsynced > 0) {
      uint64_t keep = 0;
      switch (random_.Below(4)) {
        case 0:
        case 1:
          keep = 0;
          break;
        case 2:
          keep = random_.Below(unsynced + 1);
          break;
        default:
          keep = unsynced;
          break;
      }
      used_bytes_ -= unsynced - keep;
      file.Resize(file.synced_bytes + keep);
    }
    file.synced_bytes = file.size();
  }
  // Requests in service die with the process.
  std::fill(slot_free_.begin(), slot_free_.end(), Instant{});
  bandwidth_free_ = Instant{};
}

Status SimDiskStorage::Corrupt(std::string_view name, uint64_t offset) {
  auto it = files_.find(name);
  if (it == files_.end()) return NoFile(name);
  if (it->second.hollow) {
    return Status(StatusCode::kInvalidArgument,
                  "a content-free file cannot rot: " + std::string(name));
  }
  std::string& data = it->second.data;
  if (offset >= data.size()) {
    return Status(StatusCode::kInvalidArgument,
                  "corrupt offset past the end of " + std::string(name));
  }
  data[offset] = static_cast<char>(data[offset] ^ static_cast<char>(1 + random_.Below(255)));
  return Status::Ok();
}

}  // namespace granary::sim
