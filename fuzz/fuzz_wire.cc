// libFuzzer target: rpc::DecodeRequest and rpc::DecodeReply (core/rpc/wire.h) on arbitrary
// frames. Neither may crash; whatever decodes must satisfy the limits and survive a round
// trip through the encoder unchanged. The hand-written envelope codec must agree with
// protobuf's: ParseEnvelope accepts what RpcEnvelope::ParseFromString accepts, with the same
// fields, and EncodeEnvelope writes what SerializeToString writes.
//
// Input: [envelope bytes: u16 LE][body bytes: u16 LE] envelope body payload (lengths are
// clamped to what is there; the rest is the payload).
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "core/common/limits.h"
#include "core/rpc/wire.h"
#include "fuzz/fuzz_check.h"
#include "proto/rpc.pb.h"

namespace granary::fuzz {
namespace {

rpc::WireMessage Split(const uint8_t* data, size_t size) {
  rpc::WireMessage message;
  if (size < 4) {
    message.envelope.assign(reinterpret_cast<const char*>(data), size);
    return message;
  }
  size_t envelope = data[0] | (static_cast<size_t>(data[1]) << 8);
  size_t body = data[2] | (static_cast<size_t>(data[3]) << 8);
  const char* rest = reinterpret_cast<const char*>(data + 4);
  size_t left = size - 4;
  envelope = std::min(envelope, left);
  message.envelope.assign(rest, envelope);
  rest += envelope;
  left -= envelope;
  body = std::min(body, left);
  message.body.assign(rest, body);
  message.payload.assign(rest + body, left - body);
  return message;
}

void CheckEnvelopeCodec(const std::string& bytes) {
  const std::optional<rpc::Envelope> ours = rpc::ParseEnvelope(bytes);
  proto::RpcEnvelope theirs;
  const bool parsed = theirs.ParseFromString(bytes);
  GRANARY_FUZZ_CHECK(ours.has_value() == parsed);
  if (!parsed) return;
  GRANARY_FUZZ_CHECK(ours->request_id == theirs.request_id());
  GRANARY_FUZZ_CHECK(ours->method == theirs.method());
  GRANARY_FUZZ_CHECK(ours->timeout_ns == theirs.timeout_ns());
  GRANARY_FUZZ_CHECK(ours->is_reply == theirs.is_reply());
  GRANARY_FUZZ_CHECK(ours->status_code == theirs.status_code());
  GRANARY_FUZZ_CHECK(ours->status_message == theirs.status_message());
  GRANARY_FUZZ_CHECK(ours->body_bytes == theirs.body_bytes());
  GRANARY_FUZZ_CHECK(ours->payload_bytes == theirs.payload_bytes());
  GRANARY_FUZZ_CHECK(ours->client_id == theirs.client_id());
  GRANARY_FUZZ_CHECK(ours->call_id == theirs.call_id());
  GRANARY_FUZZ_CHECK(ours->seq == theirs.seq());
  // Protobuf keeps unknown fields and writes them back; the envelope has none of its own.
  theirs.DiscardUnknownFields();
  std::string encoded;
  rpc::EncodeEnvelope(*ours, encoded);
  GRANARY_FUZZ_CHECK(encoded == theirs.SerializeAsString());
}

void CheckRequest(const rpc::WireMessage& message) {
  Result<rpc::IncomingRequest> decoded = rpc::DecodeRequest(message);
  if (!decoded.ok()) {
    GRANARY_FUZZ_CHECK(decoded.code() == StatusCode::kBadMessage);
    return;
  }
  const rpc::IncomingRequest& in = *decoded;
  GRANARY_FUZZ_CHECK(!in.request.method.empty());
  GRANARY_FUZZ_CHECK(in.request.method.size() <= kMethodBytesMax);
  GRANARY_FUZZ_CHECK(in.timeout > Duration(0));
  GRANARY_FUZZ_CHECK(in.timeout <= rpc::kRpcTimeoutMax);
  GRANARY_FUZZ_CHECK(in.request.body == message.body);
  GRANARY_FUZZ_CHECK(in.request.payload == message.payload);
  // What decodes, re-encodes and decodes to the same request.
  rpc::WireMessage again = rpc::EncodeRequest(in.id, in.request, in.timeout);
  GRANARY_FUZZ_CHECK(again.envelope.size() <= rpc::kEnvelopeBytesMax);
  Result<rpc::IncomingRequest> twice = rpc::DecodeRequest(std::move(again));
  GRANARY_FUZZ_CHECK(twice.ok());
  GRANARY_FUZZ_CHECK(twice->id == in.id);
  GRANARY_FUZZ_CHECK(twice->timeout == in.timeout);
  GRANARY_FUZZ_CHECK(twice->request.method == in.request.method);
  GRANARY_FUZZ_CHECK(twice->request.body == in.request.body);
  GRANARY_FUZZ_CHECK(twice->request.payload == in.request.payload);
  GRANARY_FUZZ_CHECK(twice->request.seq == in.request.seq);
  // A request is never taken for a reply.
  GRANARY_FUZZ_CHECK(!rpc::DecodeReply(message).ok());
}

void CheckReply(const rpc::WireMessage& message) {
  Result<rpc::IncomingReply> decoded = rpc::DecodeReply(message);
  if (!decoded.ok()) {
    GRANARY_FUZZ_CHECK(decoded.code() == StatusCode::kBadMessage);
    return;
  }
  const rpc::IncomingReply& in = *decoded;
  if (in.reply.ok()) {
    GRANARY_FUZZ_CHECK(in.reply->body == message.body);
    GRANARY_FUZZ_CHECK(in.reply->payload == message.payload);
  } else {
    GRANARY_FUZZ_CHECK(in.reply.code() != StatusCode::kOk);
  }
  rpc::WireMessage again = rpc::EncodeReply(in.id, in.reply);
  GRANARY_FUZZ_CHECK(again.envelope.size() <= rpc::kEnvelopeBytesMax);
  Result<rpc::IncomingReply> twice = rpc::DecodeReply(std::move(again));
  GRANARY_FUZZ_CHECK(twice.ok());
  GRANARY_FUZZ_CHECK(twice->id == in.id);
  GRANARY_FUZZ_CHECK(twice->reply.ok() == in.reply.ok());
  if (in.reply.ok()) {
    GRANARY_FUZZ_CHECK(twice->reply->body == in.reply->body);
    GRANARY_FUZZ_CHECK(twice->reply->payload == in.reply->payload);
    GRANARY_FUZZ_CHECK(twice->reply->seq == in.reply->seq);
  } else {
    GRANARY_FUZZ_CHECK(twice->reply.code() == in.reply.code());
    GRANARY_FUZZ_CHECK(twice->reply.status().message() == in.reply.status().message());
  }
}

}  // namespace
}  // namespace granary::fuzz

// Protobuf logs every string field that is not UTF-8; hostile input is expected here.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const granary::rpc::WireMessage message = granary::fuzz::Split(data, size);
  granary::fuzz::CheckEnvelopeCodec(message.envelope);
  granary::fuzz::CheckRequest(message);
  granary::fuzz::CheckReply(message);
  return 0;
}
