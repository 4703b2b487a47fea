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

#include "core/common/ids.h"
#include "core/common/time.h"

namespace granary {

// A client is named by its client_name (the requests' field; an inode records it as its
// lease_holder). A lease exists while it covers at least one file.
class LeaseManager {
 public:
  void Add(const std::string& client_name, InodeId file, Instant now);
  // Ends the lease on `file`; the client's lease ends with its last file.
  void Remove(const std::string& client_name, InodeId file);
  void Renew(const std::string& client_name, Instant now);
  bool Holds(const std::string& client_name) const { return leases_.count(client_name) != 0; }
  // True when `client_name` holds no lease or has not renewed it for longer than
  // `soft_limit`: another writer may then take its files over.
  bool SoftExpired(const std::string& client_name, Instant now, Duration soft_limit) const;
  // Files of clients silent for longer than `hard_limit`, in client then inode order.
  std::vector<std::pair<std::string, InodeId>> Expired(Instant now, Duration hard_limit) const;
  size_t open_files() const;

 private:
  struct Lease {
    Instant renewed;
    std::set<InodeId> files;
  };
  std::map<std::string, Lease> leases_;
};

}  // namespace granary
