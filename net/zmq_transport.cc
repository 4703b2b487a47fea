#include "net/zmq_transport.h"

#include <zmq.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include "core/common/limits.h"
#include "net/zmq_endpoint.h"
#include "net/zmq_frames.h"

namespace granary::net {
namespace {

using Shape = MessageShape;
using zmq_impl::AppendToBatch;
using zmq_impl::BatchHasRoom;
using zmq_impl::CloseSocket;
using zmq_impl::Endpoint;
using zmq_impl::ForEachBatched;
using zmq_impl::Hex;
using zmq_impl::HostPort;
using zmq_impl::IsLoopback;
using zmq_impl::IsWildcard;
using zmq_impl::Pack;
using zmq_impl::PackedView;
using zmq_impl::ParseHostPort;
using zmq_impl::ReceiveMessage;
using zmq_impl::SendFrame;
using zmq_impl::SetInt;
using zmq_impl::ShouldPack;
using zmq_impl::Unpack;
using zmq_impl::ZmqError;

// How long a reply waits between retries while the caller's queue is full.
constexpr Duration kReplyRetryInterval = std::chrono::milliseconds(1);

constexpr int kMonitorEvents =
    ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
    ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
    ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;

}  // namespace

struct ZmqTransport::Peer {
  std::string address;
  void* dealer = nullptr;
  void* monitor = nullptr;
  RealScheduling::PollId dealer_poll = 0;
  RealScheduling::PollId monitor_poll = 0;
  bool connected = false;
  // A connection attempt failed after the last success: calls fail at once.
  bool failed = false;
  std::string failure;
  // kPermissionDenied when the peer refused our key (retrying cannot help), else kUnavailable.
  StatusCode failure_code = StatusCode::kUnavailable;
  uint32_t in_flight = 0;
  // Requests waiting for the next flush, as a batch frame (AppendToBatch).
  std::string batch;
  uint32_t batch_messages = 0;
  bool dirty = false;  // in dirty_peers_
  std::vector<Waiter*> send_waiters;
  std::list<Peer*>::iterator lru;
};

struct ZmqTransport::ServeJob {
  std::string routing_id;
  Address from;
  Instant deadline;
  rpc::IncomingRequest incoming;
  MessageShape shape;  // how the request came: so may the reply go
};

struct ZmqTransport::ReplyBatch {
  std::string routing_id;
  std::string frame;
  uint32_t messages = 0;
  Instant deadline;  // the latest of its replies': past it, every caller has given up
};

struct ZmqTransport::Servers {
  std::deque<ServeJob> jobs;
  std::vector<Waiter*> idle;  // on the idle fibers' stacks
  // Fibers woken (or started) to take jobs that have not run yet. One is enough: a fiber
  // that takes a job while more wait makes sure another is on its way before running it, so
  // a handler that suspends never holds back the jobs behind it, and a batch of requests
  // whose handlers do not suspend costs one fiber wake-up, not one per request.
  uint32_t waking = 0;
  bool closed = false;  // the transport is gone
};

struct ZmqTransport::PendingCall {
  Waiter waiter;
  Result<RpcReply> reply = Status(StatusCode::kTimeout, "no reply");
  uint64_t id = 0;  // its slot in the low kZmqCallSlotBits
  Instant deadline;
  bool expired = false;  // ended by ExpireCalls
};

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

Status ZmqTransport::Listen() {
  const std::optional<HostPort> hp = ParseHostPort(options_.listen);
  if (!hp) {
    return Status(StatusCode::kInvalidArgument,
                  "listen address '" + options_.listen + "' is not host:port");
  }
  const bool secure = options_.curve_server.has_value();
  if (!secure && !IsLoopback(hp->host) && !options_.insecure_bind_any) {
    return Status(StatusCode::kInvalidArgument,
                  "refusing to listen on " + options_.listen +
                      " without CURVE keys: anyone who reaches it could act on the cluster; "
                      "listen on 127.0.0.1, configure keys, or pass --insecure-bind-any");
  }
  if (IsWildcard(hp->host) && options_.advertise.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  "listening on " + options_.listen + " needs an advertised address");
  }
  if (secure) {
    std::set<std::string> allowed;
    for (const std::string& key : options_.curve_allowed_clients) {
      allowed.insert(*DecodeCurveKey(key));
    }
    zap_ = std::make_unique<ZapHandler>(env_.scheduling(), context_, std::move(allowed));
    GRANARY_RETURN_IF_ERROR(zap_->Start());
  }
  router_ = zmq_socket(context_, ZMQ_ROUTER);
  if (router_ == nullptr) return Status(StatusCode::kInternal, ZmqError("zmq_socket"));
  SetInt(router_, ZMQ_LINGER, 0);
  SetInt(router_, ZMQ_ROUTER_MANDATORY, 1);
  SetInt(router_, ZMQ_SNDHWM, options_.high_water_mark);
  SetInt(router_, ZMQ_RCVHWM, options_.high_water_mark);
  if (hp->ipv6) SetInt(router_, ZMQ_IPV6, 1);
  zmq_setsockopt(router_, ZMQ_MAXMSGSIZE, &kZmqFrameBytesMax, sizeof(kZmqFrameBytesMax));
  if (secure) {
    SetInt(router_, ZMQ_CURVE_SERVER, 1);
    const std::string secret = *DecodeCurveKey(options_.curve_server->secret_key);
    zmq_setsockopt(router_, ZMQ_CURVE_SECRETKEY, secret.data(), secret.size());
    zmq_setsockopt(router_, ZMQ_ZAP_DOMAIN, "granary", 7);
  }
  // ZeroMQ binds to addresses and interface names, not host names.
  HostPort bind_to = *hp;
  if (bind_to.host == "localhost") bind_to.host = "127.0.0.1";
  const std::string endpoint = Endpoint(bind_to, hp->port == 0);
  if (zmq_bind(router_, endpoint.c_str()) != 0) {
    return Status(StatusCode::kUnavailable, ZmqError("bind " + options_.listen));
  }
  char bound[256] = {};
  size_t bound_size = sizeof(bound);
  zmq_getsockopt(router_, ZMQ_LAST_ENDPOINT, bound, &bound_size);
  const std::optional<HostPort> actual = ParseHostPort(std::string_view(bound).substr(6));
  if (!actual) return Status(StatusCode::kInternal, std::string("bound to ") + bound);
  if (!options_.advertise.empty()) {
    // An advertised port 0 stands for the port bound.
    std::optional<HostPort> advertised = ParseHostPort(options_.advertise);
    if (!advertised) {
      return Status(StatusCode::kInvalidArgument,
                    "advertised address '" + options_.advertise + "' is not host:port");
    }
    if (advertised->port == 0) advertised->port = actual->port;
    self_ = Address{(advertised->ipv6 ? "[" + advertised->host + "]" : advertised->host) + ":" +
                    std::to_string(advertised->port)};
  } else {
    HostPort advertised = *hp;
    advertised.port = actual->port;
    self_ = Address{(hp->ipv6 ? "[" + hp->host + "]" : hp->host) + ":" +
                    std::to_string(advertised.port)};
  }
  router_poll_ =
      env_.scheduling().AddSocket(router_, ZMQ_POLLIN, [this](short) { OnRouterReadable(); });
  return Status::Ok();
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

Status ZmqTransport::Serve(RpcHandler handler) {
  if (env_.stopping()) return Status(StatusCode::kNodeDown, "stopping");
  if (router_ == nullptr) {
    return Status(StatusCode::kUnavailable, "this transport does not listen");
  }
  handler_ = std::make_shared<RpcHandler>(std::move(handler));
  return Status::Ok();
}

Status ZmqTransport::ConfigureDealer(void* dealer, const HostPort& hp, const Address& to) {
  SetInt(dealer, ZMQ_LINGER, 0);
  SetInt(dealer, ZMQ_IMMEDIATE, 1);
  SetInt(dealer, ZMQ_SNDHWM, options_.high_water_mark);
  SetInt(dealer, ZMQ_RCVHWM, options_.high_water_mark);
  SetInt(dealer, ZMQ_RECONNECT_IVL,
         static_cast<int>(
             std::chrono::duration_cast<std::chrono::milliseconds>(options_.reconnect_interval)
                 .count()));
  SetInt(dealer, ZMQ_RECONNECT_IVL_MAX,
         static_cast<int>(
             std::chrono::duration_cast<std::chrono::milliseconds>(options_.reconnect_interval_max)
                 .count()));
  if (hp.ipv6) SetInt(dealer, ZMQ_IPV6, 1);
  zmq_setsockopt(dealer, ZMQ_MAXMSGSIZE, &kZmqFrameBytesMax, sizeof(kZmqFrameBytesMax));
  if (options_.curve_client) {
    auto key = options_.curve_peer_keys.find(to.value);
    const std::string& server_z85 =
        key != options_.curve_peer_keys.end() ? key->second : options_.curve_peer_server_key;
    Result<std::string> server_key = DecodeCurveKey(server_z85);
    if (!server_key.ok()) {
      return Status(StatusCode::kUnavailable, "no CURVE server key for " + to.value);
    }
    const std::string pub = *DecodeCurveKey(options_.curve_client->public_key);
    const std::string sec = *DecodeCurveKey(options_.curve_client->secret_key);
    zmq_setsockopt(dealer, ZMQ_CURVE_SERVERKEY, server_key->data(), server_key->size());
    zmq_setsockopt(dealer, ZMQ_CURVE_PUBLICKEY, pub.data(), pub.size());
    zmq_setsockopt(dealer, ZMQ_CURVE_SECRETKEY, sec.data(), sec.size());
  }
  return Status::Ok();
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
  if (Status configured = ConfigureDealer(dealer, *hp, to); !configured.ok()) {
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
  if (!(packed && peer->connected && AddToBatch(*peer, message))) {
    std::string packed_frame;
    if (packed) packed_frame = Pack(message);
    // Waits for a completed connection (ZMQ_IMMEDIATE) or room in the queue.
    for (;;) {
      if (peer->failed && !peer->connected) {
        return finish(Status(peer->failure_code, peer->failure));
      }
      const int sent =
          packed ? zmq_send(peer->dealer, packed_frame.data(), packed_frame.size(), ZMQ_DONTWAIT)
                 : zmq_send(peer->dealer, message.envelope.data(), message.envelope.size(),
                            ZMQ_SNDMORE | ZMQ_DONTWAIT);
      if (sent >= 0) break;
      if (errno != EAGAIN) {
        return finish(Status(StatusCode::kUnavailable, ZmqError("send to " + to.value)));
      }
      // The failed send may have processed the socket's commands (and consumed their edge).
      env_.scheduling().Touch(peer->dealer_poll);
      Waiter writable;
      peer->send_waiters.push_back(&writable);
      if (peer->connected) {
        env_.scheduling().SetEvents(peer->dealer_poll, ZMQ_POLLIN | ZMQ_POLLOUT);
      }
      Status waited = env_.Wait(writable, deadline);
      std::erase(peer->send_waiters, &writable);
      if (waited.code() == StatusCode::kTimeout) {
        return finish(Status(StatusCode::kTimeout, "could not reach " + to.value + " in time"));
      }
      if (!waited.ok()) return finish(waited);
    }
    if (!packed) {
      // The rest of a multipart message cannot meet a full queue.
      SendFrame(peer->dealer, std::move(message.body), ZMQ_SNDMORE);
      SendFrame(peer->dealer, std::move(message.payload), 0);
    }
    env_.scheduling().Touch(peer->dealer_poll);
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
    const bool ok = ReceiveMessage(peer.dealer, first, nullptr, message, shape);
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

void ZmqTransport::OnRouterReadable() {
  for (;;) {
    zmq_msg_t first;
    zmq_msg_init(&first);
    if (zmq_msg_recv(&first, router_, ZMQ_DONTWAIT) < 0) {
      zmq_msg_close(&first);
      return;
    }
    // Names the caller for logs: its IP and routing id (not an address to call back). The
    // IP comes from the connection's metadata, looked up once per routing id.
    const std::string_view routing_id(static_cast<const char*>(zmq_msg_data(&first)),
                                      zmq_msg_size(&first));
    auto known = caller_names_.find(routing_id);
    std::string from;
    std::string routing;
    rpc::WireMessage message;
    Shape shape = Shape::kFrames;
    const bool ok = ReceiveMessage(router_, first, &routing, message, shape,
                                   known == caller_names_.end() ? &from : nullptr);
    zmq_msg_close(&first);
    if (!ok || env_.stopping()) {
      if (!ok) ++stats_.malformed_dropped;
      continue;
    }
    if (known == caller_names_.end()) {
      if (from.empty()) from = "peer";
      from += "/" + Hex(routing);
      if (caller_names_.size() >= kZmqCallerNamesMax) caller_names_.clear();
      known = caller_names_.emplace(routing, std::move(from)).first;
    }
    if (shape == Shape::kBatched) {
      const std::string& name = known->second;
      if (!ForEachBatched(message.payload, [&](const PackedView& request) {
            HandleRequest(routing, Address{name},
                          rpc::DecodeRequest(request.envelope, std::string(request.body),
                                             std::string(request.payload)),
                          Shape::kBatched);
          })) {
        ++stats_.malformed_dropped;
      }
      continue;
    }
    HandleRequest(std::move(routing), Address{known->second},
                  rpc::DecodeRequest(std::move(message)), shape);
  }
}

void ZmqTransport::HandleRequest(std::string routing_id, Address from,
                                 Result<rpc::IncomingRequest> incoming, MessageShape shape) {
  if (!incoming.ok()) {
    // Without a trustworthy request id there is no one to answer; the caller times out.
    ++stats_.malformed_dropped;
    return;
  }
  ++stats_.requests_served;
  const Instant deadline = env_.Now() + incoming->timeout;
  servers_->jobs.push_back(ServeJob{std::move(routing_id), std::move(from), deadline,
                                    std::move(incoming).value(), shape});
  if (servers_->waking == 0) WakeServer();
}

void ZmqTransport::WakeServer() {
  ++servers_->waking;
  if (!servers_->idle.empty()) {
    Waiter* idle = servers_->idle.back();
    servers_->idle.pop_back();
    idle->Complete(Status::Ok());
  } else {
    StartServer();
  }
}

void ZmqTransport::StartServer() {
  RealEnv& env = env_;
  env_.Spawn("rpc", [this, &env, servers = servers_] {
    for (;;) {
      // Started or woken by WakeServer: this fiber is the one on its way.
      assert(servers->waking > 0);
      --servers->waking;
      // `this` is valid only while the transport is open.
      while (!servers->closed && !servers->jobs.empty()) {
        ServeJob job = std::move(servers->jobs.front());
        servers->jobs.pop_front();
        // Should this handler suspend, the jobs behind it have a fiber of their own.
        if (!servers->jobs.empty() && servers->waking == 0) WakeServer();
        RunJob(job);
      }
      if (servers->closed || env.stopping()) return;
      if (servers->idle.size() >= kZmqIdleServersMax) return;
      Waiter wake;
      servers->idle.push_back(&wake);
      const Status woken = env.Wait(wake, kInstantMax);
      if (!woken.ok()) {
        std::erase(servers->idle, &wake);
        return;
      }
    }
  });
}

void ZmqTransport::RunJob(ServeJob& job) {
  // The handler may be replaced (Serve) while this request runs: hold the one it started with.
  std::shared_ptr<RpcHandler> handler = handler_;
  const RpcContext context{std::move(job.from), job.deadline};
  Result<RpcReply> result = handler
                                ? (*handler)(context, job.incoming.request)
                                : Result<RpcReply>(Status(StatusCode::kUnavailable, "not serving"));
  if (env_.stopping()) return;  // stopped while handling: no reply leaves
  SendReply(job.routing_id, rpc::EncodeReply(job.incoming.id, std::move(result)), job.deadline,
            job.shape);
}

void ZmqTransport::SendReply(const std::string& routing_id, rpc::WireMessage reply,
                             Instant deadline, MessageShape request_shape) {
  // A caller that packs (or batches) its requests reads packed (or batched) replies; one that
  // sends the three frames gets three frames back.
  const bool packed = request_shape != Shape::kFrames && ShouldPack(reply);
  if (packed && request_shape == Shape::kBatched) {
    ReplyBatch* batch = nullptr;
    for (ReplyBatch& candidate : reply_batches_) {
      if (candidate.routing_id == routing_id) {
        batch = &candidate;
        break;
      }
    }
    if (batch == nullptr) {
      batch = &reply_batches_.emplace_back();
      batch->routing_id = routing_id;
    }
    if (!BatchHasRoom(batch->frame.size(), batch->messages, reply)) (void)FlushReplies(*batch);
    if (BatchHasRoom(batch->frame.size(), batch->messages, reply)) {
      AppendToBatch(reply, batch->frame);
      ++batch->messages;
      batch->deadline = std::max(batch->deadline, deadline);
      return;
    }
  }
  SendReplyAlone(routing_id, std::move(reply), deadline, packed);
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

bool ZmqTransport::FlushReplies(ReplyBatch& batch) {
  if (batch.messages == 0) return true;
  const std::string& routing_id = batch.routing_id;
  if (zmq_send(router_, routing_id.data(), routing_id.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
    env_.scheduling().Touch(router_poll_);  // the failed send may have consumed an edge
    // The caller's queue is full: retried at the next poll, until every caller gave up.
    if (errno == EAGAIN && env_.Now() < batch.deadline) return false;
    stats_.replies_unroutable += batch.messages;  // the caller is gone (EHOSTUNREACH)
  } else {
    zmq_send(router_, batch.frame.data(), batch.frame.size(), 0);
    env_.scheduling().Touch(router_poll_);
    ++stats_.batches_sent;
    stats_.messages_batched += batch.messages;
  }
  batch.frame.clear();
  batch.messages = 0;
  batch.deadline = Instant{};
  return true;
}

void ZmqTransport::SendReplyAlone(const std::string& routing_id, rpc::WireMessage reply,
                                  Instant deadline, bool packed) {
  for (;;) {
    if (zmq_send(router_, routing_id.data(), routing_id.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) {
      break;
    }
    env_.scheduling().Touch(router_poll_);  // the failed send may have consumed an edge
    if (errno == EAGAIN && env_.Now() < deadline) {
      // The caller's queue is full: wait for it to drain, until the caller gives up anyway.
      if (!env_.SleepFor(kReplyRetryInterval).ok()) return;
      continue;
    }
    ++stats_.replies_unroutable;  // the caller is gone (EHOSTUNREACH) or gave up
    return;
  }
  if (packed) {
    const std::string frame = Pack(reply);
    zmq_send(router_, frame.data(), frame.size(), 0);
  } else {
    zmq_send(router_, reply.envelope.data(), reply.envelope.size(), ZMQ_SNDMORE);
    SendFrame(router_, std::move(reply.body), ZMQ_SNDMORE);
    SendFrame(router_, std::move(reply.payload), 0);
  }
  env_.scheduling().Touch(router_poll_);
}

}  // namespace granary::net
