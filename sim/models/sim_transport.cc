#include "sim/models/sim_transport.h"

#include <algorithm>
#include <cassert>
#include <string>
#include <vector>

#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "sim/models/sim_network.h"

namespace granary::sim {

struct SimTransport::PendingCall {
  Waiter waiter;
  Result<RpcReply> reply = Status(StatusCode::kTimeout, "no reply");
  uint64_t reply_bytes = 0;
};

Status SimTransport::ChargeReceived(uint64_t bytes) {
  const RpcCpuCost& cost = rpc_cpu_;
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
  const RpcCpuCost& cost = rpc_cpu_;
  if (cost.per_message <= Duration(0) && cost.ns_per_byte <= 0) return Status::Ok();
  return process_.env().ChargeCpu(
      cost.per_message +
      Duration(static_cast<int64_t>(static_cast<double>(bytes) * cost.ns_per_byte)));
}

SimTransport::SimTransport(SimProcess& process, SimNetwork& network, const RpcCpuCost& rpc_cpu)
    : process_(process),
      network_(network),
      rpc_cpu_(rpc_cpu),
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
  const RpcCpuCost& cost = rpc_cpu_;
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
                 [&sim, &network = network_, node = *to_node, self_node, from = self_,
                  msg = std::move(message), caller = process_.weak_from_this(),
                  caller_transport = this]() mutable {
                   // The transport the network knows is the running incarnation's.
                   if (!sim.node(node).up()) return;
                   network.transport(node)->DeliverRequest(
                       std::move(msg), self_node, std::move(from), caller, caller_transport);
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
                                  std::weak_ptr<SimProcess> caller,
                                  SimTransport* caller_transport) {
  process_.Spawn("rpc", [this, message = std::move(message), from_node, from = std::move(from),
                         caller = std::move(caller), caller_transport]() mutable {
    Handle(std::move(message), from_node, std::move(from), caller, caller_transport);
  });
}

void SimTransport::Handle(rpc::WireMessage message, NodeId from_node, Address from,
                          const std::weak_ptr<SimProcess>& caller, SimTransport* caller_transport) {
  Simulator& sim = process_.simulator();
  const uint64_t message_bytes = message.bytes();
  Result<rpc::IncomingRequest> incoming = rpc::DecodeRequest(std::move(message));
  if (!incoming.ok()) {
    // Without a trustworthy request id there is no one to answer; the caller times out.
    ++bad_messages_;
    return;
  }
  if (!ChargeReceived(message_bytes).ok()) return;  // crashed while receiving
  RpcContext context{std::move(from), sim.Now() + incoming->timeout, {}};
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
                 [caller, caller_transport, msg = std::move(reply)]() mutable {
                   std::shared_ptr<SimProcess> target = caller.lock();
                   if (!target || !target->alive()) return;
                   // The calling process lives, and with it the transport it owns.
                   caller_transport->DeliverReply(std::move(msg));
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
