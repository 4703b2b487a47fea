#include "net/zmq_transport.h"

#include <zmq.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include "core/common/limits.h"

namespace granary::net {
namespace {

// Frames at least this large are handed to ZeroMQ without a copy.
constexpr size_t kZeroCopyFrameBytes = 4096;
// The largest frame a peer may send: a bigger one makes ZeroMQ drop the connection.
constexpr int64_t kFrameBytesMax =
    static_cast<int64_t>(std::max(kPayloadBytesMax, kMessageBodyBytesMax)) + 1024;
// The frames of one message: the wire's three, after the routing id on the ROUTER side.
constexpr size_t kWireFrames = 3;
// How long a reply waits between retries while the caller's queue is full.
constexpr Duration kReplyRetryInterval = std::chrono::milliseconds(1);

constexpr int kMonitorEvents =
    ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
    ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
    ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;

std::string ZmqError(std::string_view what) {
  return std::string(what) + ": " + zmq_strerror(errno);
}

struct HostPort {
  std::string host;  // without IPv6 brackets
  uint32_t port = 0;
  bool ipv6 = false;
};

// "host:port" or "[v6]:port", port 0..65535.
std::optional<HostPort> ParseHostPort(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return std::nullopt;
  }
  HostPort out;
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
    out.ipv6 = true;
  }
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == ':' || c == '*';
    if (!ok) return std::nullopt;
  }
  const std::string_view port = text.substr(colon + 1);
  if (port.size() > 5) return std::nullopt;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    out.port = out.port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (out.port > 65535) return std::nullopt;
  out.host = std::string(host);
  return out;
}

std::string Endpoint(const HostPort& hp, bool any_port) {
  const std::string host = hp.ipv6 ? "[" + hp.host + "]" : hp.host;
  return "tcp://" + host + ":" + (any_port ? std::string("*") : std::to_string(hp.port));
}

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

bool IsWildcard(const std::string& host) {
  return host == "*" || host == "0.0.0.0" || host == "::";
}

void SetInt(void* socket, int option, int value) {
  const int rc = zmq_setsockopt(socket, option, &value, sizeof(value));
  assert(rc == 0);
  (void)rc;
}

void CloseSocket(void* socket) {
  if (socket == nullptr) return;
  SetInt(socket, ZMQ_LINGER, 0);
  zmq_close(socket);
}

void FreeString(void*, void* hint) { delete static_cast<std::string*>(hint); }

// Sends one frame; large frames give their bytes to ZeroMQ, which frees them when sent.
// Only frames after the first of a message: those cannot meet a full queue.
int SendFrame(void* socket, std::string&& bytes, int flags) {
  if (bytes.size() < kZeroCopyFrameBytes) {
    return zmq_send(socket, bytes.data(), bytes.size(), flags);
  }
  auto* owned = new std::string(std::move(bytes));
  zmq_msg_t msg;
  zmq_msg_init_data(&msg, owned->data(), owned->size(), FreeString, owned);
  const int rc = zmq_msg_send(&msg, socket, flags);
  if (rc < 0) zmq_msg_close(&msg);
  return rc;
}

// Receives the rest of a message whose first frame is `first`: its frames (at most
// kWireFrames + 1 kept), each checked against `frame_limits`. False when the message had
// the wrong number of frames or a frame past its limit (it is consumed all the same).
// `peer_address`, when given, receives the connection's peer IP (ZeroMQ metadata).
bool ReceiveFrames(void* socket, zmq_msg_t& first, std::vector<std::string>& frames,
                   const std::vector<size_t>& frame_limits, std::string* peer_address = nullptr) {
  frames.clear();
  bool ok = true;
  zmq_msg_t* msg = &first;
  zmq_msg_t next;
  bool own_next = false;
  for (;;) {
    const size_t index = frames.size();
    const size_t size = zmq_msg_size(msg);
    if (peer_address != nullptr && peer_address->empty()) {
      if (const char* ip = zmq_msg_gets(msg, "Peer-Address")) *peer_address = ip;
    }
    if (ok && index < frame_limits.size() && size <= frame_limits[index]) {
      frames.emplace_back(static_cast<const char*>(zmq_msg_data(msg)), size);
    } else {
      ok = false;
      frames.emplace_back();  // counts the frame without its bytes
    }
    const bool more = zmq_msg_more(msg) != 0;
    if (own_next) zmq_msg_close(&next);
    if (!more) break;
    zmq_msg_init(&next);
    own_next = true;
    // The rest of a message arrives with its first frame: this never blocks.
    if (zmq_msg_recv(&next, socket, 0) < 0) {
      zmq_msg_close(&next);
      return false;
    }
    msg = &next;
  }
  return ok && frames.size() == frame_limits.size();
}

std::string Hex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

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
  uint32_t in_flight = 0;
  std::vector<Waiter*> send_waiters;
  std::list<Peer*>::iterator lru;
};

struct ZmqTransport::PendingCall {
  Waiter waiter;
  Result<RpcReply> reply = Status(StatusCode::kTimeout, "no reply");
};

ZmqTransport::ZmqTransport(RealEnv& env, ZmqTransportOptions options)
    : env_(env), options_(std::move(options)) {}

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
  zmq_setsockopt(router_, ZMQ_MAXMSGSIZE, &kFrameBytesMax, sizeof(kFrameBytesMax));
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
  assert(pending_.empty());
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
  if (hp->ipv6) SetInt(dealer, ZMQ_IPV6, 1);
  zmq_setsockopt(dealer, ZMQ_MAXMSGSIZE, &kFrameBytesMax, sizeof(kFrameBytesMax));
  if (options_.curve_client) {
    auto key = options_.curve_peer_keys.find(to.value);
    const std::string& server_z85 =
        key != options_.curve_peer_keys.end() ? key->second : options_.curve_peer_server_key;
    Result<std::string> server_key = DecodeCurveKey(server_z85);
    if (!server_key.ok()) {
      CloseSocket(dealer);
      return Status(StatusCode::kUnavailable, "no CURVE server key for " + to.value);
    }
    const std::string pub = *DecodeCurveKey(options_.curve_client->public_key);
    const std::string sec = *DecodeCurveKey(options_.curve_client->secret_key);
    zmq_setsockopt(dealer, ZMQ_CURVE_SERVERKEY, server_key->data(), server_key->size());
    zmq_setsockopt(dealer, ZMQ_CURVE_PUBLICKEY, pub.data(), pub.size());
    zmq_setsockopt(dealer, ZMQ_CURVE_SECRETKEY, sec.data(), sec.size());
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
  peers_lru_.erase(peer.lru);
  peers_.erase(peer.address);  // destroys `peer`
}

void ZmqTransport::WakeSenders(Peer& peer) {
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
        break;
      case ZMQ_EVENT_DISCONNECTED:
        peer.connected = false;
        break;
      case ZMQ_EVENT_CONNECT_RETRIED:
        if (!peer.connected) {
          peer.failed = true;
          peer.failure = "connection to " + peer.address + " refused or unreachable";
        }
        break;
      case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        peer.failed = true;
        peer.failure = "CURVE handshake with " + peer.address + " refused (key not admitted)";
        break;
      case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        peer.failed = true;
        peer.failure = "handshake with " + peer.address + " failed";
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
  ++stats_.calls;
  const uint64_t id = ++next_request_id_;
  rpc::WireMessage message = rpc::EncodeRequest(RequestId(id), std::move(request), deadline - now);
  ++peer->in_flight;
  PendingCall call;
  pending_.emplace(id, &call);
  auto finish = [this, peer, id](Status status) -> Status {
    pending_.erase(id);
    --peer->in_flight;
    return status;
  };
  // Waits for a completed connection (ZMQ_IMMEDIATE) or room in the queue.
  for (;;) {
    if (peer->failed && !peer->connected) {
      return finish(Status(StatusCode::kUnavailable, peer->failure));
    }
    if (zmq_send(peer->dealer, message.envelope.data(), message.envelope.size(),
                 ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) {
      break;
    }
    if (errno != EAGAIN) {
      return finish(Status(StatusCode::kUnavailable, ZmqError("send to " + to.value)));
    }
    Waiter writable;
    peer->send_waiters.push_back(&writable);
    if (peer->connected) env_.scheduling().SetEvents(peer->dealer_poll, ZMQ_POLLIN | ZMQ_POLLOUT);
    Status waited = env_.Wait(writable, deadline);
    std::erase(peer->send_waiters, &writable);
    if (waited.code() == StatusCode::kTimeout) {
      return finish(Status(StatusCode::kTimeout, "could not reach " + to.value + " in time"));
    }
    if (!waited.ok()) return finish(waited);
  }
  // The rest of a multipart message cannot meet a full queue.
  SendFrame(peer->dealer, std::move(message.body), ZMQ_SNDMORE);
  SendFrame(peer->dealer, std::move(message.payload), 0);
  const Status waited = env_.Wait(call.waiter, deadline);
  (void)finish(Status::Ok());
  if (waited.code() == StatusCode::kTimeout) {
    return Status(StatusCode::kTimeout, "no reply from " + to.value + " before the deadline");
  }
  if (!waited.ok()) return waited;
  return std::move(call.reply);
}

void ZmqTransport::OnPeerReadable(Peer& peer) {
  static const std::vector<size_t> kLimits = {rpc::kEnvelopeBytesMax, kMessageBodyBytesMax,
                                              kPayloadBytesMax};
  std::vector<std::string> frames;
  for (;;) {
    zmq_msg_t first;
    zmq_msg_init(&first);
    if (zmq_msg_recv(&first, peer.dealer, ZMQ_DONTWAIT) < 0) {
      zmq_msg_close(&first);
      return;
    }
    const bool ok = ReceiveFrames(peer.dealer, first, frames, kLimits);
    zmq_msg_close(&first);
    if (!ok) {
      ++stats_.malformed_dropped;
      continue;
    }
    Result<rpc::IncomingReply> incoming = rpc::DecodeReply(
        rpc::WireMessage{std::move(frames[0]), std::move(frames[1]), std::move(frames[2])});
    if (!incoming.ok()) {
      ++stats_.malformed_dropped;
      continue;
    }
    auto it = pending_.find(incoming->id.value());
    if (it == pending_.end()) {
      ++stats_.late_replies_dropped;
      continue;
    }
    it->second->reply = std::move(incoming->reply);
    it->second->waiter.Complete(Status::Ok());
  }
}

void ZmqTransport::OnRouterReadable() {
  static const std::vector<size_t> kLimits = {255, rpc::kEnvelopeBytesMax, kMessageBodyBytesMax,
                                              kPayloadBytesMax};
  std::vector<std::string> frames;
  for (;;) {
    zmq_msg_t first;
    zmq_msg_init(&first);
    if (zmq_msg_recv(&first, router_, ZMQ_DONTWAIT) < 0) {
      zmq_msg_close(&first);
      return;
    }
    std::string from;
    const bool ok = ReceiveFrames(router_, first, frames, kLimits, &from);
    zmq_msg_close(&first);
    if (!ok || env_.stopping()) {
      if (!ok) ++stats_.malformed_dropped;
      continue;
    }
    // Names the caller for logs: its IP and routing id (not an address to call back).
    if (from.empty()) from = "peer";
    from += "/" + Hex(frames[0]);
    HandleRequest(
        std::move(frames[0]), Address{std::move(from)},
        rpc::WireMessage{std::move(frames[1]), std::move(frames[2]), std::move(frames[3])});
  }
}

void ZmqTransport::HandleRequest(std::string routing_id, Address from, rpc::WireMessage message) {
  Result<rpc::IncomingRequest> incoming = rpc::DecodeRequest(std::move(message));
  if (!incoming.ok()) {
    // Without a trustworthy request id there is no one to answer; the caller times out.
    ++stats_.malformed_dropped;
    return;
  }
  ++stats_.requests_served;
  const Instant deadline = env_.Now() + incoming->timeout;
  env_.Spawn("rpc", [this, routing_id = std::move(routing_id), from = std::move(from), deadline,
                     incoming = std::move(incoming).value()]() mutable {
    // The handler may be replaced (Serve) while this request runs: hold the one it started with.
    std::shared_ptr<RpcHandler> handler = handler_;
    RpcContext context{std::move(from), deadline};
    Result<RpcReply> result =
        handler ? (*handler)(context, incoming.request)
                : Result<RpcReply>(Status(StatusCode::kUnavailable, "not serving"));
    if (env_.stopping()) return;  // stopped while handling: no reply leaves
    SendReply(routing_id, rpc::EncodeReply(incoming.id, std::move(result)), deadline);
  });
}

void ZmqTransport::SendReply(const std::string& routing_id, rpc::WireMessage reply,
                             Instant deadline) {
  for (;;) {
    if (zmq_send(router_, routing_id.data(), routing_id.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) {
      break;
    }
    if (errno == EAGAIN && env_.Now() < deadline) {
      // The caller's queue is full: wait for it to drain, until the caller gives up anyway.
      if (!env_.SleepFor(kReplyRetryInterval).ok()) return;
      continue;
    }
    ++stats_.replies_unroutable;  // the caller is gone (EHOSTUNREACH) or gave up
    return;
  }
  zmq_send(router_, reply.envelope.data(), reply.envelope.size(), ZMQ_SNDMORE);
  SendFrame(router_, std::move(reply.body), ZMQ_SNDMORE);
  SendFrame(router_, std::move(reply.payload), 0);
}

}  // namespace granary::net
