// Transport: request/reply RPC between processes (DESIGN.md §3, §6).
//
// A request is a method name, a protobuf body (already serialized by the caller) and an
// optional bulk payload that travels as a separate frame beside the body. The reply has the
// same shape. Both implementations carry the same RpcEnvelope (proto/rpc.proto) on the wire.
//
// Errors a caller sees from Call:
//   kTimeout     the deadline passed with no reply (the request may or may not have run);
//   kUnavailable the peer cannot be reached at all (unknown address, refused at once);
//   kNodeDown    the calling process itself crashed or is stopping;
//   kPermissionDenied  the peer refused this process's credentials (CURVE key not admitted);
//   kBadMessage  the reply could not be decoded;
//   any other    the status the remote handler returned, code and message as sent.
// Retrying is the caller's decision: only the first three mean "the request may not have run".
//
// Serve installs the handler. Each request runs on a fiber of its own in the serving process;
// a handler may suspend (call other nodes, wait for its disk). When the serving process
// crashes, requests in flight get no reply and their callers time out.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/common/status.h"
#include "core/common/time.h"

namespace granary {

// Where a process listens: "127.0.0.1:7000" in the real runtime, "node-3" in the simulator.
// Opaque to core code, which only passes addresses along (DESIGN.md: nothing assumes all
// nodes share one host).
struct Address {
  std::string value;
  auto operator<=>(const Address&) const = default;
};

// The host of an address: "127.0.0.1" of "127.0.0.1:7000", the whole address when it has no
// port (a simulated node's name). For locality only (which replica is nearest); core code
// reads nothing else out of an address.
inline std::string_view HostOf(std::string_view address) {
  const size_t colon = address.rfind(':');
  return colon == std::string_view::npos ? address : address.substr(0, colon);
}

struct RpcRequest {
  std::string method;
  std::string body;
  std::string payload;
  // The least journal sequence the caller needs the answering namenode to have applied
  // (issue 14's state id; 0: none). Envelope field 11; only namenodes read it.
  uint64_t seq = 0;
  // Who sent a mutation and which call of theirs it is (envelope fields 9 and 10; 0: none).
  // A retry of the same call carries the same pair, so the namenode's retry cache
  // (core/namenode/retry_cache.h) can answer it with the first attempt's answer.
  uint64_t client_id = 0;
  uint64_t call_id = 0;
};

struct RpcReply {
  std::string body;
  std::string payload;
  // The journal sequence the answering namenode had applied (0: no journal). Field 11.
  uint64_t seq = 0;
};

// What a handler knows about the request beyond its bytes.
struct RpcContext {
  Address from;
  // When the caller stops waiting, in this process's clock (the wire carries the remaining
  // budget, not an absolute time, so unsynchronised clocks do not matter).
  Instant deadline;
  // Who the transport authenticated the caller as (core/security/identity.h: "alice",
  // "alice:g1,g2", "@datanode"); empty when it authenticates no one (plaintext, simulator).
  std::string principal;
};

using RpcHandler = std::function<Result<RpcReply>(const RpcContext&, RpcRequest&)>;

class Transport {
 public:
  virtual ~Transport() = default;

  // Sends `request` to `to` and suspends the calling fiber until the reply or `deadline`.
  virtual Result<RpcReply> Call(const Address& to, RpcRequest request, Instant deadline) = 0;

  // Installs the handler of this process's incoming requests; replaces any earlier one.
  virtual Status Serve(RpcHandler handler) = 0;

  // This process's own address, as peers reach it.
  virtual const Address& self() const = 0;
};

}  // namespace granary
