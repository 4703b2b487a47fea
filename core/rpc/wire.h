// The wire form of an RPC message, shared by both transports (DESIGN.md §6).
//
// A message is three frames: an RpcEnvelope (proto/rpc.proto), the protobuf body, and the
// bulk payload. Decoding checks every length and field against limits.h before use, so a
// malformed or hostile message becomes a kBadMessage status, never a crash.
//
// The envelope is written and read by hand (it is on every message, and building a protobuf
// message for it cost more than the rest of the codec): EncodeEnvelope writes exactly the
// bytes protobuf's serializer writes for the same RpcEnvelope (fields in number order, those
// at their default left out), and ParseEnvelope reads that canonical form directly and hands
// anything else (unknown fields, other orders, non-ASCII strings, odd varints) to protobuf's
// parser, so that it accepts and rejects exactly what protobuf does, with the same values
// (fuzz/fuzz_wire.cc checks both claims).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/common/ids.h"
#include "core/common/status.h"
#include "core/common/time.h"
#include "core/seams/transport.h"

namespace granary::rpc {

// Longest deadline a request may carry; a longer one is clamped by the caller and rejected
// when received.
inline constexpr Duration kRpcTimeoutMax = std::chrono::minutes(10);
inline constexpr size_t kEnvelopeBytesMax = 1024;

// The fields of proto::RpcEnvelope.
struct Envelope {
  uint64_t request_id = 0;
  std::string method;
  int64_t timeout_ns = 0;
  bool is_reply = false;
  int32_t status_code = 0;
  std::string status_message;
  uint64_t body_bytes = 0;
  uint64_t payload_bytes = 0;
  uint64_t seq = 0;
  uint64_t client_id = 0;
  uint64_t call_id = 0;
  bool operator==(const Envelope&) const = default;
};

// Appends the envelope's protobuf encoding to `out`.
void EncodeEnvelope(const Envelope& envelope, std::string& out);
// nullopt when protobuf would not parse `bytes` as an RpcEnvelope.
std::optional<Envelope> ParseEnvelope(std::string_view bytes);

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
// The same, the envelope given as bytes of a received frame (no copy of it is kept).
Result<IncomingRequest> DecodeRequest(std::string_view envelope, std::string body,
                                      std::string payload);
Result<IncomingReply> DecodeReply(std::string_view envelope, std::string body, std::string payload);

}  // namespace granary::rpc
