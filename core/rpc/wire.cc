#include "core/rpc/wire.h"

#include "core/common/limits.h"
#include "proto/rpc.pb.h"

namespace granary::rpc {
namespace {

Status Bad(std::string message) { return Status(StatusCode::kBadMessage, std::move(message)); }

// Protobuf's wire types and the envelope's tags (field number << 3 | wire type).
constexpr uint32_t kVarint = 0;
constexpr uint32_t kLengthDelimited = 2;
constexpr uint32_t Tag(uint32_t field, uint32_t wire_type) { return field << 3 | wire_type; }

void PutVarint(uint64_t value, std::string& out) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void PutVarintField(uint32_t field, uint64_t value, std::string& out) {
  if (value == 0) return;  // proto3: a default is not written
  PutVarint(Tag(field, kVarint), out);
  PutVarint(value, out);
}

void PutStringField(uint32_t field, std::string_view value, std::string& out) {
  if (value.empty()) return;
  PutVarint(Tag(field, kLengthDelimited), out);
  PutVarint(value.size(), out);
  out.append(value);
}

// Reads a varint of at most 10 bytes whose value fits 64 bits; false otherwise (protobuf may
// still accept some of those: the caller then asks it).
bool GetVarint(std::string_view& in, uint64_t& value) {
  value = 0;
  for (size_t i = 0; i < 10 && i < in.size(); ++i) {
    const uint64_t byte = static_cast<uint8_t>(in[i]);
    if (i == 9 && byte > 1) return false;
    value |= (byte & 0x7f) << (7 * i);
    if (byte < 0x80) {
      in.remove_prefix(i + 1);
      return true;
    }
  }
  return false;
}

bool IsAscii(std::string_view text) {
  for (char c : text) {
    if (static_cast<uint8_t>(c) >= 0x80) return false;
  }
  return true;
}

// The canonical form, and any other made only of the envelope's fields with their own wire
// types, ASCII strings and plain varints; nullopt for anything else (not a verdict).
std::optional<Envelope> ParseSimple(std::string_view in) {
  Envelope out;
  while (!in.empty()) {
    uint64_t tag = 0;
    uint64_t value = 0;
    if (!GetVarint(in, tag) || !GetVarint(in, value)) return std::nullopt;
    switch (tag) {
      case Tag(1, kVarint):
        out.request_id = value;
        break;
      case Tag(3, kVarint):
        out.timeout_ns = static_cast<int64_t>(value);
        break;
      case Tag(4, kVarint):
        out.is_reply = value != 0;
        break;
      case Tag(5, kVarint):
        out.status_code = static_cast<int32_t>(value);
        break;
      case Tag(7, kVarint):
        out.body_bytes = value;
        break;
      case Tag(8, kVarint):
        out.payload_bytes = value;
        break;
      case Tag(9, kVarint):
        out.client_id = value;
        break;
      case Tag(10, kVarint):
        out.call_id = value;
        break;
      case Tag(11, kVarint):
        out.seq = value;
        break;
      case Tag(2, kLengthDelimited):
      case Tag(6, kLengthDelimited): {
        if (value > in.size()) return std::nullopt;
        const std::string_view text = in.substr(0, value);
        if (!IsAscii(text)) return std::nullopt;
        (tag == Tag(2, kLengthDelimited) ? out.method : out.status_message).assign(text);
        in.remove_prefix(value);
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return out;
}

// Parses and checks what requests and replies share; the frames' lengths must match.
Result<Envelope> ParseAndCheck(std::string_view bytes, size_t body, size_t payload) {
  if (bytes.size() > kEnvelopeBytesMax) return Bad("envelope too large");
  std::optional<Envelope> envelope = ParseEnvelope(bytes);
  if (!envelope) return Bad("envelope does not parse");
  if (body > kMessageBodyBytesMax) return Bad("body exceeds kMessageBodyBytesMax");
  if (payload > kPayloadBytesMax) return Bad("payload exceeds kPayloadBytesMax");
  if (envelope->body_bytes != body) return Bad("body length mismatch");
  if (envelope->payload_bytes != payload) return Bad("payload length mismatch");
  return std::move(*envelope);
}

}  // namespace

void EncodeEnvelope(const Envelope& envelope, std::string& out) {
  PutVarintField(1, envelope.request_id, out);
  PutStringField(2, envelope.method, out);
  PutVarintField(3, static_cast<uint64_t>(envelope.timeout_ns), out);
  PutVarintField(4, envelope.is_reply ? 1 : 0, out);
  // An int32 goes sign-extended to 64 bits, as protobuf writes it.
  PutVarintField(5, static_cast<uint64_t>(static_cast<int64_t>(envelope.status_code)), out);
  PutStringField(6, envelope.status_message, out);
  PutVarintField(7, envelope.body_bytes, out);
  PutVarintField(8, envelope.payload_bytes, out);
  PutVarintField(9, envelope.client_id, out);
  PutVarintField(10, envelope.call_id, out);
  PutVarintField(11, envelope.seq, out);
}

std::optional<Envelope> ParseEnvelope(std::string_view bytes) {
  if (std::optional<Envelope> simple = ParseSimple(bytes)) return simple;
  proto::RpcEnvelope parsed;
  if (!parsed.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  Envelope out;
  out.request_id = parsed.request_id();
  out.method = parsed.method();
  out.timeout_ns = parsed.timeout_ns();
  out.is_reply = parsed.is_reply();
  out.status_code = parsed.status_code();
  out.status_message = parsed.status_message();
  out.body_bytes = parsed.body_bytes();
  out.payload_bytes = parsed.payload_bytes();
  out.client_id = parsed.client_id();
  out.call_id = parsed.call_id();
  out.seq = parsed.seq();
  return out;
}

WireMessage EncodeRequest(RequestId id, RpcRequest request, Duration timeout) {
  Envelope envelope;
  envelope.request_id = id.value();
  envelope.timeout_ns = std::min(timeout, kRpcTimeoutMax).count();
  envelope.body_bytes = request.body.size();
  envelope.payload_bytes = request.payload.size();
  WireMessage message;
  // The method is written straight from the request (EncodeEnvelope's order, inlined).
  std::string& out = message.envelope;
  out.reserve(32 + request.method.size());
  PutVarintField(1, envelope.request_id, out);
  PutStringField(2, request.method, out);
  PutVarintField(3, static_cast<uint64_t>(envelope.timeout_ns), out);
  PutVarintField(7, envelope.body_bytes, out);
  PutVarintField(8, envelope.payload_bytes, out);
  PutVarintField(9, request.client_id, out);
  PutVarintField(10, request.call_id, out);
  PutVarintField(11, request.seq, out);
  message.body = std::move(request.body);
  message.payload = std::move(request.payload);
  return message;
}

WireMessage EncodeReply(RequestId id, Result<RpcReply> reply) {
  Envelope envelope;
  envelope.request_id = id.value();
  envelope.is_reply = true;
  WireMessage message;
  if (reply.ok()) {
    envelope.seq = reply.value().seq;
    message.body = std::move(reply.value().body);
    message.payload = std::move(reply.value().payload);
  } else {
    envelope.status_code = static_cast<int32_t>(reply.code());
    envelope.status_message = reply.status().message();
  }
  envelope.body_bytes = message.body.size();
  envelope.payload_bytes = message.payload.size();
  EncodeEnvelope(envelope, message.envelope);
  return message;
}

Result<IncomingRequest> DecodeRequest(WireMessage message) {
  return DecodeRequest(message.envelope, std::move(message.body), std::move(message.payload));
}

Result<IncomingReply> DecodeReply(WireMessage message) {
  return DecodeReply(message.envelope, std::move(message.body), std::move(message.payload));
}

Result<IncomingRequest> DecodeRequest(std::string_view envelope_bytes, std::string body,
                                      std::string payload) {
  GRANARY_ASSIGN_OR_RETURN(Envelope envelope,
                           ParseAndCheck(envelope_bytes, body.size(), payload.size()));
  if (envelope.is_reply) return Bad("reply where a request was expected");
  if (envelope.method.empty()) return Bad("empty method");
  if (envelope.method.size() > kMethodBytesMax) return Bad("method exceeds kMethodBytesMax");
  if (envelope.timeout_ns <= 0 || Duration(envelope.timeout_ns) > kRpcTimeoutMax) {
    return Bad("timeout outside (0, kRpcTimeoutMax]");
  }
  IncomingRequest incoming{
      RequestId(envelope.request_id), Duration(envelope.timeout_ns),
      RpcRequest{std::move(envelope.method), std::move(body), std::move(payload), envelope.seq,
                 envelope.client_id, envelope.call_id}};
  return incoming;
}

Result<IncomingReply> DecodeReply(std::string_view envelope_bytes, std::string body,
                                  std::string payload) {
  GRANARY_ASSIGN_OR_RETURN(Envelope envelope,
                           ParseAndCheck(envelope_bytes, body.size(), payload.size()));
  if (!envelope.is_reply) return Bad("request where a reply was expected");
  const std::optional<StatusCode> code = StatusCodeFromWire(envelope.status_code);
  if (!code) return Bad("unknown status code " + std::to_string(envelope.status_code));
  if (*code == StatusCode::kOk) {
    return IncomingReply{RequestId(envelope.request_id),
                         RpcReply{std::move(body), std::move(payload), envelope.seq}};
  }
  return IncomingReply{RequestId(envelope.request_id),
                       Status(*code, std::move(envelope.status_message))};
}

}  // namespace granary::rpc
