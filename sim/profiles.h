// The parameters of the simulator's models: NICs, links, disks, metadata stores.
// Defaults describe a plain datacentre rack: 10 Gbit/s NICs, ~50 µs one-way latency.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/common/time.h"

namespace granary::sim {

using namespace std::chrono_literals;

struct NicProfile {
  // Each direction of the NIC serialises its messages FIFO at this rate.
  double bandwidth_bits_per_second = 10e9;
};

struct LinkProfile {
  Duration latency_fixed = 50us;
  // Mean of an exponential jitter added to each message.
  Duration latency_jitter_mean = 5us;
  double loss_probability = 0;
};

struct DiskProfile {
  Duration read_latency = 100us;
  Duration write_latency = 30us;
  Duration sync_latency = 1ms;
  // A directory's sync after a create, rename or remove (a journal commit of names only),
  // when it differs from a file's.
  std::optional<Duration> directory_sync_latency;
  double bandwidth_bytes_per_second = 500e6;
  // Operations in service at once; further ones queue FIFO.
  uint32_t queue_depth = 32;
  uint64_t capacity_bytes = 1ull << 40;
  // Content-free mode, for runs whose block bytes would not fit in memory: files named
  // "*.data" (replica bytes) keep only their length and read back as zeros. Everything else
  // (checksum files, timing, capacity, crash truncation) is modelled as usual, so writers
  // that write zeros see a faithful disk; any other bytes fail their checksums on read.
  bool content_free = false;
};

// Profiles measured from vendor data sheets of common parts; the calibration experiment
// replaces them with figures measured on the real binaries.
DiskProfile HddProfile();
DiskProfile SataSsdProfile();
DiskProfile NvmeProfile();
DiskProfile PageCacheProfile();
// "hdd", "ssd", "nvme", "page_cache"; false for any other name.
bool DiskProfileByName(std::string_view name, DiskProfile* profile);

struct MetaStoreProfile {
  Duration read_latency = 5us;
  // A synced batch: the write-ahead log's fsync dominates.
  Duration write_latency = 200us;
};

}  // namespace granary::sim
