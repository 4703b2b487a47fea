#include "core/namenode/lease_manager.h"

namespace granary {

void LeaseManager::Add(const std::string& client, uint64_t inode_id, Instant now) {
  Lease& lease = leases_[client];
  lease.renewed = now;
  lease.files.insert(inode_id);
}

void LeaseManager::Remove(const std::string& client, uint64_t inode_id) {
  auto it = leases_.find(client);
  if (it == leases_.end()) return;
  it->second.files.erase(inode_id);
  if (it->second.files.empty()) leases_.erase(it);
}

void LeaseManager::Renew(const std::string& client, Instant now) {
  auto it = leases_.find(client);
  if (it != leases_.end()) it->second.renewed = now;
}

std::vector<std::pair<std::string, uint64_t>> LeaseManager::Expired(Instant now,
                                                                    Duration hard_limit) const {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const auto& [client, lease] : leases_) {
    if (now - lease.renewed <= hard_limit) continue;
    for (uint64_t file : lease.files) out.emplace_back(client, file);
  }
  return out;
}

bool LeaseManager::SoftExpired(const std::string& client, Instant now, Duration soft_limit) const {
  auto it = leases_.find(client);
  return it == leases_.end() || now - it->second.renewed > soft_limit;
}

size_t LeaseManager::open_files() const {
  size_t n = 0;
  for (const auto& [client, lease] : leases_) n += lease.files.size();
  return n;
}

}  // namespace granary
