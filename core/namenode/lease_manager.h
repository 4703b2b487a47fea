// Leases: one writer per file (DESIGN.md §5b).
//
// A client holds one lease covering every file it has open for writing, renewed by its
// writes and by RenewLease. Past the soft limit another writer may take a file over by
// overwriting it; past the hard limit without renewal the namenode recovers the
// client's files: a file whose last block is being written has that block finalised at the
// longest length all its reachable replicas share (lease recovery on a datanode), and is
// then closed.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/common/time.h"

namespace granary {

class LeaseManager {
 public:
  void Add(const std::string& client, uint64_t inode_id, Instant now);
  void Remove(const std::string& client, uint64_t inode_id);
  void Renew(const std::string& client, Instant now);
  bool Holds(const std::string& client) const { return leases_.count(client) != 0; }
  // True when `client` holds no lease or has not renewed it for longer than `soft_limit`:
  // another writer may then take its files over.
  bool SoftExpired(const std::string& client, Instant now, Duration soft_limit) const;
  // Files of clients silent for longer than `hard_limit`, in client then inode order.
  std::vector<std::pair<std::string, uint64_t>> Expired(Instant now, Duration hard_limit) const;
  size_t open_files() const;

 private:
  struct Lease {
    Instant renewed;
    std::set<uint64_t> files;
  };
  std::map<std::string, Lease> leases_;
};

}  // namespace granary
