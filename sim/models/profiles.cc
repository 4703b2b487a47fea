#include "sim/models/profiles.h"

namespace granary::sim {

// Orders of magnitude of common parts (7,200 rpm disk; SATA SSD; PCIe 3 NVMe), not any
// one model: seek-bound random access for the disk, flash program/flush times for the others.
DiskProfile HddProfile() {
  DiskProfile p;
  p.read_latency = 8ms;
  p.write_latency = 8ms;
  p.sync_latency = 10ms;
  p.bandwidth_bytes_per_second = 180e6;
  p.queue_depth = 1;
  p.capacity_bytes = 8ull << 40;
  return p;
}

DiskProfile SataSsdProfile() {
  DiskProfile p;
  p.read_latency = 90us;
  p.write_latency = 40us;
  p.sync_latency = 2ms;
  p.bandwidth_bytes_per_second = 520e6;
  p.queue_depth = 32;
  p.capacity_bytes = 2ull << 40;
  return p;
}

DiskProfile NvmeProfile() {
  DiskProfile p;
  p.read_latency = 20us;
  p.write_latency = 15us;
  p.sync_latency = 300us;
  p.bandwidth_bytes_per_second = 3e9;
  p.queue_depth = 128;
  p.capacity_bytes = 4ull << 40;
  return p;
}

// Reads served from a warm page cache and buffered writes (the real cluster of one test
// machine, whose data fits in memory): memory-copy speed, a few microseconds each. Syncs still
// reach the device; 1 ms is a placeholder that a measured figure (cluster.datanode.disk_sync_us)
// should replace.
DiskProfile PageCacheProfile() {
  DiskProfile p;
  p.read_latency = 2us;
  p.write_latency = 2us;
  p.sync_latency = 1ms;
  p.bandwidth_bytes_per_second = 8e9;
  p.queue_depth = 128;
  p.capacity_bytes = 1ull << 40;
  return p;
}

bool DiskProfileByName(std::string_view name, DiskProfile* profile) {
  if (name == "hdd") {
    *profile = HddProfile();
  } else if (name == "ssd") {
    *profile = SataSsdProfile();
  } else if (name == "nvme") {
    *profile = NvmeProfile();
  } else if (name == "page_cache") {
    *profile = PageCacheProfile();
  } else {
    return false;
  }
  return true;
}

}  // namespace granary::sim
