#include "core/namenode/datanode_manager.h"

#include <algorithm>
#include <cassert>

#include "core/common/limits.h"
#include "core/seams/transport.h"

namespace granary {
proto::DatanodeInfo DatanodeRecord::Info() const {
  proto::DatanodeInfo info;
  info.set_datanode_id(id);
  info.set_address(address);
  info.set_rack(rack);
  return info;
}

Status DatanodeManager::ValidateRegistration(const proto::RegisterRequest& request) {
  if (request.address().empty() || request.address().size() > kNameBytesMax) {
    return Status(StatusCode::kInvalidArgument, "datanode address missing or too long");
  }
  if (request.storage_id().empty() || request.storage_id().size() > kNameBytesMax ||
      request.rack().size() > kNameBytesMax) {
    return Status(StatusCode::kInvalidArgument, "storage id missing or too long");
  }
  return Status::Ok();
}

Status DatanodeManager::Register(uint32_t id, const proto::RegisterRequest& request, Instant now) {
  GRANARY_RETURN_IF_ERROR(ValidateRegistration(request));
  if (!datanodes_.count(id) && datanodes_.size() >= kDatanodesMax) {
    return Status(StatusCode::kLimitExceeded, "too many datanodes");
  }
  DatanodeRecord& record = datanodes_[id];
  record.id = id;
  record.address = request.address();
  record.rack = request.rack();
  record.storage_id = request.storage_id();
  record.capacity_bytes = request.capacity_bytes();
  record.used_bytes = request.used_bytes();
  record.last_heartbeat = now;
  record.live = true;
  record.commands.clear();
  assert(record.id == id);
  assert(datanodes_.size() <= kDatanodesMax);
  return Status::Ok();
}

Status DatanodeManager::Heartbeat(const proto::HeartbeatRequest& request, Instant now) {
  auto it = datanodes_.find(request.datanode_id());
  if (it == datanodes_.end() || !it->second.live) {
    return Status(StatusCode::kNotFound,
                  "unknown datanode " + std::to_string(request.datanode_id()));
  }
  DatanodeRecord& record = it->second;
  record.last_heartbeat = now;
  record.capacity_bytes = request.capacity_bytes();
  record.used_bytes = request.used_bytes();
  record.recent_writes /= 2;
  return Status::Ok();
}

std::vector<uint32_t> DatanodeManager::ExpireSilent(Instant now, Duration dead_after) {
  std::vector<uint32_t> expired;
  for (auto& [id, record] : datanodes_) {
    if (record.live && now - record.last_heartbeat > dead_after) {
      record.live = false;
      record.commands.clear();
      expired.push_back(id);
    }
  }
  return expired;
}

std::vector<uint32_t> DatanodeManager::ChooseTargets(uint32_t count,
                                                     const std::vector<uint32_t>& excluded) {
  struct Candidate {
    uint32_t id;
    uint32_t recent_writes;
    double used_fraction;
    uint64_t tie;
  };
  std::vector<Candidate> candidates;
  for (const auto& [id, record] : datanodes_) {
    if (!record.live) continue;
    if (std::find(excluded.begin(), excluded.end(), id) != excluded.end()) continue;
    if (record.capacity_bytes > 0 && record.used_bytes >= record.capacity_bytes) continue;
    const double used = record.capacity_bytes == 0
                            ? 0
                            : static_cast<double>(record.used_bytes) / record.capacity_bytes;
    candidates.push_back({id, record.recent_writes, used, random_.Next()});
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    if (a.recent_writes != b.recent_writes) return a.recent_writes < b.recent_writes;
    // Disks within a few percent of each other count as equally full.
    const int a_bucket = static_cast<int>(a.used_fraction * 20);
    const int b_bucket = static_cast<int>(b.used_fraction * 20);
    if (a_bucket != b_bucket) return a_bucket < b_bucket;
    return a.tie < b.tie;
  });
  std::vector<uint32_t> chosen;
  for (const Candidate& c : candidates) {
    if (chosen.size() == count) break;
    chosen.push_back(c.id);
    ++datanodes_[c.id].recent_writes;
  }
  assert(chosen.size() <= count);
  return chosen;
}

void DatanodeManager::SortByDistance(std::vector<uint32_t>& ids,
                                     const std::string& client_address) {
  const std::string_view client_host = HostOf(client_address);
  std::string client_rack;
  for (const auto& [id, record] : datanodes_) {
    if (!client_host.empty() && HostOf(record.address) == client_host) client_rack = record.rack;
  }
  std::vector<std::pair<std::pair<int, uint64_t>, uint32_t>> keyed;
  for (uint32_t id : ids) {
    const DatanodeRecord* record = Find(id);
    int distance = 2;
    if (record != nullptr && HostOf(record->address) == client_host) {
      distance = 0;
    } else if (record != nullptr && !client_rack.empty() && record->rack == client_rack) {
      distance = 1;
    }
    keyed.push_back({{distance, random_.Next()}, id});
  }
  std::sort(keyed.begin(), keyed.end());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = keyed[i].second;
}

void DatanodeManager::QueueCommand(uint32_t id, proto::DatanodeCommand command) {
  auto it = datanodes_.find(id);
  if (it == datanodes_.end() || !it->second.live) return;
  // A full queue drops the command: the monitors issue it again when still needed.
  if (it->second.commands.size() >= kDatanodeCommandsQueuedMax) return;
  it->second.commands.push_back(std::move(command));
  assert(it->second.commands.size() <= kDatanodeCommandsQueuedMax);
}

std::vector<proto::DatanodeCommand> DatanodeManager::TakeCommands(uint32_t id) {
  std::vector<proto::DatanodeCommand> out;
  auto it = datanodes_.find(id);
  if (it == datanodes_.end()) return out;
  auto& queue = it->second.commands;
  while (!queue.empty() && out.size() < kCommandsPerHeartbeatMax) {
    out.push_back(std::move(queue.front()));
    queue.pop_front();
  }
  return out;
}

const DatanodeRecord* DatanodeManager::Find(uint32_t id) const {
  auto it = datanodes_.find(id);
  return it == datanodes_.end() ? nullptr : &it->second;
}

bool DatanodeManager::IsLive(uint32_t id) const {
  const DatanodeRecord* record = Find(id);
  return record != nullptr && record->live;
}

size_t DatanodeManager::live_count() const {
  size_t n = 0;
  for (const auto& [id, record] : datanodes_) n += record.live ? 1 : 0;
  return n;
}

}  // namespace granary
