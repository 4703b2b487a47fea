#include "core/rpc/wire.h"

#include "core/common/limits.h"
#include "proto/rpc.pb.h"

namespace granary::rpc {
namespace {

Status Bad(std::string message) { return Status(StatusCode::kBadMessage, std::move(message)); }

// Parses and checks what requests and replies share; the frames' lengths must match.
Result<proto::RpcEnvelope> ParseEnvelope(const WireMessage& message) {
  if (message.envelope.size() > kEnvelopeBytesMax) return Bad("envelope too large");
  proto::RpcEnvelope envelope;
  if (!envelope.ParseFromString(message.envelope)) return Bad("envelope does not parse");
  if (message.body.size() > kMessageBodyBytesMax) return Bad("body exceeds kMessageBodyBytesMax");
  if (message.payload.size() > kPayloadBytesMax) return Bad("payload exceeds kPayloadBytesMax");
  if (envelope.body_bytes() != message.body.size()) return Bad("body length mismatch");
  if (envelope.payload_bytes() != message.payload.size()) return Bad("payload length mismatch");
  return envelope;
}

}  // namespace

WireMessage EncodeRequest(RequestId id, RpcRequest request, Duration timeout) {
  proto::RpcEnvelope envelope;
  envelope.set_request_id(id.value());
  envelope.set_method(request.method);
  envelope.set_timeout_ns(std::min(timeout, kRpcTimeoutMax).count());
  envelope.set_body_bytes(request.body.size());
  envelope.set_payload_bytes(request.payload.size());
  WireMessage message;
  envelope.SerializeToString(&message.envelope);
  message.body = std::move(request.body);
  message.payload = std::move(request.payload);
  return message;
}

WireMessage EncodeReply(RequestId id, Result<RpcReply> reply) {
  proto::RpcEnvelope envelope;
  envelope.set_request_id(id.value());
  envelope.set_is_reply(true);
  WireMessage message;
  if (reply.ok()) {
    message.body = std::move(reply.value().body);
    message.payload = std::move(reply.value().payload);
  } else {
    envelope.set_status_code(static_cast<int32_t>(reply.code()));
    envelope.set_status_message(reply.status().message());
  }
  envelope.set_body_bytes(message.body.size());
  envelope.set_payload_bytes(message.payload.size());
  envelope.SerializeToString(&message.envelope);
  return message;
}

Result<IncomingRequest> DecodeRequest(WireMessage message) {
  GRANARY_ASSIGN_OR_RETURN(proto::RpcEnvelope envelope, ParseEnvelope(message));
  if (envelope.is_reply()) return Bad("reply where a request was expected");
  if (envelope.method().empty()) return Bad("empty method");
  if (envelope.method().size() > kMethodBytesMax) return Bad("method exceeds kMethodBytesMax");
  if (envelope.timeout_ns() <= 0 || Duration(envelope.timeout_ns()) > kRpcTimeoutMax) {
    return Bad("timeout outside (0, kRpcTimeoutMax]");
  }
  IncomingRequest incoming{
      RequestId(envelope.request_id()),
      Duration(envelope.timeout_ns()),
      RpcRequest{envelope.method(), std::move(message.body), std::move(message.payload)}};
  return incoming;
}

Result<IncomingReply> DecodeReply(WireMessage message) {
  GRANARY_ASSIGN_OR_RETURN(proto::RpcEnvelope envelope, ParseEnvelope(message));
  if (!envelope.is_reply()) return Bad("request where a reply was expected");
  const std::optional<StatusCode> code = StatusCodeFromWire(envelope.status_code());
  if (!code) return Bad("unknown status code " + std::to_string(envelope.status_code()));
  if (*code == StatusCode::kOk) {
    return IncomingReply{RequestId(envelope.request_id()),
                         RpcReply{std::move(message.body), std::move(message.payload)}};
  }
  return IncomingReply{RequestId(envelope.request_id()),
                       Status(*code, envelope.status_message())};
}

}  // namespace granary::rpc
