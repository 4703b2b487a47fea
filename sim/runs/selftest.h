// `granary-sim selftest`: K nodes exchange RPCs of random sizes, sleep, write and sync their
// disks, under random crashes, restarts, partitions, loss and delay spikes, for S virtual
// seconds. It exercises every part of the kernel and checks two promises on the way:
// replies carry exactly what was asked for, and whatever a node synced survives its
// crashes. The trace hash summarises the run: the same seed gives the same hash.
#pragma once

#include <cstdint>

#include "core/common/time.h"

namespace granary::sim {

struct SelftestOptions {
  uint64_t seed = 1;
  uint32_t nodes = 5;
  double virtual_seconds = 10;
  bool faults = true;
};

struct SelftestResult {
  uint64_t seed = 0;
  uint64_t trace_hash = 0;
  uint64_t events = 0;
  double virtual_seconds = 0;
  uint64_t rpcs_ok = 0;
  uint64_t rpcs_failed = 0;
  uint64_t reply_mismatches = 0;
  uint64_t disk_bytes_synced = 0;
  uint64_t durability_violations = 0;
  uint64_t crashes = 0;
  uint64_t partitions = 0;
  uint64_t messages_dropped = 0;
  uint64_t fibers_started = 0;
  uint64_t leaked_fibers = 0;

  bool passed() const {
    return reply_mismatches == 0 && durability_violations == 0 && leaked_fibers == 0;
  }
};

SelftestResult RunSelftest(const SelftestOptions& options);

}  // namespace granary::sim
