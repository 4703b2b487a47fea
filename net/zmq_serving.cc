// ZmqTransport's serving half (zmq_transport.h describes the whole): binding the ROUTER,
// taking requests off it, running the handler on serving fibers, and sending replies back in
// the shape their requests came in. The calling half is zmq_transport.cc.
#include <zmq.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>

#include "core/common/limits.h"
#include "net/zmq_frames.h"
#include "net/zmq_transport.h"
#include "net/zmq_transport_state.h"

namespace granary::net {
namespace {

using Shape = MessageShape;

// How long a reply waits between retries while the caller's queue is full.
constexpr Duration kReplyRetryInterval = std::chrono::milliseconds(1);

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
    std::map<std::string, std::string> allowed;
    for (const std::string& key : options_.curve_allowed_clients) {
      auto identity = options_.curve_client_identities.find(key);
      allowed[*DecodeCurveKey(key)] =
          identity == options_.curve_client_identities.end() ? std::string() : identity->second;
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

Status ZmqTransport::Serve(RpcHandler handler) {
  if (env_.stopping()) return Status(StatusCode::kNodeDown, "stopping");
  if (router_ == nullptr) {
    return Status(StatusCode::kUnavailable, "this transport does not listen");
  }
  handler_ = std::make_shared<RpcHandler>(std::move(handler));
  return Status::Ok();
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
    // The ZAP User-Id is the connection's, as the routing id is: read once per routing id.
    std::string principal;
    std::string routing;
    rpc::WireMessage message;
    Shape shape = Shape::kFrames;
    const bool ok = ReceiveMessage(router_, first, &routing, message, shape,
                                   known == caller_names_.end() ? &from : nullptr,
                                   known == caller_names_.end() ? &principal : nullptr);
    zmq_msg_close(&first);
    if (!ok || env_.stopping()) {
      if (!ok) ++stats_.malformed_dropped;
      continue;
    }
    if (known == caller_names_.end()) {
      if (from.empty()) from = "peer";
      from += "/" + Hex(routing);
      if (caller_names_.size() >= kZmqCallerNamesMax) caller_names_.clear();
      known =
          caller_names_.emplace(routing, CallerName{std::move(from), std::move(principal)}).first;
    }
    if (shape == Shape::kBatched) {
      const CallerName& name = known->second;
      if (!ForEachBatched(message.payload, [&](const PackedView& request) {
            HandleRequest(routing, name,
                          rpc::DecodeRequest(request.envelope, std::string(request.body),
                                             std::string(request.payload)),
                          Shape::kBatched);
          })) {
        ++stats_.malformed_dropped;
      }
      continue;
    }
    HandleRequest(std::move(routing), known->second, rpc::DecodeRequest(std::move(message)), shape);
  }
}

void ZmqTransport::HandleRequest(std::string routing_id, const CallerName& from,
                                 Result<rpc::IncomingRequest> incoming, MessageShape shape) {
  if (!incoming.ok()) {
    // Without a trustworthy request id there is no one to answer; the caller times out.
    ++stats_.malformed_dropped;
    return;
  }
  ++stats_.requests_served;
  const Instant deadline = env_.Now() + incoming->timeout;
  servers_->jobs.push_back(ServeJob{std::move(routing_id), Address{from.name}, from.principal,
                                    deadline, std::move(incoming).value(), shape});
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
  const RpcContext context{std::move(job.from), job.deadline, std::move(job.principal)};
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
