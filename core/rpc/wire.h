// The wire form of an RPC message, shared by both transports (DESIGN.md §6).
//
// A message is three frames: an RpcEnvelope (proto/rpc.proto), the protobuf body, and the
// bulk payload. Decoding checks every length and field against limits.h before use, so a
// malformed or hostile message becomes a kBadMessage status, never a crash.
#pragma once

#include <string>

#include "core/common/ids.h"
#include "core/common/status.h"
#include "core/common/time.h"
#include "core/seams/transport.h"

namespace granary::rpc {

// Longest deadline a request may carry; a longer one is clamped by the caller and rejected
// when received.
inline constexpr Duration kRpcTimeoutMax = std::chrono::minutes(10);
inline constexpr size_t kEnvelopeBytesMax = 1024;

struct WireMessage {
  std::string envelope;
  std::string body;
  std::string payload;
  size_t bytes() const { return envelope.size() + body.size() + payload.size(); }
};

struct IncomingRequest {
  RequestId id;
  Duration timeout;
  RpcRequest request;
};

struct IncomingReply {
  RequestId id;
  Result<RpcReply> reply;
};

WireMessage EncodeRequest(RequestId id, RpcRequest request, Duration timeout);
WireMessage EncodeReply(RequestId id, Result<RpcReply> reply);

// kBadMessage naming the first problem found.
Result<IncomingRequest> DecodeRequest(WireMessage message);
Result<IncomingReply> DecodeReply(WireMessage message);

}  // namespace granary::rpc
