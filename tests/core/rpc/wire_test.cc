#include "core/rpc/wire.h"

#include <gtest/gtest.h>

#include "core/common/limits.h"
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

TEST(WireTest, MalformedMessagesAreRejectedNotCrashed) {
  WireMessage good = EncodeRequest(RequestId(1), RpcRequest{"m", "body", ""}, std::chrono::seconds(1));

  WireMessage garbage = good;
  garbage.envelope = std::string("\xff\xff\xff\xff\x0f", 5);
  EXPECT_EQ(DecodeRequest(garbage).code(), StatusCode::kBadMessage);

  WireMessage short_body = good;
  short_body.body.pop_back();
  EXPECT_EQ(DecodeRequest(short_body).code(), StatusCode::kBadMessage);

  WireMessage extra_payload = good;
  extra_payload.payload = "surprise";
  EXPECT_EQ(DecodeRequest(extra_payload).code(), StatusCode::kBadMessage);

  WireMessage huge = EncodeRequest(RequestId(1), RpcRequest{"m", std::string(kMessageBodyBytesMax + 1, 'x'), ""},
                                   std::chrono::seconds(1));
  EXPECT_EQ(DecodeRequest(huge).code(), StatusCode::kBadMessage);

  WireMessage long_method = EncodeRequest(
      RequestId(1), RpcRequest{std::string(kMethodBytesMax + 1, 'm'), "", ""}, std::chrono::seconds(1));
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

}  // namespace
}  // namespace granary::rpc
