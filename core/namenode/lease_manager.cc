#include "core/namenode/lease_manager.h"

#include <cassert>

namespace granary {

void LeaseManager::Add(const std::string& client_name, InodeId file, Instant now) {
  Lease& lease = leases_[client_name];
  lease.renewed = now;
  lease.files.insert(file);
}

void LeaseManager::Remove(const std::string& client_name, InodeId file) {
  auto it = leases_.find(client_name);
  if (it == leases_.end()) return;
  it->second.files.erase(file);
  if (it->second.files.empty()) leases_.erase(it);
}

void LeaseManager::Renew(const std::string& client_name, Instant now) {
  auto it = leases_.find(client_name);
  if (it != leases_.end()) it->second.renewed = now;
}

std::vector<std::pair<std::string, InodeId>> LeaseManager::Expired(Instant now,
                                                                   Duration hard_limit) const {
  std::vector<std::pair<std::string, InodeId>> out;
  for (const auto& [client_name, lease] : leases_) {
    assert(!lease.files.empty());  // a lease ends with its last file
    if (now - lease.renewed <= hard_limit) continue;
    for (InodeId file : lease.files) out.emplace_back(client_name, file);
  }
  return out;
}

bool LeaseManager::SoftExpired(const std::string& client_name, Instant now,
                               Duration soft_limit) const {
  auto it = leases_.find(client_name);
  return it == leases_.end() || now - it->second.renewed > soft_limit;
}

size_t LeaseManager::open_files() const {
  size_t n = 0;
  for (const auto& [client_name, lease] : leases_) {
    assert(!lease.files.empty());
    n += lease.files.size();
  }
  return n;
}

}  // namespace granary
