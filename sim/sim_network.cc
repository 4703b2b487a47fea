#include "sim/sim_network.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"

namespace granary::sim {
namespace {

constexpr Duration kLoopbackLatency = std::chrono::microseconds(1);
constexpr size_t kPayloadDigestSampleBytes = 256;

}  // namespace

SimNetwork::SimNetwork(Simulator& simulator, Random random)
    : simulator_(simulator), random_(random) {}

void SimNetwork::AddNode(const SimNode& node) {
  assert(node.id().value() == nics_.size());
  const bool inserted = by_address_.emplace(node.address().value, node.id()).second;
  assert(inserted);
  (void)inserted;
  nics_.push_back(Nic{node.options().nic.bandwidth_bits_per_second, Instant{}, Instant{}, 0, 0});
  isolated_.push_back(false);
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

struct SimTransport::PendingCall {
  Waiter waiter;
  Result<RpcReply> reply = Status(StatusCode::kTimeout, "no reply");
  uint64_t reply_bytes = 0;
};

Status SimTransport::ChargeReceived(uint64_t bytes) {
  const RpcCpuCost& cost = process_.node().options().rpc_cpu;
  if (cost.wakeup > Duration(0)) {
    const std::vector<Instant>& cores = process_.node().core_free_at();
    const Instant now = process_.simulator().Now();
    const bool idle =
        std::all_of(cores.begin(), cores.end(), [now](Instant free) { return free <= now; });
    if (idle) GRANARY_RETURN_IF_ERROR(process_.env().ChargeCpu(cost.wakeup));
  }
  return ChargeMessage(bytes);
}

Status SimTransport::ChargeMessage(uint64_t bytes) {
  const RpcCpuCost& cost = process_.node().options().rpc_cpu;
  if (cost.per_message <= Duration(0) && cost.ns_per_byte <= 0) return Status::Ok();
  return process_.env().ChargeCpu(
      cost.per_message +
      Duration(static_cast<int64_t>(static_cast<double>(bytes) * cost.ns_per_byte)));
}

SimTransport::SimTransport(SimProcess& process, SimNetwork& network)
    : process_(process),
      network_(network),
      self_(process.node().address()),
      // Ids of different incarnations never meet: a stale reply cannot match a new call.
      next_request_id_(process.incarnation() << 40) {}

SimTransport::~SimTransport() { assert(pending_.empty()); }

Status SimTransport::Serve(RpcHandler handler) {
  if (!process_.alive()) return Status(StatusCode::kNodeDown, process_.node().name());
  handler_ = std::move(handler);
  return Status::Ok();
}

Result<RpcReply> SimTransport::Call(const Address& to, RpcRequest request, Instant deadline) {
  if (!process_.alive()) return Status(StatusCode::kNodeDown, process_.node().name());
  const std::optional<NodeId> to_node = network_.Resolve(to);
  if (!to_node) return Status(StatusCode::kUnavailable, "no node at " + to.value);
  Simulator& sim = process_.simulator();
  const Instant now = sim.Now();
  if (deadline <= now) return Status(StatusCode::kTimeout, "deadline already passed");

  const uint64_t id = ++next_request_id_;
  const RpcCpuCost& cost = process_.node().options().rpc_cpu;
  if (cost.modelled()) {
    // The caller's work around the call: by method, and by the payload it sends.
    auto per_call = cost.per_call.find(request.method);
    Duration cpu = per_call != cost.per_call.end() ? per_call->second : cost.per_call_default;
    auto sent = cost.ns_per_byte_sent_by_call.find(request.method);
    if (sent != cost.ns_per_byte_sent_by_call.end()) {
      cpu += Duration(
          static_cast<int64_t>(static_cast<double>(request.payload.size()) * sent->second));
    }
    if (cpu > Duration(0)) GRANARY_RETURN_IF_ERROR(process_.env().ChargeCpu(cpu));
  }
  const std::string method = cost.ns_per_byte_received_by_call.empty() ? "" : request.method;
  rpc::WireMessage message = rpc::EncodeRequest(RequestId(id), std::move(request), deadline - now);
  GRANARY_RETURN_IF_ERROR(ChargeMessage(message.bytes()));
  const uint64_t digest = DigestMessage(message);
  const NodeId self_node = process_.node().id();
  if (std::optional<Instant> arrival = network_.Transmit(self_node, *to_node, message.bytes())) {
    sim.Schedule(*arrival, EventKind::kDeliverRequest, to_node->value(), digest,
                 [&sim, node = *to_node, self_node, from = self_, msg = std::move(message),
                  caller = process_.weak_from_this()]() mutable {
                   SimNode& target = sim.node(node);
                   if (!target.up()) return;
                   target.process()->sim_transport().DeliverRequest(std::move(msg), self_node,
                                                                    std::move(from), caller);
                 });
  }
  PendingCall call;
  pending_[id] = &call;
  const TimerId timer =
      sim.Schedule(deadline, EventKind::kTimer, self_node.value(), id, [&call, &to] {
        call.waiter.Complete(Status(StatusCode::kTimeout, "no reply from " + to.value));
      });
  const Status waited = process_.Wait(call.waiter);
  pending_.erase(id);
  sim.Cancel(timer);
  if (!waited.ok()) return waited;
  if (call.reply_bytes > 0) GRANARY_RETURN_IF_ERROR(ChargeReceived(call.reply_bytes));
  if (!method.empty() && call.reply.ok()) {
    auto received = cost.ns_per_byte_received_by_call.find(method);
    if (received != cost.ns_per_byte_received_by_call.end()) {
      GRANARY_RETURN_IF_ERROR(process_.env().ChargeCpu(Duration(static_cast<int64_t>(
          static_cast<double>(call.reply->payload.size()) * received->second))));
    }
  }
  return std::move(call.reply);
}

void SimTransport::DeliverRequest(rpc::WireMessage message, NodeId from_node, Address from,
                                  std::weak_ptr<SimProcess> caller) {
  process_.Spawn("rpc", [this, message = std::move(message), from_node, from = std::move(from),
                         caller = std::move(caller)]() mutable {
    Handle(std::move(message), from_node, std::move(from), caller);
  });
}

void SimTransport::Handle(rpc::WireMessage message, NodeId from_node, Address from,
                          const std::weak_ptr<SimProcess>& caller) {
  Simulator& sim = process_.simulator();
  const uint64_t message_bytes = message.bytes();
  Result<rpc::IncomingRequest> incoming = rpc::DecodeRequest(std::move(message));
  if (!incoming.ok()) {
    // Without a trustworthy request id there is no one to answer; the caller times out.
    ++bad_messages_;
    return;
  }
  if (!ChargeReceived(message_bytes).ok()) return;  // crashed while receiving
  RpcContext context{std::move(from), sim.Now() + incoming->timeout};
  Result<RpcReply> result = handler_
                                ? handler_(context, incoming->request)
                                : Result<RpcReply>(Status(StatusCode::kUnavailable, "not serving"));
  if (!process_.alive()) return;  // crashed while handling: no reply leaves
  rpc::WireMessage reply = rpc::EncodeReply(incoming->id, std::move(result));
  if (!ChargeMessage(reply.bytes()).ok()) return;
  const uint64_t digest = DigestMessage(reply);
  const NodeId self_node = process_.node().id();
  if (std::optional<Instant> arrival = network_.Transmit(self_node, from_node, reply.bytes())) {
    sim.Schedule(*arrival, EventKind::kDeliverReply, from_node.value(), digest,
                 [caller, msg = std::move(reply)]() mutable {
                   std::shared_ptr<SimProcess> target = caller.lock();
                   if (!target || !target->alive()) return;
                   target->sim_transport().DeliverReply(std::move(msg));
                 });
  }
}

void SimTransport::DeliverReply(rpc::WireMessage message) {
  const uint64_t message_bytes = message.bytes();
  Result<rpc::IncomingReply> incoming = rpc::DecodeReply(std::move(message));
  if (!incoming.ok()) {
    ++bad_messages_;
    return;
  }
  auto it = pending_.find(incoming->id.value());
  if (it == pending_.end()) return;  // the caller gave up already
  it->second->reply = std::move(incoming->reply);
  it->second->reply_bytes = message_bytes;
  it->second->waiter.Complete(Status::Ok());
}

}  // namespace granary::sim
