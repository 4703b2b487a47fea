#include "core/rpc/wire.h"

#include <gtest/gtest.h>

#include "core/common/limits.h"
#include "core/rpc/methods.h"
#include "proto/rpc.pb.h"

namespace granary::rpc {
namespace {

TEST(WireTest, RequestRoundTrips) {
  WireMessage m = EncodeRequest(RequestId(17), RpcRequest{"create", "b", "payload"},
                                std::chrono::milliseconds(250));
  Result<IncomingRequest> in = DecodeRequest(m);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->id, RequestId(17));
  EXPECT_EQ(in->timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(in->request.method, "create");
  EXPECT_EQ(in->request.body, "b");
  EXPECT_EQ(in->request.payload, "payload");
}

TEST(WireTest, ReplyCarriesValueOrStatus) {
  Result<IncomingReply> ok = DecodeReply(EncodeReply(RequestId(3), RpcReply{"x", "yy"}));
  ASSERT_TRUE(ok.ok());
  ASSERT_TRUE(ok->reply.ok());
  EXPECT_EQ(ok->reply->payload, "yy");
  Result<IncomingReply> err =
      DecodeReply(EncodeReply(RequestId(4), Status(StatusCode::kNotFound, "/a")));
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(err->reply.code(), StatusCode::kNotFound);
  EXPECT_EQ(err->reply.status().message(), "/a");
}

// The journal sequence (field 11) travels both ways and is left out when 0, so that messages
// of a namenode without a journal are byte for byte what they were before it existed.
TEST(WireTest, SeqTravelsOnRequestsAndRepliesAndIsAbsentWhenZero) {
  RpcRequest request{std::string(rpc::nn::kStat.name), "b", ""};
  const WireMessage plain = EncodeRequest(RequestId(5), request, std::chrono::seconds(1));
  request.seq = 300;
  const WireMessage with_seq = EncodeRequest(RequestId(5), request, std::chrono::seconds(1));
  EXPECT_EQ(with_seq.envelope.size(), plain.envelope.size() + 3);  // tag 88, varint 300
  Result<IncomingRequest> in = DecodeRequest(with_seq);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->request.seq, 300u);
  EXPECT_EQ(DecodeRequest(plain)->request.seq, 0u);
  proto::RpcEnvelope theirs;
  ASSERT_TRUE(theirs.ParseFromString(with_seq.envelope));
  EXPECT_EQ(theirs.seq(), 300u);

  RpcReply reply{"x", ""};
  reply.seq = 1ull << 40;
  Result<IncomingReply> back = DecodeReply(EncodeReply(RequestId(6), reply));
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(back->reply.ok());
  EXPECT_EQ(back->reply->seq, 1ull << 40);
  EXPECT_EQ(EncodeReply(RequestId(6), RpcReply{"x", ""}).envelope, [] {
    proto::RpcEnvelope e;
    e.set_request_id(6);
    e.set_is_reply(true);
    e.set_body_bytes(1);
    return e.SerializeAsString();
  }());
}

// A mutation's client and call ids (fields 9, 10: the namenode's retry cache key) travel on
// the request as protobuf writes them, in number order before the sequence; absent when 0.
TEST(WireTest, ClientAndCallIdsTravelOnRequestsAndAreAbsentWhenZero) {
  RpcRequest request{std::string(rpc::nn::kCreate.name), "b", "p"};
  const WireMessage plain = EncodeRequest(RequestId(5), request, std::chrono::seconds(1));
  request.client_id = 0x8000000000000001ull;
  request.call_id = 7;
  request.seq = 9;
  const WireMessage keyed = EncodeRequest(RequestId(5), request, std::chrono::seconds(1));
  // tag 72 and a ten-byte varint, tag 80 and 7, tag 88 and 9
  EXPECT_EQ(keyed.envelope.size(), plain.envelope.size() + 11 + 2 + 2);
  Result<IncomingRequest> in = DecodeRequest(keyed);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->request.client_id, 0x8000000000000001ull);
  EXPECT_EQ(in->request.call_id, 7u);
  EXPECT_EQ(in->request.seq, 9u);
  EXPECT_EQ(DecodeRequest(plain)->request.client_id, 0u);
  EXPECT_EQ(DecodeRequest(plain)->request.call_id, 0u);
  proto::RpcEnvelope theirs;
  ASSERT_TRUE(theirs.ParseFromString(keyed.envelope));
  EXPECT_EQ(theirs.client_id(), 0x8000000000000001ull);
  EXPECT_EQ(theirs.call_id(), 7u);
  EXPECT_EQ(theirs.SerializeAsString(), keyed.envelope);  // the canonical form
}

TEST(WireTest, MalformedMessagesAreRejectedNotCrashed) {
  WireMessage good =
      EncodeRequest(RequestId(1), RpcRequest{"m", "body", ""}, std::chrono::seconds(1));

  WireMessage garbage = good;
  garbage.envelope = std::string("\xff\xff\xff\xff\x0f", 5);
  EXPECT_EQ(DecodeRequest(garbage).code(), StatusCode::kBadMessage);

  WireMessage short_body = good;
  short_body.body.pop_back();
  EXPECT_EQ(DecodeRequest(short_body).code(), StatusCode::kBadMessage);

  WireMessage extra_payload = good;
  extra_payload.payload = "surprise";
  EXPECT_EQ(DecodeRequest(extra_payload).code(), StatusCode::kBadMessage);

  WireMessage huge =
      EncodeRequest(RequestId(1), RpcRequest{"m", std::string(kMessageBodyBytesMax + 1, 'x'), ""},
                    std::chrono::seconds(1));
  EXPECT_EQ(DecodeRequest(huge).code(), StatusCode::kBadMessage);

  WireMessage long_method =
      EncodeRequest(RequestId(1), RpcRequest{std::string(kMethodBytesMax + 1, 'm'), "", ""},
                    std::chrono::seconds(1));
  EXPECT_EQ(DecodeRequest(long_method).code(), StatusCode::kBadMessage);

  proto::RpcEnvelope envelope;
  envelope.set_method("m");
  envelope.set_timeout_ns(-5);
  WireMessage negative;
  envelope.SerializeToString(&negative.envelope);
  EXPECT_EQ(DecodeRequest(negative).code(), StatusCode::kBadMessage);

  // A reply with a status code outside the table.
  proto::RpcEnvelope reply;
  reply.set_is_reply(true);
  reply.set_status_code(12345);
  WireMessage unknown;
  reply.SerializeToString(&unknown.envelope);
  EXPECT_EQ(DecodeReply(unknown).code(), StatusCode::kBadMessage);

  // A request where a reply is expected and the reverse.
  EXPECT_EQ(DecodeReply(good).code(), StatusCode::kBadMessage);
  EXPECT_EQ(DecodeRequest(EncodeReply(RequestId(1), RpcReply{})).code(), StatusCode::kBadMessage);
}

// The envelope is written and read by hand (wire.h): its bytes are protobuf's, and what
// protobuf would parse in another form (unknown fields, other orders, UTF-8) parses alike.
TEST(WireTest, HandWrittenEnvelopeCodecMatchesProtobuf) {
  const Envelope cases[] = {
      Envelope{},
      Envelope{1ull << 63 | 5, std::string(rpc::nn::kCreate.name), 250'000'000, false, 0, "", 100,
               4096, 0},
      Envelope{7, "", 0, true, -3, "not found: /a", 1, 0, 12},
      Envelope{~0ull, std::string(64, 'm'), -1, true, 2147483647, "x", ~0ull, 1, ~0ull},
      // A mutation's retry-cache key (fields 9 and 10), alone and with everything else.
      Envelope{0, "", 0, false, 0, "", 0, 0, 0, 1, 0},
      Envelope{0, "", 0, false, 0, "", 0, 0, 0, 0, ~0ull},
      Envelope{3, std::string(rpc::nn::kRename.name), 5, false, 0, "", 2, 0, 7,
               0x9e3779b97f4a7c15ull, 300},
  };
  for (const Envelope& envelope : cases) {
    proto::RpcEnvelope theirs;
    theirs.set_request_id(envelope.request_id);
    theirs.set_method(envelope.method);
    theirs.set_timeout_ns(envelope.timeout_ns);
    theirs.set_is_reply(envelope.is_reply);
    theirs.set_status_code(envelope.status_code);
    theirs.set_status_message(envelope.status_message);
    theirs.set_body_bytes(envelope.body_bytes);
    theirs.set_payload_bytes(envelope.payload_bytes);
    theirs.set_seq(envelope.seq);
    theirs.set_client_id(envelope.client_id);
    theirs.set_call_id(envelope.call_id);
    std::string ours;
    EncodeEnvelope(envelope, ours);
    EXPECT_EQ(ours, theirs.SerializeAsString());
    std::optional<Envelope> parsed = ParseEnvelope(ours);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, envelope);
  }
  // Fields out of order, an unknown field and a non-ASCII method: protobuf's parser decides.
  std::string odd;
  EncodeEnvelope(Envelope{0, "", 0, false, 0, "", 0, 9}, odd);
  EncodeEnvelope(Envelope{5, "m\xc3\xa9", 0, false, 0, "", 0, 0}, odd);
  odd += std::string("\x78\x01", 2);          // field 15 (unknown), varint 1
  odd += std::string("\x50\x07\x48\x02", 4);  // call_id 7 before client_id 2
  std::optional<Envelope> parsed = ParseEnvelope(odd);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->request_id, 5u);
  EXPECT_EQ(parsed->method, "m\xc3\xa9");
  EXPECT_EQ(parsed->payload_bytes, 9u);
  EXPECT_EQ(parsed->client_id, 2u);
  EXPECT_EQ(parsed->call_id, 7u);
  // The retry-cache fields out of order and nothing else: the hand-written reader takes them.
  std::optional<Envelope> swapped = ParseEnvelope(std::string("\x50\x07\x48\x02", 4));
  ASSERT_TRUE(swapped.has_value());
  EXPECT_EQ(swapped->client_id, 2u);
  EXPECT_EQ(swapped->call_id, 7u);
  // Invalid UTF-8 in a string, and a truncated string, do not parse (as with protobuf).
  std::string bad_utf8;
  EncodeEnvelope(Envelope{0, "\xff", 0, false, 0, "", 0, 0}, bad_utf8);
  EXPECT_FALSE(ParseEnvelope(bad_utf8).has_value());
  std::string truncated;
  EncodeEnvelope(Envelope{0, "method", 0, false, 0, "", 0, 0}, truncated);
  truncated.pop_back();
  EXPECT_FALSE(ParseEnvelope(truncated).has_value());
}

}  // namespace
}  // namespace granary::rpc
