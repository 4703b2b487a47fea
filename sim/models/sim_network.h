// The modelled network (DESIGN.md §3, §7); SimTransport (sim_transport.h) is the Transport
// seam of one process over it.
//
// Model: every node has one NIC; each direction serialises its messages FIFO at the NIC's
// bandwidth. A message leaves the sender once its bytes are through the sender's NIC, spends
// the link latency (a fixed part plus exponential jitter, plus an occasional injected spike)
// on the wire, and arrives once its bytes are through the receiver's NIC as well. A 1 MiB
// message on idle 10 Gbit/s NICs thus takes 0.84 ms plus latency; two sent at once by one
// sender, or to one receiver, finish 0.84 ms apart.
//
// Faults: per-message loss, delay spikes, and partitions (both ways or one way), which drop
// every message sent across them while they last. A lost message is silent: the caller
// times out, as with a real network.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/common/ids.h"
#include "core/common/random.h"
#include "core/rpc/wire.h"
#include "core/seams/transport.h"
#include "sim/models/profiles.h"

namespace granary::sim {

class Simulator;
class SimTransport;

struct NetworkStats {
  uint64_t messages_sent = 0;
  uint64_t messages_dropped = 0;
  uint64_t bytes_sent = 0;
};

class SimNetwork {
 public:
  SimNetwork(Simulator& simulator, Random random);

  // Puts the node `id` of the simulator on the network at `address`, behind `nic`.
  void AddNode(NodeId id, const Address& address, const NicProfile& nic);
  std::optional<NodeId> Resolve(const Address& address) const;
  // The transport of the node's newest process incarnation (set by its machine as the
  // incarnation begins; SimMachine::Bind); null before the first. Valid only while the node
  // is up: the simulator's node(id).up() says so.
  void SetTransport(NodeId node, SimTransport* transport);
  SimTransport* transport(NodeId node) const;

  void SetDefaultLink(const LinkProfile& profile) { default_link_ = profile; }
  // The link from `from` to `to` (one direction).
  void SetLink(NodeId from, NodeId to, const LinkProfile& profile);

  void Partition(NodeId a, NodeId b);
  void PartitionOneWay(NodeId from, NodeId to);
  void Heal(NodeId a, NodeId b);
  void HealAll();
  bool Blocked(NodeId from, NodeId to) const;
  // Cuts (or restores) every link of `node`, as a pulled cable.
  void Isolate(NodeId node, bool isolated);

  // Loss on every link on top of each link's own.
  void SetExtraLossProbability(double probability) { extra_loss_ = probability; }
  void SetDelaySpikes(double probability, Duration extra) {
    spike_probability_ = probability;
    spike_delay_ = extra;
  }

  // Charges the NICs for `bytes` sent now from `from` to `to` and returns the arrival time;
  // nullopt when the message is lost or blocked.
  std::optional<Instant> Transmit(NodeId from, NodeId to, uint64_t bytes);

  const NetworkStats& stats() const { return stats_; }
  // Bytes each direction of a node's NIC has carried so far (for utilisation).
  uint64_t tx_bytes(NodeId node) const { return nics_[node.value()].tx_bytes; }
  uint64_t rx_bytes(NodeId node) const { return nics_[node.value()].rx_bytes; }

 private:
  struct Nic {
    double bandwidth_bits_per_second;
    Instant tx_free;
    Instant rx_free;
    uint64_t tx_bytes = 0;
    uint64_t rx_bytes = 0;
  };
  const LinkProfile& Link(NodeId from, NodeId to) const;
  static Duration WireTime(uint64_t bytes, double bits_per_second);

  Simulator& simulator_;
  Random random_;
  std::map<std::string, NodeId> by_address_;
  std::vector<Nic> nics_;  // by NodeId; nodes that are not on the network keep a default
  std::vector<SimTransport*> transports_;
  std::vector<bool> attached_;
  std::vector<bool> isolated_;
  LinkProfile default_link_;
  std::map<std::pair<uint32_t, uint32_t>, LinkProfile> links_;
  std::set<std::pair<uint32_t, uint32_t>> blocked_;
  double extra_loss_ = 0;
  double spike_probability_ = 0;
  Duration spike_delay_{0};
  NetworkStats stats_;
};

// A digest of a message for the trace hash: every byte of envelope and body, the payload's
// length and its first and last bytes (hashing megabytes per message would dominate a run).
uint64_t DigestMessage(const rpc::WireMessage& message);

}  // namespace granary::sim
