#include "net/zmq_transport.h"

#include <zmq.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include "core/common/limits.h"
#include "net/zmq_frames.h"
#include "net/zmq_transport_state.h"

namespace granary::net {
namespace {

using Shape = MessageShape;

constexpr int kMonitorEvents =
    ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
    ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
    ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;

// Sets a new DEALER's options: queueing, reconnection, limits and (with CURVE) the keys for
// reaching `to`. kUnavailable when no server key is known for `to`.
Status ConfigureDealer(void* dealer, const ZmqTransportOptions& options, bool ipv6,
                       const std::string& to) {
  SetInt(dealer, ZMQ_LINGER, 0);
  SetInt(dealer, ZMQ_IMMEDIATE, 1);
  SetInt(dealer, ZMQ_SNDHWM, options.high_water_mark);
  SetInt(dealer, ZMQ_RCVHWM, options.high_water_mark);
  SetInt(dealer, ZMQ_RECONNECT_IVL,
         static_cast<int>(
             std::chrono::duration_cast<std::chrono::milliseconds>(options.reconnect_interval)
                 .count()));
  SetInt(dealer, ZMQ_RECONNECT_IVL_MAX,
         static_cast<int>(
             std::chrono::duration_cast<std::chrono::milliseconds>(options.reconnect_interval_max)
                 .count()));
  if (ipv6) SetInt(dealer, ZMQ_IPV6, 1);
  zmq_setsockopt(dealer, ZMQ_MAXMSGSIZE, &kZmqFrameBytesMax, sizeof(kZmqFrameBytesMax));
  if (options.curve_client) {
    auto key = options.curve_peer_keys.find(to);
    const std::string& server_z85 =
        key != options.curve_peer_keys.end() ? key->second : options.curve_peer_server_key;
    Result<std::string> server_key = DecodeCurveKey(server_z85);
    if (!server_key.ok()) {
      return Status(StatusCode::kUnavailable, "no CURVE server key for " + to);
    }
    const std::string pub = *DecodeCurveKey(options.curve_client->public_key);
    const std::string sec = *DecodeCurveKey(options.curve_client->secret_key);
    zmq_setsockopt(dealer, ZMQ_CURVE_SERVERKEY, server_key->data(), server_key->size());
    zmq_setsockopt(dealer, ZMQ_CURVE_PUBLICKEY, pub.data(), pub.size());
    zmq_setsockopt(dealer, ZMQ_CURVE_SECRETKEY, sec.data(), sec.size());
  }
  return Status::Ok();
}

}  // namespace

ZmqTransport::ZmqTransport(RealEnv& env, ZmqTransportOptions options)
    : env_(env), options_(std::move(options)), servers_(std::make_shared<Servers>()) {}

Result<std::unique_ptr<ZmqTransport>> ZmqTransport::Create(RealEnv& env,
                                                           ZmqTransportOptions options) {
  if (options.curve_server) {
    GRANARY_RETURN_IF_ERROR(DecodeCurveKey(options.curve_server->public_key).status());
    GRANARY_RETURN_IF_ERROR(DecodeCurveKey(options.curve_server->secret_key).status());
    for (const std::string& key : options.curve_allowed_clients) {
      GRANARY_RETURN_IF_ERROR(DecodeCurveKey(key).status().WithContext("allowed client key"));
    }
    for (const auto& [key, identity] : options.curve_client_identities) {
      if (identity.size() > kPrincipalBytesMax) {
        return Status(StatusCode::kInvalidArgument, "the identity of a client key is longer than " +
                                                        std::to_string(kPrincipalBytesMax) +
                                                        " bytes: " + identity.substr(0, 32));
      }
    }
  }
  if (options.curve_client) {
    GRANARY_RETURN_IF_ERROR(DecodeCurveKey(options.curve_client->public_key).status());
    GRANARY_RETURN_IF_ERROR(DecodeCurveKey(options.curve_client->secret_key).status());
    if (!options.curve_peer_server_key.empty()) {
      GRANARY_RETURN_IF_ERROR(DecodeCurveKey(options.curve_peer_server_key).status());
    }
    for (const auto& [address, key] : options.curve_peer_keys) {
      GRANARY_RETURN_IF_ERROR(DecodeCurveKey(key).status().WithContext(address));
    }
  }
  if (options.high_water_mark <= 0 || options.peers_max == 0) {
    return Status(StatusCode::kInvalidArgument, "high_water_mark and peers_max must be positive");
  }
  std::unique_ptr<ZmqTransport> transport(new ZmqTransport(env, std::move(options)));
  transport->context_ = zmq_ctx_new();
  if (transport->context_ == nullptr) return Status(StatusCode::kInternal, ZmqError("zmq_ctx_new"));
  transport->next_request_id_ = env.random().Next() >> 24;
  ZmqTransport* raw = transport.get();
  transport->flush_hook_ = env.scheduling().AddFlushHook([raw] {
    const bool waiting = raw->Flush();
    const Instant next = raw->ExpireCalls();
    const auto retry =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(RealScheduling::kFlushRetryMs);
    return waiting ? std::min(retry, RealEnv::ToSteady(next)) : RealEnv::ToSteady(next);
  });
  if (!transport->options_.listen.empty()) GRANARY_RETURN_IF_ERROR(transport->Listen());
  return transport;
}

ZmqTransport::~ZmqTransport() {
  assert(pending_calls_ == 0);
  // Idle serving fibers end when they next run, without touching this transport.
  servers_->closed = true;
  servers_->jobs.clear();
  std::vector<Waiter*> idle;
  idle.swap(servers_->idle);
  for (Waiter* waiter : idle) waiter->Complete(Status(StatusCode::kNodeDown, "transport closed"));
  if (flush_hook_ != 0) env_.scheduling().RemoveFlushHook(flush_hook_);
  while (!peers_.empty()) ClosePeer(*peers_.begin()->second);
  if (router_poll_ != 0) env_.scheduling().Remove(router_poll_);
  CloseSocket(router_);
  zap_.reset();
  if (context_ != nullptr) zmq_ctx_term(context_);
}

Result<ZmqTransport::Peer*> ZmqTransport::GetPeer(const Address& to) {
  auto it = peers_.find(to.value);
  if (it != peers_.end()) {
    Peer* peer = it->second.get();
    peers_lru_.splice(peers_lru_.begin(), peers_lru_, peer->lru);
    return peer;
  }
  const std::optional<HostPort> hp = ParseHostPort(to.value);
  if (!hp || hp->port == 0 || IsWildcard(hp->host)) {
    return Status(StatusCode::kUnavailable, "no process can be at address '" + to.value + "'");
  }
  if (peers_.size() >= options_.peers_max) EvictIdlePeer();
  if (peers_.size() >= options_.peers_max) {
    return Status(StatusCode::kUnavailable, "every one of peers_max sockets is busy");
  }
  auto peer = std::make_unique<Peer>();
  peer->address = to.value;
  void* dealer = zmq_socket(context_, ZMQ_DEALER);
  if (dealer == nullptr) return Status(StatusCode::kInternal, ZmqError("zmq_socket"));
  peer->dealer = dealer;
  if (Status configured = ConfigureDealer(dealer, options_, hp->ipv6, to.value); !configured.ok()) {
    CloseSocket(dealer);
    return configured;
  }
  // The monitor tells connection progress: refusals and failed handshakes fail calls early.
  const std::string monitor_endpoint =
      "inproc://granary-monitor-" + std::to_string(++next_peer_serial_);
  if (zmq_socket_monitor(dealer, monitor_endpoint.c_str(), kMonitorEvents) != 0) {
    CloseSocket(dealer);
    return Status(StatusCode::kInternal, ZmqError("zmq_socket_monitor"));
  }
  peer->monitor = zmq_socket(context_, ZMQ_PAIR);
  if (peer->monitor == nullptr || zmq_connect(peer->monitor, monitor_endpoint.c_str()) != 0) {
    CloseSocket(peer->monitor);
    CloseSocket(dealer);
    return Status(StatusCode::kInternal, ZmqError("monitor socket"));
  }
  SetInt(peer->monitor, ZMQ_LINGER, 0);
  const std::string endpoint = Endpoint(*hp, false);
  if (zmq_connect(dealer, endpoint.c_str()) != 0) {
    const Status failed(StatusCode::kUnavailable, ZmqError("connect " + to.value));
    zmq_socket_monitor(dealer, nullptr, 0);
    CloseSocket(peer->monitor);
    CloseSocket(dealer);
    return failed;
  }
  Peer* raw = peer.get();
  raw->dealer_poll = env_.scheduling().AddSocket(dealer, ZMQ_POLLIN, [this, raw](short revents) {
    if (revents & ZMQ_POLLOUT) WakeSenders(*raw);
    if (revents & ZMQ_POLLIN) OnPeerReadable(*raw);
  });
  raw->monitor_poll = env_.scheduling().AddSocket(raw->monitor, ZMQ_POLLIN,
                                                  [this, raw](short) { OnPeerMonitor(*raw); });
  peers_lru_.push_front(raw);
  raw->lru = peers_lru_.begin();
  peers_.emplace(to.value, std::move(peer));
  return raw;
}

void ZmqTransport::EvictIdlePeer() {
  for (auto it = peers_lru_.rbegin(); it != peers_lru_.rend(); ++it) {
    Peer* peer = *it;
    if (peer->in_flight == 0 && peer->send_waiters.empty()) {
      ClosePeer(*peer);
      return;
    }
  }
}

void ZmqTransport::ClosePeer(Peer& peer) {
  assert(peer.in_flight == 0);
  env_.scheduling().Remove(peer.dealer_poll);
  env_.scheduling().Remove(peer.monitor_poll);
  zmq_socket_monitor(peer.dealer, nullptr, 0);
  CloseSocket(peer.monitor);
  CloseSocket(peer.dealer);
  if (peer.dirty) std::erase(dirty_peers_, &peer);
  peers_lru_.erase(peer.lru);
  peers_.erase(peer.address);  // destroys `peer`
}

void ZmqTransport::WakeSenders(Peer& peer) {
  (void)FlushPeer(peer);  // a batch that met a full queue
  std::vector<Waiter*> waiters;
  waiters.swap(peer.send_waiters);
  for (Waiter* waiter : waiters) waiter->Complete(Status::Ok());
  env_.scheduling().SetEvents(peer.dealer_poll, ZMQ_POLLIN);
}

void ZmqTransport::OnPeerMonitor(Peer& peer) {
  for (;;) {
    zmq_msg_t first;
    zmq_msg_init(&first);
    if (zmq_msg_recv(&first, peer.monitor, ZMQ_DONTWAIT) < 0) {
      zmq_msg_close(&first);
      break;
    }
    uint16_t event = 0;
    if (zmq_msg_size(&first) >= sizeof(event)) {
      std::memcpy(&event, zmq_msg_data(&first), sizeof(event));
    }
    bool more = zmq_msg_more(&first) != 0;
    zmq_msg_close(&first);
    while (more) {  // the endpoint frame
      zmq_msg_t rest;
      zmq_msg_init(&rest);
      if (zmq_msg_recv(&rest, peer.monitor, 0) < 0)
        more = false;
      else
        more = zmq_msg_more(&rest) != 0;
      zmq_msg_close(&rest);
    }
    switch (event) {
      case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        peer.connected = true;
        peer.failed = false;
        peer.failure_code = StatusCode::kUnavailable;
        break;
      case ZMQ_EVENT_DISCONNECTED:
        peer.connected = false;
        break;
      case ZMQ_EVENT_CONNECT_RETRIED:
        if (!peer.connected) {
          peer.failed = true;
          peer.failure = "connection to " + peer.address + " refused or unreachable";
          peer.failure_code = StatusCode::kUnavailable;
        }
        break;
      case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        peer.failed = true;
        peer.failure = "CURVE handshake with " + peer.address + " refused (key not admitted)";
        peer.failure_code = StatusCode::kPermissionDenied;
        break;
      case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        peer.failed = true;
        peer.failure = "handshake with " + peer.address + " failed";
        peer.failure_code = StatusCode::kUnavailable;
        break;
      default:
        break;
    }
    WakeSenders(peer);
  }
}

Result<RpcReply> ZmqTransport::Call(const Address& to, RpcRequest request, Instant deadline) {
  if (env_.stopping()) return Status(StatusCode::kNodeDown, "stopping");
  const Instant now = env_.Now();
  if (deadline <= now) return Status(StatusCode::kTimeout, "deadline already passed");
  GRANARY_ASSIGN_OR_RETURN(Peer * peer, GetPeer(to));
  if (free_call_slots_.empty() && call_slots_.size() >= kZmqPendingCallsMax) {
    return Status(StatusCode::kUnavailable, "kZmqPendingCallsMax calls in flight");
  }
  ++stats_.calls;
  PendingCall call;
  call.deadline = deadline;
  const uint64_t id = AddPendingCall(call);
  ++peer->in_flight;
  // Unregisters the call; `peer` lives as long as it has calls in flight (EvictIdlePeer).
  auto finish = [this, peer, &call](Status status) -> Status {
    RemovePendingCall(call);
    --peer->in_flight;
    return status;
  };
  rpc::WireMessage message = rpc::EncodeRequest(RequestId(id), std::move(request), deadline - now);
  // Small messages go in one frame: a third of ZeroMQ's per-frame work on both sides.
  const bool packed = ShouldPack(message);
  const bool batched = packed && peer->connected && AddToBatch(*peer, message);
  if (!batched) {
    if (Status sent = SendAlone(*peer, message, packed, deadline); !sent.ok()) {
      return finish(sent);
    }
  }
  // Untimed: the flush hook ends calls past their deadline (ExpireCalls), which saves every
  // call an entry in Boost's sleep queue.
  const Status waited = env_.Wait(call.waiter, kInstantMax);
  (void)finish(Status::Ok());
  if (!waited.ok()) return waited;
  if (call.expired) {
    return Status(StatusCode::kTimeout, "no reply from " + to.value + " before the deadline");
  }
  return std::move(call.reply);
}

// Queues a packed `message` in the peer's batch for the flush at the next poll, with what
// other fibers send meanwhile; false when even an emptied batch has no room for it.
bool ZmqTransport::AddToBatch(Peer& peer, const rpc::WireMessage& message) {
  if (!BatchHasRoom(peer.batch.size(), peer.batch_messages, message)) (void)FlushPeer(peer);
  if (!BatchHasRoom(peer.batch.size(), peer.batch_messages, message)) return false;
  AppendToBatch(message, peer.batch);
  ++peer.batch_messages;
  if (!peer.dirty) {
    peer.dirty = true;
    dirty_peers_.push_back(&peer);
  }
  return true;
}

// Sends `message` on its own (packed in one frame, or as the wire's three), waiting for a
// completed connection (ZMQ_IMMEDIATE) or room in the queue until `deadline`.
Status ZmqTransport::SendAlone(Peer& peer, rpc::WireMessage& message, bool packed,
                               Instant deadline) {
  std::string packed_frame;
  if (packed) packed_frame = Pack(message);
  for (;;) {
    if (peer.failed && !peer.connected) return Status(peer.failure_code, peer.failure);
    const int sent =
        packed ? zmq_send(peer.dealer, packed_frame.data(), packed_frame.size(), ZMQ_DONTWAIT)
               : zmq_send(peer.dealer, message.envelope.data(), message.envelope.size(),
                          ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (sent >= 0) break;
    if (errno != EAGAIN) {
      return Status(StatusCode::kUnavailable, ZmqError("send to " + peer.address));
    }
    // The failed send may have processed the socket's commands (and consumed their edge).
    env_.scheduling().Touch(peer.dealer_poll);
    Waiter writable;
    peer.send_waiters.push_back(&writable);
    if (peer.connected) {
      env_.scheduling().SetEvents(peer.dealer_poll, ZMQ_POLLIN | ZMQ_POLLOUT);
    }
    Status waited = env_.Wait(writable, deadline);
    std::erase(peer.send_waiters, &writable);
    if (waited.code() == StatusCode::kTimeout) {
      return Status(StatusCode::kTimeout, "could not reach " + peer.address + " in time");
    }
    GRANARY_RETURN_IF_ERROR(waited);
  }
  if (!packed) {
    // The rest of a multipart message cannot meet a full queue.
    SendFrame(peer.dealer, std::move(message.body), ZMQ_SNDMORE);
    SendFrame(peer.dealer, std::move(message.payload), 0);
  }
  env_.scheduling().Touch(peer.dealer_poll);
  return Status::Ok();
}

uint64_t ZmqTransport::AddPendingCall(PendingCall& call) {
  uint32_t slot = 0;
  if (!free_call_slots_.empty()) {
    slot = free_call_slots_.back();
    free_call_slots_.pop_back();
  } else {
    assert(call_slots_.size() < kZmqPendingCallsMax);
    slot = static_cast<uint32_t>(call_slots_.size());
    call_slots_.push_back(nullptr);
  }
  call.id = (++next_request_id_ << kZmqCallSlotBits) | slot;
  call_slots_[slot] = &call;
  ++pending_calls_;
  earliest_deadline_ = std::min(earliest_deadline_, call.deadline);
  return call.id;
}

void ZmqTransport::RemovePendingCall(PendingCall& call) {
  const uint32_t slot = static_cast<uint32_t>(call.id & ((uint64_t{1} << kZmqCallSlotBits) - 1));
  assert(call_slots_[slot] == &call);
  call_slots_[slot] = nullptr;
  free_call_slots_.push_back(slot);
  --pending_calls_;
}

ZmqTransport::PendingCall* ZmqTransport::FindPendingCall(uint64_t id) {
  const uint64_t slot = id & ((uint64_t{1} << kZmqCallSlotBits) - 1);
  if (slot >= call_slots_.size()) return nullptr;
  PendingCall* call = call_slots_[slot];
  return call != nullptr && call->id == id ? call : nullptr;
}

Instant ZmqTransport::ExpireCalls() {
  if (pending_calls_ == 0) {
    earliest_deadline_ = kInstantMax;
    return kInstantMax;
  }
  const Instant now = env_.Now();
  if (now < earliest_deadline_) return earliest_deadline_;
  Instant earliest = kInstantMax;
  for (PendingCall* call : call_slots_) {
    if (call == nullptr || call->waiter.done()) continue;
    if (call->deadline <= now) {
      call->expired = true;
      call->waiter.Complete(Status::Ok());
    } else {
      earliest = std::min(earliest, call->deadline);
    }
  }
  earliest_deadline_ = earliest;
  return earliest;
}

void ZmqTransport::OnPeerReadable(Peer& peer) {
  for (;;) {
    zmq_msg_t first;
    zmq_msg_init(&first);
    if (zmq_msg_recv(&first, peer.dealer, ZMQ_DONTWAIT) < 0) {
      zmq_msg_close(&first);
      return;
    }
    rpc::WireMessage message;
    Shape shape = Shape::kFrames;
    const bool ok = ReceiveMessage(peer.dealer, first, nullptr, message, shape, nullptr, nullptr,
                                   options_.payload_pool.get());
    zmq_msg_close(&first);
    if (!ok) {
      ++stats_.malformed_dropped;
      continue;
    }
    if (shape == Shape::kBatched) {
      if (!ForEachBatched(message.payload, [this](const PackedView& reply) {
            OnReply(rpc::DecodeReply(reply.envelope, std::string(reply.body),
                                     std::string(reply.payload)));
          })) {
        ++stats_.malformed_dropped;
      }
      continue;
    }
    OnReply(rpc::DecodeReply(std::move(message)));
  }
}

void ZmqTransport::OnReply(Result<rpc::IncomingReply> incoming) {
  if (!incoming.ok()) {
    ++stats_.malformed_dropped;
    return;
  }
  PendingCall* call = FindPendingCall(incoming->id.value());
  if (call == nullptr || call->waiter.done()) {
    ++stats_.late_replies_dropped;
    return;
  }
  call->reply = std::move(incoming->reply);
  call->waiter.Complete(Status::Ok());
}

bool ZmqTransport::Flush() {
  bool waiting = false;
  size_t kept = 0;
  for (Peer* peer : dirty_peers_) {
    if (FlushPeer(*peer)) {
      peer->dirty = false;
    } else {
      dirty_peers_[kept++] = peer;
      waiting = true;
    }
  }
  dirty_peers_.resize(kept);
  for (ReplyBatch& batch : reply_batches_) {
    if (!FlushReplies(batch)) waiting = true;
  }
  std::erase_if(reply_batches_, [](const ReplyBatch& batch) { return batch.messages == 0; });
  return waiting;
}

bool ZmqTransport::FlushPeer(Peer& peer) {
  if (peer.batch_messages == 0) return true;
  const int sent = zmq_send(peer.dealer, peer.batch.data(), peer.batch.size(), ZMQ_DONTWAIT);
  // The send may have processed the socket's commands (and consumed their edge).
  env_.scheduling().Touch(peer.dealer_poll);
  if (sent < 0 && errno == EAGAIN) {
    // No room in the queue (or the connection is down again): retried when it is writable.
    if (peer.connected) env_.scheduling().SetEvents(peer.dealer_poll, ZMQ_POLLIN | ZMQ_POLLOUT);
    return false;
  }
  // Sent, or failed for good (the calls then time out, as for a lost message).
  ++stats_.batches_sent;
  stats_.messages_batched += peer.batch_messages;
  peer.batch.clear();
  peer.batch_messages = 0;
  return true;
}

}  // namespace granary::net
