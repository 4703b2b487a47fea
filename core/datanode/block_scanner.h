// BlockScanner: re-reads every finalized replica at a bounded rate, so that bit rot is found
// before a reader needs the replica.
//
// A pass visits the finalized, not yet corrupt replicas in block id order, reading each in
// pieces through ReplicaStore::Read (which verifies every chunk and marks a bad replica
// corrupt) and sleeping after each piece so that the average rate stays at or below
// bytes_per_second. A pass starts at most once per scan_period. A replica that changes or
// vanishes during its scan is skipped until the next pass.
#pragma once

#include <cstdint>
#include <functional>

#include "core/common/status.h"
#include "core/common/time.h"
#include "core/datanode/replica_store.h"
#include "core/seams/env.h"

namespace granary {

class BlockScanner {
 public:
  // `on_corrupt` is called on the scanner's fiber for each replica found corrupt.
  BlockScanner(Env& env, ReplicaStore& store, uint64_t bytes_per_second, Duration scan_period,
               std::function<void(const Replica&)> on_corrupt);
  BlockScanner(const BlockScanner&) = delete;
  BlockScanner& operator=(const BlockScanner&) = delete;

  // Scans pass after pass until a wait fails (the process crashed or is stopping), and
  // returns that status. Returns ok at once when bytes_per_second is 0 (scanning is off).
  Status Run();

  uint64_t bytes_scanned() const { return bytes_scanned_; }
  uint64_t passes() const { return passes_; }
  uint64_t corrupt_found() const { return corrupt_found_; }

 private:
  Status ScanReplica(const Replica& replica);

  Env& env_;
  ReplicaStore& store_;
  const uint64_t bytes_per_second_;
  const Duration scan_period_;
  std::function<void(const Replica&)> on_corrupt_;
  uint64_t bytes_scanned_ = 0;
  uint64_t passes_ = 0;
  uint64_t corrupt_found_ = 0;
};

}  // namespace granary
