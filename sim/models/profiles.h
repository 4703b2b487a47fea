// The parameters of the simulator's models: NICs, links, disks, metadata stores, and the CPU
// a node spends on RPC messages.
// Defaults describe a plain datacentre rack: 10 Gbit/s NICs, ~50 µs one-way latency.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
  // Measured distributions (granary-bench --calibrate's quantiles): when not empty, each
  // sync takes one of these, drawn uniformly from the disk's own seeded stream, instead of
  // the fixed latency above: a mean hides the tail that an operation waiting on many syncs
  // meets.
  std::vector<Duration> sync_samples;
  std::vector<Duration> directory_sync_samples;
  // When set, every sync of every disk given the same vector also needs one of these
  // slots for its latency: the syncs of a host's processes share one device and its
  // journal (a test machine's one virtual disk), which completes only so many at once.
  std::shared_ptr<std::vector<Instant>> host_sync_slots;
  // Waited after every sync's latency, holding no slot (an injected delay).
  Duration sync_delay{};
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

// The CPU a node spends on RPC messages (serialising, copying, the socket work of the
// kernel and of the messaging library): each message it sends or receives costs
// `per_message` plus `ns_per_byte` for each byte; each call it makes costs, besides,
// `per_call` of its method (or `per_call_default`), and `ns_per_byte_sent_by_call` /
// `ns_per_byte_received_by_call` per byte of that call's payloads (the client library's
// work around a call). All charged on the node's cores. Zero: not modelled.
struct RpcCpuCost {
  Duration per_message{0};
  double ns_per_byte = 0;
  // Besides, a message that arrives while the node's own cores are all idle costs
  // `wakeup` (the thread was asleep in poll: the kernel's and the messaging library's
  // wake-ups); one that arrives while it works is picked up in passing.
  Duration wakeup{0};
  std::map<std::string, Duration, std::less<>> per_call;
  Duration per_call_default{0};
  std::map<std::string, double, std::less<>> ns_per_byte_sent_by_call;
  std::map<std::string, double, std::less<>> ns_per_byte_received_by_call;
  bool modelled() const {
    return per_message > Duration(0) || ns_per_byte > 0 || wakeup > Duration(0) ||
           !per_call.empty() || per_call_default > Duration(0) ||
           !ns_per_byte_sent_by_call.empty() || !ns_per_byte_received_by_call.empty();
  }
};

struct MetaStoreProfile {
  Duration read_latency = 5us;
  // A synced batch: the write-ahead log's fsync dominates.
  Duration write_latency = 200us;
  // When not empty, each synced batch waits one of these (drawn uniformly from the store's
  // own seeded stream) instead of write_latency.
  std::vector<Duration> write_samples;
  // Waited after every synced batch's latency (an injected delay).
  Duration write_delay{};
};

}  // namespace granary::sim
