// The modelled network and the simulated Transport (DESIGN.md §3, §7).
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
#include "sim/profiles.h"

namespace granary::sim {

class Simulator;
class SimNode;
class SimProcess;

struct NetworkStats {
  uint64_t messages_sent = 0;
  uint64_t messages_dropped = 0;
  uint64_t bytes_sent = 0;
};

class SimNetwork {
 public:
  SimNetwork(Simulator& simulator, Random random);

  void AddNode(const SimNode& node);
  std::optional<NodeId> Resolve(const Address& address) const;

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
  std::vector<Nic> nics_;
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

// The Transport of one simulated process.
class SimTransport final : public Transport {
 public:
  SimTransport(SimProcess& process, SimNetwork& network);
  ~SimTransport() override;

  Result<RpcReply> Call(const Address& to, RpcRequest request, Instant deadline) override;
  Status Serve(RpcHandler handler) override;
  const Address& self() const override { return self_; }

  // Called on the event loop when a message for this process arrives.
  void DeliverRequest(rpc::WireMessage message, NodeId from_node, Address from,
                      std::weak_ptr<SimProcess> caller);
  void DeliverReply(rpc::WireMessage message);

  uint64_t bad_messages() const { return bad_messages_; }

 private:
  struct PendingCall;
  // Charges this node's RPC CPU cost of one message of `bytes` (NodeOptions::rpc_cpu).
  Status ChargeMessage(uint64_t bytes);
  // The same for a message received: plus the wake-up when the node was idle.
  Status ChargeReceived(uint64_t bytes);
  void Handle(rpc::WireMessage message, NodeId from_node, Address from,
              const std::weak_ptr<SimProcess>& caller);

  SimProcess& process_;
  SimNetwork& network_;
  const Address self_;
  RpcHandler handler_;
  uint64_t next_request_id_;
  std::map<uint64_t, PendingCall*> pending_;
  uint64_t bad_messages_ = 0;
};

}  // namespace granary::sim
