// SimTransport: the Transport seam (core/seams/transport.h) of one simulated process
// incarnation over the modelled network (sim_network.h).
//
// A call charges the caller's RPC CPU (RpcCpuCost of its machine), hands the encoded request
// to the network and waits for the reply, the deadline or the incarnation's crash; the
// request is delivered as an event to the transport of the target node's running incarnation,
// which handles it on a new fiber and sends the reply back the same way. Ids of different
// incarnations never meet, so a stale reply cannot complete a new call.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "core/common/ids.h"
#include "core/rpc/wire.h"
#include "core/seams/transport.h"
#include "sim/models/profiles.h"

namespace granary::sim {

class SimNetwork;
class SimProcess;

// The Transport of one simulated process.
class SimTransport final : public Transport {
 public:
  // `network` and `rpc_cpu` (its machine's) outlive the transport.
  SimTransport(SimProcess& process, SimNetwork& network, const RpcCpuCost& rpc_cpu);
  ~SimTransport() override;

  Result<RpcReply> Call(const Address& to, RpcRequest request, Instant deadline) override;
  Status Serve(RpcHandler handler) override;
  const Address& self() const override { return self_; }

  // Called on the event loop when a message for this process arrives.
  // `caller` is the calling incarnation and `caller_transport` its transport, valid while
  // `caller` lives.
  void DeliverRequest(rpc::WireMessage message, NodeId from_node, Address from,
                      std::weak_ptr<SimProcess> caller, SimTransport* caller_transport);
  void DeliverReply(rpc::WireMessage message);

  uint64_t bad_messages() const { return bad_messages_; }

 private:
  struct PendingCall;
  // Charges this node's RPC CPU cost of one message of `bytes` (its machine's RpcCpuCost).
  Status ChargeMessage(uint64_t bytes);
  // The same for a message received: plus the wake-up when the node was idle.
  Status ChargeReceived(uint64_t bytes);
  void Handle(rpc::WireMessage message, NodeId from_node, Address from,
              const std::weak_ptr<SimProcess>& caller, SimTransport* caller_transport);

  SimProcess& process_;
  SimNetwork& network_;
  const RpcCpuCost& rpc_cpu_;
  const Address self_;
  RpcHandler handler_;
  uint64_t next_request_id_;
  std::map<uint64_t, PendingCall*> pending_;
  uint64_t bad_messages_ = 0;
};

}  // namespace granary::sim
