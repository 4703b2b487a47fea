#include "sim/models/sim_network.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "sim/kernel/simulator.h"

namespace granary::sim {
namespace {

constexpr Duration kLoopbackLatency = std::chrono::microseconds(1);
constexpr size_t kPayloadDigestSampleBytes = 256;

}  // namespace

SimNetwork::SimNetwork(Simulator& simulator, Random random)
    : simulator_(simulator), random_(random) {}

void SimNetwork::AddNode(NodeId id, const Address& address, const NicProfile& nic) {
  const bool inserted = by_address_.emplace(address.value, id).second;
  assert(inserted);  // one address, one node
  (void)inserted;
  if (id.value() >= nics_.size()) {
    nics_.resize(id.value() + 1, Nic{NicProfile().bandwidth_bits_per_second, {}, {}, 0, 0});
    isolated_.resize(id.value() + 1, false);
    transports_.resize(id.value() + 1, nullptr);
    attached_.resize(id.value() + 1, false);
  }
  assert(!attached_[id.value()]);
  attached_[id.value()] = true;
  nics_[id.value()] = Nic{nic.bandwidth_bits_per_second, Instant{}, Instant{}, 0, 0};
}

void SimNetwork::SetTransport(NodeId node, SimTransport* transport) {
  assert(node.value() < attached_.size());
  assert(attached_[node.value()]);
  transports_[node.value()] = transport;
}

SimTransport* SimNetwork::transport(NodeId node) const {
  assert(node.value() < transports_.size());
  return transports_[node.value()];
}

std::optional<NodeId> SimNetwork::Resolve(const Address& address) const {
  auto it = by_address_.find(address.value);
  if (it == by_address_.end()) return std::nullopt;
  return it->second;
}

void SimNetwork::SetLink(NodeId from, NodeId to, const LinkProfile& profile) {
  links_[{from.value(), to.value()}] = profile;
}

const LinkProfile& SimNetwork::Link(NodeId from, NodeId to) const {
  auto it = links_.find({from.value(), to.value()});
  return it == links_.end() ? default_link_ : it->second;
}

void SimNetwork::Partition(NodeId a, NodeId b) {
  PartitionOneWay(a, b);
  PartitionOneWay(b, a);
}

void SimNetwork::PartitionOneWay(NodeId from, NodeId to) {
  blocked_.insert({from.value(), to.value()});
}

void SimNetwork::Heal(NodeId a, NodeId b) {
  blocked_.erase({a.value(), b.value()});
  blocked_.erase({b.value(), a.value()});
}

void SimNetwork::HealAll() {
  blocked_.clear();
  std::fill(isolated_.begin(), isolated_.end(), false);
}

void SimNetwork::Isolate(NodeId node, bool isolated) { isolated_[node.value()] = isolated; }

bool SimNetwork::Blocked(NodeId from, NodeId to) const {
  if (isolated_[from.value()] || isolated_[to.value()]) return from != to;
  return blocked_.count({from.value(), to.value()}) != 0;
}

Duration SimNetwork::WireTime(uint64_t bytes, double bits_per_second) {
  assert(bits_per_second > 0);
  const double seconds = static_cast<double>(bytes) * 8.0 / bits_per_second;
  return Duration(static_cast<int64_t>(std::llround(seconds * 1e9)));
}

std::optional<Instant> SimNetwork::Transmit(NodeId from, NodeId to, uint64_t bytes) {
  ++stats_.messages_sent;
  stats_.bytes_sent += bytes;
  const Instant now = simulator_.Now();
  if (from == to) return now + kLoopbackLatency;
  if (Blocked(from, to)) {
    ++stats_.messages_dropped;
    return std::nullopt;
  }
  Nic& tx = nics_[from.value()];
  Nic& rx = nics_[to.value()];
  const Instant departed =
      std::max(now, tx.tx_free) + WireTime(bytes, tx.bandwidth_bits_per_second);
  tx.tx_free = departed;
  tx.tx_bytes += bytes;

  const LinkProfile& link = Link(from, to);
  Duration latency = link.latency_fixed;
  if (link.latency_jitter_mean.count() > 0) {
    latency += Duration(static_cast<int64_t>(
        random_.Exponential(static_cast<double>(link.latency_jitter_mean.count()))));
  }
  if (spike_probability_ > 0 && random_.Bernoulli(spike_probability_)) latency += spike_delay_;
  const double loss = 1.0 - (1.0 - link.loss_probability) * (1.0 - extra_loss_);
  if (loss > 0 && random_.Bernoulli(loss)) {
    ++stats_.messages_dropped;
    return std::nullopt;
  }
  const Instant arrived =
      std::max(departed + latency, rx.rx_free + WireTime(bytes, rx.bandwidth_bits_per_second));
  rx.rx_free = arrived;
  rx.rx_bytes += bytes;
  return arrived;
}

uint64_t DigestMessage(const rpc::WireMessage& message) {
  uint64_t h = HashBytes(message.envelope);
  h = HashBytes(message.body, h);
  const std::string_view payload = message.payload;
  h = Mix64(h ^ payload.size());
  if (payload.size() <= 2 * kPayloadDigestSampleBytes) return HashBytes(payload, h);
  h = HashBytes(payload.substr(0, kPayloadDigestSampleBytes), h);
  return HashBytes(payload.substr(payload.size() - kPayloadDigestSampleBytes), h);
}

}  // namespace granary::sim
