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

using Shape = MessageShape;

// Frames at least this large are handed to ZeroMQ without a copy.
constexpr size_t kZeroCopyFrameBytes = 4096;
// The largest frame a peer may send: a bigger one makes ZeroMQ drop the connection.
constexpr int64_t kFrameBytesMax =
    static_cast<int64_t>(std::max(kPayloadBytesMax, kMessageBodyBytesMax)) + 1024;
// A routing id of the ROUTER (ZeroMQ's own are 5 bytes).
constexpr size_t kRoutingIdBytesMax = 255;
// A message whose body and payload together are at most this, and whose payload is at most
// kZeroCopyFrameBytes (a 4 KiB file's bytes included), travels packed in one frame
// (ZmqTransport's header).
constexpr size_t kPackedBytesMax = 16 * 1024;
// The packed frame's header: envelope bytes (u16 LE), body bytes (u32 LE).
constexpr size_t kPackedHeaderBytes = 6;
// A batch frame (ZmqTransport's header) holds at most this many bytes and messages.
constexpr size_t kBatchBytesMax = 64 * 1024;
constexpr uint32_t kBatchMessagesMax = 256;
// A batch frame starts with these two bytes: as a packed header they would announce an
// envelope past kEnvelopeBytesMax, so no packed frame can start so.
constexpr char kBatchMagic[2] = {'\xff', '\xff'};
// Each message of a batch: its packed bytes (u32 LE), then the packed message.
constexpr size_t kBatchLengthBytes = 4;
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

bool ShouldPack(const rpc::WireMessage& message) {
  return message.payload.size() <= kZeroCopyFrameBytes &&
         message.body.size() + message.payload.size() <= kPackedBytesMax;
}

// Appends `message` packed (header, envelope, body, payload) to `out`.
void PackInto(const rpc::WireMessage& message, std::string& out) {
  assert(message.envelope.size() <= rpc::kEnvelopeBytesMax);
  const size_t envelope = message.envelope.size();
  const size_t body = message.body.size();
  const size_t start = out.size();
  out.resize(start + kPackedHeaderBytes + message.bytes());
  char* at = out.data() + start;
  at[0] = static_cast<char>(envelope & 0xff);
  at[1] = static_cast<char>(envelope >> 8);
  for (int i = 0; i < 4; ++i) at[2 + i] = static_cast<char>(body >> (8 * i));
  at += kPackedHeaderBytes;
  std::memcpy(at, message.envelope.data(), envelope);
  std::memcpy(at + envelope, message.body.data(), body);
  std::memcpy(at + envelope + body, message.payload.data(), message.payload.size());
}

std::string Pack(const rpc::WireMessage& message) {
  std::string packed;
  PackInto(message, packed);
  return packed;
}

// Whether a batch of `bytes` and `messages` can take `message` (which ShouldPack).
bool BatchHasRoom(size_t bytes, uint32_t messages, const rpc::WireMessage& message) {
  const size_t header = bytes == 0 ? sizeof(kBatchMagic) : 0;
  return messages < kBatchMessagesMax &&
         bytes + header + kBatchLengthBytes + kPackedHeaderBytes + message.bytes() <=
             kBatchBytesMax;
}

// Appends `message` (which ShouldPack, and for which the batch has room) to a batch frame.
void AppendToBatch(const rpc::WireMessage& message, std::string& batch) {
  if (batch.empty()) batch.assign(kBatchMagic, sizeof(kBatchMagic));
  const size_t bytes = kPackedHeaderBytes + message.bytes();
  for (size_t i = 0; i < kBatchLengthBytes; ++i) {
    batch.push_back(static_cast<char>(bytes >> (8 * i)));
  }
  PackInto(message, batch);
}

bool IsBatch(const char* data, size_t size) {
  return size >= sizeof(kBatchMagic) && data[0] == kBatchMagic[0] && data[1] == kBatchMagic[1];
}

// The parts of a packed message, viewed in the frame that holds it.
struct PackedView {
  std::string_view envelope;
  std::string_view body;
  std::string_view payload;
};

// Splits a packed frame; false when its header does not fit it or a part is past its limit.
bool UnpackView(const char* data, size_t size, PackedView& out) {
  if (size < kPackedHeaderBytes) return false;
  const auto byte = [data](size_t i) { return static_cast<size_t>(static_cast<uint8_t>(data[i])); };
  const size_t envelope = byte(0) | (byte(1) << 8);
  const size_t body = byte(2) | (byte(3) << 8) | (byte(4) << 16) | (byte(5) << 24);
  if (envelope > rpc::kEnvelopeBytesMax || body > kMessageBodyBytesMax) return false;
  if (kPackedHeaderBytes + envelope + body > size) return false;
  const size_t payload = size - kPackedHeaderBytes - envelope - body;
  if (payload > kPayloadBytesMax) return false;
  const char* at = data + kPackedHeaderBytes;
  out.envelope = std::string_view(at, envelope);
  out.body = std::string_view(at + envelope, body);
  out.payload = std::string_view(at + envelope + body, payload);
  return true;
}

bool Unpack(const char* data, size_t size, rpc::WireMessage& out) {
  PackedView view;
  if (!UnpackView(data, size, view)) return false;
  out.envelope.assign(view.envelope);
  out.body.assign(view.body);
  out.payload.assign(view.payload);
  return true;
}

// Calls fn(const PackedView&) for each message of a batch frame, in order. False when the
// frame is malformed (an empty batch, a length past the frame, a bad packed message, more
// than kBatchMessagesMax): the messages before the fault have been delivered.
template <typename Fn>
bool ForEachBatched(std::string_view frame, Fn&& fn) {
  if (!IsBatch(frame.data(), frame.size()) || frame.size() > kBatchBytesMax) return false;
  size_t at = sizeof(kBatchMagic);
  uint32_t messages = 0;
  while (at < frame.size()) {
    if (frame.size() - at < kBatchLengthBytes || ++messages > kBatchMessagesMax) return false;
    size_t bytes = 0;
    for (size_t i = 0; i < kBatchLengthBytes; ++i) {
      bytes |= static_cast<size_t>(static_cast<uint8_t>(frame[at + i])) << (8 * i);
    }
    at += kBatchLengthBytes;
    if (bytes > frame.size() - at) return false;
    PackedView message;
    if (!UnpackView(frame.data() + at, bytes, message)) return false;
    fn(message);
    at += bytes;
  }
  return messages > 0;
}

// Receives the rest of a message whose first frame is `first` (on a ROUTER, `routing_id`
// given, the routing id). Three shapes are accepted after the routing id: the wire's three
// frames (envelope, body, payload), one packed frame (Pack), or one batch frame (its bytes
// are left in out.payload for ForEachBatched). False when the message had another shape or a
// part past its limit; it is consumed all the same. `shape` tells the shape; `peer_address`,
// when given, receives the connection's peer IP (ZeroMQ metadata).
bool ReceiveMessage(void* socket, zmq_msg_t& first, std::string* routing_id, rpc::WireMessage& out,
                    Shape& shape, std::string* peer_address = nullptr) {
  shape = Shape::kFrames;
  const size_t data_start = routing_id != nullptr ? 1 : 0;
  size_t index = 0;
  bool ok = true;
  zmq_msg_t* msg = &first;
  zmq_msg_t next;
  bool own_next = false;
  for (;;) {
    const char* data = static_cast<const char*>(zmq_msg_data(msg));
    const size_t size = zmq_msg_size(msg);
    const bool more = zmq_msg_more(msg) != 0;
    if (peer_address != nullptr && peer_address->empty()) {
      if (const char* ip = zmq_msg_gets(msg, "Peer-Address")) *peer_address = ip;
    }
    if (ok && index < data_start) {
      ok = size <= kRoutingIdBytesMax;
      if (ok) routing_id->assign(data, size);
    } else if (ok) {
      switch (index - data_start) {
        case 0:
          if (!more && IsBatch(data, size)) {
            shape = Shape::kBatched;
            ok = size <= kBatchBytesMax;
            if (ok) out.payload.assign(data, size);
          } else if (!more) {
            shape = Shape::kPacked;
            ok = Unpack(data, size, out);
          } else {
            ok = size <= rpc::kEnvelopeBytesMax;
            if (ok) out.envelope.assign(data, size);
          }
          break;
        case 1:
          ok = size <= kMessageBodyBytesMax;
          if (ok) out.body.assign(data, size);
          break;
        case 2:
          ok = size <= kPayloadBytesMax;
          if (ok) out.payload.assign(data, size);
          break;
        default:
          ok = false;  // too many frames
          break;
      }
    }
    ++index;
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
  if (!ok || index <= data_start) return false;
  return shape != Shape::kFrames || index - data_start == 3;
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
  bool closed = false;        // the transport is gone
};

struct ZmqTransport::PendingCall {
  Waiter waiter;
  Result<RpcReply> reply = Status(StatusCode::kTimeout, "no reply");
  uint64_t id = 0;  // its slot in the low kCallSlotBits
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
    const auto retry = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(RealScheduling::kFlushRetryMs);
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
  if (free_call_slots_.empty() && call_slots_.size() >= kPendingCallsMax) {
    return Status(StatusCode::kUnavailable, "kPendingCallsMax calls in flight");
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
  bool batched = false;
  if (packed && peer->connected) {
    // Batched: queued for the flush at the next poll, with what other fibers send meanwhile.
    if (!BatchHasRoom(peer->batch.size(), peer->batch_messages, message)) (void)FlushPeer(*peer);
    if (BatchHasRoom(peer->batch.size(), peer->batch_messages, message)) {
      AppendToBatch(message, peer->batch);
      ++peer->batch_messages;
      if (!peer->dirty) {
        peer->dirty = true;
        dirty_peers_.push_back(peer);
      }
      batched = true;
    }
  }
  if (!batched) {
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
    assert(call_slots_.size() < kPendingCallsMax);
    slot = static_cast<uint32_t>(call_slots_.size());
    call_slots_.push_back(nullptr);
  }
  call.id = (++next_request_id_ << kCallSlotBits) | slot;
  call_slots_[slot] = &call;
  ++pending_calls_;
  earliest_deadline_ = std::min(earliest_deadline_, call.deadline);
  return call.id;
}

void ZmqTransport::RemovePendingCall(PendingCall& call) {
  const uint32_t slot = static_cast<uint32_t>(call.id & ((uint64_t{1} << kCallSlotBits) - 1));
  assert(call_slots_[slot] == &call);
  call_slots_[slot] = nullptr;
  free_call_slots_.push_back(slot);
  --pending_calls_;
}

ZmqTransport::PendingCall* ZmqTransport::FindPendingCall(uint64_t id) {
  const uint64_t slot = id & ((uint64_t{1} << kCallSlotBits) - 1);
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
      if (caller_names_.size() >= kCallerNamesMax) caller_names_.clear();
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
      if (servers->idle.size() >= kIdleServersMax) return;
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
