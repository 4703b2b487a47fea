// ZmqTransport: the Transport seam over ZeroMQ (DESIGN.md §3, §6, §9).
//
// Sockets: one ROUTER bound to the listen address serves requests; calls go out through one
// DEALER per peer address, created on first use and cached (at most peers_max, the least
// recently used idle one closed first). A message is the three frames of core/rpc/wire.h
// (envelope, body, payload), after the routing id on the ROUTER side; payloads are sent
// without copying (the frame owns the string). A small message (payload under 4 KiB, body
// and payload at most 16 KiB) travels packed instead, in one frame: a 6-byte header
// (envelope bytes, u16 LE; body bytes, u32 LE), then envelope, body and payload; ZeroMQ's
// work is per frame, and most RPCs are small.
//
// Batches: small messages sent to one peer during one round of the fiber scheduler travel
// together in one batch frame, handed to ZeroMQ when the loop next polls
// (RealScheduling::AddFlushHook): the bytes 0xFF 0xFF (as a packed header, an envelope past
// kEnvelopeBytesMax: no packed frame starts so), then for each message its packed length
// (u32 LE) and the packed message; at most 64 KiB and 256 messages. ZeroMQ's work per
// message (a frame through its pipes, a wake-up of its I/O thread) is then paid once per
// batch. A call is batched once its peer's connection is up (before, it waits for the
// connection as below); a message that is not small, or does not fit a batch that cannot be
// sent yet, goes on its own.
//
// All three shapes are accepted from any peer; a reply is packed only when its request was,
// batched only when its request was (and it is small), so a peer that speaks only the three
// frames is answered in three frames.
//
// Calls: each gets a request id, matched to the waiting fiber when the reply arrives. A
// DEALER queues only to a completed connection (ZMQ_IMMEDIATE): while the peer is not yet
// connected the call waits; when a connection attempt has failed since (refused, or the
// CURVE handshake rejected) it fails with kUnavailable. A reply that comes after its caller
// gave up is dropped. Requests in flight when a peer dies get no reply: their callers time
// out, as in the simulator.
//
// Serving: every request runs the handler on a fiber of its own; the reply goes back through
// the ROUTER (ZMQ_ROUTER_MANDATORY: a reply to a vanished caller is dropped and counted).
// Serving fibers are reused: one that has answered takes the next queued request or waits,
// idle, for one (at most kZmqIdleServersMax idle; a request finding none idle starts a new
// fiber), which saves creating and destroying a fiber per request. Idle ones end at Stop
// and when the transport is destroyed.
// Malformed messages (wrong frame count, frames past their limits, undecodable envelope) are
// dropped and counted; they never reach the handler.
//
// Security: with curve_server set, the ROUTER is a CURVE server and a ZAP handler admits only
// the listed client keys. Without it, listening on anything but a loopback address is
// refused unless insecure_bind_any is set.
//
// Threading: the RealEnv's thread only (real_env.h); every socket is polled by its loop.
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/common/limits.h"
#include "core/common/status.h"
#include "core/rpc/wire.h"
#include "core/seams/transport.h"
#include "net/curve.h"
#include "net/payload_pool.h"
#include "net/real_env.h"
#include "net/zap_handler.h"

namespace granary::net {

struct ZmqTransportOptions {
  // "host:port" to listen on; port 0 lets the OS choose. Empty: this process only calls.
  std::string listen;
  // The address peers reach this process at (self()); default: the bound host and port.
  // Required when listening on a wildcard host such as 0.0.0.0; port 0 means the bound port.
  std::string advertise;
  // Allows listening on a non-loopback address without CURVE keys (plaintext, no
  // authentication). The tools expose it as --insecure-bind-any.
  bool insecure_bind_any = false;

  // This node's CURVE server key pair: the ROUTER encrypts and authenticates.
  std::optional<CurveKeyPair> curve_server;
  // Z85 public keys of the clients the ZAP handler admits (with curve_server).
  std::vector<std::string> curve_allowed_clients;
  // The identity each admitted key acts as (Z85 key -> "alice", "alice:g1,g2", "@datanode";
  // core/security/identity.h), handed to handlers as RpcContext::principal. A listed key
  // without an entry here is admitted with an empty identity (its requests are trusted).
  std::map<std::string, std::string> curve_client_identities;
  // This node's CURVE client key pair for outgoing calls, and the server public key of the
  // peers it calls (one cluster-wide server key; per-address keys in curve_peer_keys win).
  std::optional<CurveKeyPair> curve_client;
  std::string curve_peer_server_key;
  std::map<std::string, std::string> curve_peer_keys;

  // Messages queued per connection and direction before sends would block (ZeroMQ HWMs).
  // A message may carry kPayloadBytesMax, so this also bounds the memory one peer can pin.
  int high_water_mark = static_cast<int>(kRpcInFlightPerCallerMax);
  // Reconnection back-off of the DEALERs.
  Duration reconnect_interval = std::chrono::milliseconds(100);
  Duration reconnect_interval_max = std::chrono::seconds(2);
  // DEALER sockets kept open at once.
  uint32_t peers_max = 4096;
  // Where replies' large payloads are received into (PayloadPool), for a client that gives
  // the buffers back when done with them; null: each into a fresh string.
  std::shared_ptr<PayloadPool> payload_pool;
};

// How a message came, and so how its reply may go (zmq_transport.h, above).
enum class MessageShape : uint8_t { kFrames, kPacked, kBatched };

struct ZmqTransportStats {
  uint64_t calls = 0;
  uint64_t requests_served = 0;
  uint64_t malformed_dropped = 0;     // incoming requests or replies that did not decode
  uint64_t late_replies_dropped = 0;  // replies whose caller had given up
  uint64_t replies_unroutable = 0;    // replies to callers no longer connected
  uint64_t batches_sent = 0;          // batch frames, requests and replies
  uint64_t messages_batched = 0;      // messages that travelled in them
};

class ZmqTransport final : public Transport {
 public:
  // Creates the ZeroMQ context and, when options.listen is set, binds the ROUTER (and the
  // ZAP handler when CURVE is on). kInvalidArgument for bad options, addresses or keys, and
  // for an insecure non-loopback listen; kUnavailable when the address cannot be bound.
  static Result<std::unique_ptr<ZmqTransport>> Create(RealEnv& env, ZmqTransportOptions options);
  // Closes every socket (linger 0): in-flight calls must have returned (RunMain guarantees
  // it once it returns).
  ~ZmqTransport() override;

  Result<RpcReply> Call(const Address& to, RpcRequest request, Instant deadline) override;
  Status Serve(RpcHandler handler) override;
  const Address& self() const override { return self_; }

  const ZmqTransportStats& stats() const { return stats_; }
  uint64_t zap_refused() const { return zap_ ? zap_->refused() : 0; }
  size_t open_peers() const { return peers_.size(); }

 private:
  struct Peer;
  struct PendingCall;
  // A caller of this ROUTER: "<peer IP>/<routing id in hex>", and the ZAP User-Id of its
  // connection (empty without CURVE).
  struct CallerName {
    std::string name;
    std::string principal;
  };

  ZmqTransport(RealEnv& env, ZmqTransportOptions options);
  Status Listen();
  Result<Peer*> GetPeer(const Address& to);
  void ClosePeer(Peer& peer);
  void EvictIdlePeer();
  void OnPeerReadable(Peer& peer);
  void OnPeerMonitor(Peer& peer);
  void WakeSenders(Peer& peer);
  bool AddToBatch(Peer& peer, const rpc::WireMessage& message);
  Status SendAlone(Peer& peer, rpc::WireMessage& message, bool packed, Instant deadline);
  void OnRouterReadable();
  struct ServeJob;
  struct Servers;

  struct ReplyBatch;

  void OnReply(Result<rpc::IncomingReply> incoming);
  void HandleRequest(std::string routing_id, const CallerName& from,
                     Result<rpc::IncomingRequest> incoming, MessageShape shape);
  // Wakes an idle serving fiber, or starts one, to take the queued jobs.
  void WakeServer();
  void StartServer();
  void RunJob(ServeJob& job);
  void SendReply(const std::string& routing_id, rpc::WireMessage reply, Instant deadline,
                 MessageShape request_shape);
  void SendReplyAlone(const std::string& routing_id, rpc::WireMessage reply, Instant deadline,
                      bool packed);
  uint64_t AddPendingCall(PendingCall& call);
  void RemovePendingCall(PendingCall& call);
  PendingCall* FindPendingCall(uint64_t id);
  // Ends the calls past their deadline (kTimeout); returns the earliest deadline left.
  Instant ExpireCalls();
  // Part of the flush hook: sends every queued batch it can; true when one must wait for room.
  bool Flush();
  // Sends the peer's batch; false when it must wait (no room in the queue yet).
  bool FlushPeer(Peer& peer);
  bool FlushReplies(ReplyBatch& batch);

  RealEnv& env_;
  const ZmqTransportOptions options_;
  void* context_ = nullptr;
  void* router_ = nullptr;
  RealScheduling::PollId router_poll_ = 0;
  std::unique_ptr<ZapHandler> zap_;
  Address self_;
  std::shared_ptr<RpcHandler> handler_;
  // Requests waiting for a serving fiber, and the idle ones; shared with the fibers, which
  // may outlive the transport (they then end without touching it).
  std::shared_ptr<Servers> servers_;
  // By routing id (ZeroMQ never reuses one on a ROUTER).
  std::map<std::string, CallerName, std::less<>> caller_names_;
  std::map<std::string, std::unique_ptr<Peer>> peers_;
  std::list<Peer*> peers_lru_;  // front: most recently used
  uint64_t next_peer_serial_ = 0;
  uint64_t next_request_id_ = 0;
  // Calls waiting for replies, by slot (the low kZmqCallSlotBits of the request id; the rest
  // counts calls, so a late reply never matches a later call in the same slot).
  std::vector<PendingCall*> call_slots_;
  std::vector<uint32_t> free_call_slots_;
  uint64_t pending_calls_ = 0;
  // No pending call's deadline is earlier (ExpireCalls looks when it passes).
  Instant earliest_deadline_ = kInstantMax;
  // Peers with a batch waiting for the next flush, and replies batched by caller.
  std::vector<Peer*> dirty_peers_;
  std::vector<ReplyBatch> reply_batches_;
  RealScheduling::PollId flush_hook_ = 0;
  ZmqTransportStats stats_;
};

}  // namespace granary::net
