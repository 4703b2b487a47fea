// Router and the typed table of methods (core/rpc/router.h, core/rpc/methods.h): dispatch by
// name, the errors of an unknown method and of a body that does not parse, a typed call
// through a transport, and the table's own invariants.
#include "core/rpc/router.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/limits.h"
#include "core/rpc/methods.h"
#include "proto/namenode.pb.h"

namespace granary::rpc {
namespace {

RpcContext Context() { return RpcContext{Address{"client-1"}, Instant{}, {}}; }

// A router with nn.Mkdirs answering, as its reply payload, the request payload reversed and
// then the request's path (so a test sees that the body was parsed into the typed request),
// and nn.Stat always failing with kNotFound naming the path.
Router MakeRouter(int* mkdirs_calls) {
  Router router;
  router.Add(nn::kMkdirs, [mkdirs_calls](const proto::MkdirsRequest& request, proto::MkdirsReply*,
                                         Exchange& exchange) {
    ++*mkdirs_calls;
    EXPECT_EQ(exchange.context.from.value, "client-1");
    exchange.reply_payload.assign(exchange.request_payload.rbegin(),
                                  exchange.request_payload.rend());
    exchange.reply_payload += request.path();
    return Status::Ok();
  });
  router.Add(nn::kStat, [](const proto::StatRequest& request, proto::StatReply*, Exchange&) {
    return Status(StatusCode::kNotFound, request.path());
  });
  return router;
}

TEST(RouterTest, DispatchesByNameToTheTypedHandler) {
  int calls = 0;
  Router router = MakeRouter(&calls);
  proto::MkdirsRequest request;
  request.set_path("/new");
  RpcRequest wire{std::string(nn::kMkdirs.name), request.SerializeAsString(), "abc"};
  Result<RpcReply> reply = router.Dispatch(Context(), wire);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(calls, 1);
  proto::MkdirsReply typed;
  EXPECT_TRUE(typed.ParseFromString(reply->body));
  EXPECT_EQ(reply->payload, "cba/new");
}

// The request check runs on the parsed request before the handler, whenever the routes were
// added; it may rewrite the request, and its error is the reply without the handler running.
TEST(RouterTest, TheRequestCheckRunsBeforeTheHandler) {
  int calls = 0;
  Router router = MakeRouter(&calls);
  std::vector<std::string> seen;
  router.SetRequestCheck([&](std::string_view method, const RpcContext&,
                             google::protobuf::Message& request) -> Status {
    seen.emplace_back(method);
    auto& mkdirs = static_cast<proto::MkdirsRequest&>(request);
    if (mkdirs.path() == "/refused") return Status(StatusCode::kPermissionDenied, "no");
    mkdirs.set_path("/rewritten");
    return Status::Ok();
  });
  proto::MkdirsRequest request;
  request.set_path("/refused");
  RpcRequest refused{std::string(nn::kMkdirs.name), request.SerializeAsString(), ""};
  EXPECT_EQ(router.Dispatch(Context(), refused).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(calls, 0);
  request.set_path("/asked");
  RpcRequest wire{std::string(nn::kMkdirs.name), request.SerializeAsString(), ""};
  Result<RpcReply> reply = router.Dispatch(Context(), wire);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(reply->payload, "/rewritten");
  const std::string mkdirs(nn::kMkdirs.name);
  EXPECT_EQ(seen, (std::vector<std::string>{mkdirs, mkdirs}));
}

TEST(RouterTest, AHandlersErrorIsTheReply) {
  int calls = 0;
  Router router = MakeRouter(&calls);
  proto::StatRequest request;
  request.set_path("/missing");
  RpcRequest wire{std::string(nn::kStat.name), request.SerializeAsString(), ""};
  Result<RpcReply> reply = router.Dispatch(Context(), wire);
  EXPECT_EQ(reply.code(), StatusCode::kNotFound);
  EXPECT_EQ(reply.status().message(), "/missing");
  EXPECT_EQ(calls, 0);
}

TEST(RouterTest, UnknownMethodIsUnimplemented) {
  int calls = 0;
  Router router = MakeRouter(&calls);
  // A method of the table that this router does not serve, and a name in no table.
  const std::string_view unknown = "nn.NoSuchMethod";  // structure: allow (unknown on purpose)
  for (std::string_view name : {nn::kCreate.name, unknown}) {
    RpcRequest wire{std::string(name), "", ""};
    Result<RpcReply> reply = router.Dispatch(Context(), wire);
    EXPECT_EQ(reply.code(), StatusCode::kUnimplemented) << name;
    EXPECT_NE(reply.status().message().find(name), std::string::npos);
  }
  EXPECT_EQ(calls, 0);
}

TEST(RouterTest, BodyThatDoesNotParseIsBadMessage) {
  int calls = 0;
  Router router = MakeRouter(&calls);
  // The length-delimited field 2 (path) announcing more bytes than follow.
  RpcRequest wire{std::string(nn::kMkdirs.name), std::string("\x12\x7f/a", 4), ""};
  Result<RpcReply> reply = router.Dispatch(Context(), wire);
  EXPECT_EQ(reply.code(), StatusCode::kBadMessage);
  EXPECT_EQ(calls, 0);
}

// A transport that hands every call straight to one handler, as from "client-1".
class LoopbackTransport : public Transport {
 public:
  Result<RpcReply> Call(const Address& to, RpcRequest request, Instant deadline) override {
    last_to_ = to;
    last_method_ = request.method;
    return handler_(RpcContext{self_, deadline, {}}, request);
  }
  Status Serve(RpcHandler handler) override {
    handler_ = std::move(handler);
    return Status::Ok();
  }
  const Address& self() const override { return self_; }

  Address last_to_;
  std::string last_method_;

 private:
  Address self_{"client-1"};
  RpcHandler handler_;
};

TEST(RouterTest, TypedCallRoundTripsThroughATransport) {
  int calls = 0;
  Router router = MakeRouter(&calls);
  LoopbackTransport transport;
  ASSERT_TRUE(transport.Serve(router.AsHandler()).ok());
  proto::MkdirsRequest request;
  request.set_path("/old");
  proto::MkdirsReply reply;
  std::string reply_payload;
  ASSERT_TRUE(Call(transport, Address{"namenode"}, nn::kMkdirs, request, "xyz", Instant{}, &reply,
                   &reply_payload)
                  .ok());
  EXPECT_EQ(transport.last_to_.value, "namenode");
  EXPECT_EQ(transport.last_method_, nn::kMkdirs.name);
  EXPECT_EQ(reply_payload, "zyx/old");
  proto::StatRequest stat;
  stat.set_path("/gone");
  proto::StatReply stat_reply;
  const Status status =
      Call(transport, Address{"namenode"}, nn::kStat, stat, "", Instant{}, &stat_reply);
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "/gone");
}

// The table: every name is unique, names the namespace it is declared in ("nn." for the
// namenode's, "dn." for the datanode's) and fits the wire's method limit.
TEST(MethodsTest, NamesAreUniqueAndPrefixedByTheirService) {
  std::set<std::string_view> names;
  size_t namenode_methods = 0;
  size_t datanode_methods = 0;
  auto check = [&](std::string_view prefix, size_t* count) {
    return [&names, prefix, count](const auto& method) {
      ++*count;
      EXPECT_TRUE(method.name.starts_with(prefix)) << method.name;
      EXPECT_GT(method.name.size(), prefix.size()) << method.name;
      EXPECT_LE(method.name.size(), kMethodBytesMax) << method.name;
      EXPECT_TRUE(names.insert(method.name).second) << "duplicate " << method.name;
    };
  };
  ForEachNamenodeMethod(check("nn.", &namenode_methods));
  ForEachDatanodeMethod(check("dn.", &datanode_methods));
  // At least the methods of today (the visitors reach every one of them).
  EXPECT_GE(namenode_methods, 25u);
  EXPECT_GE(datanode_methods, 4u);
  EXPECT_EQ(names.size(), namenode_methods + datanode_methods);
}

}  // namespace
}  // namespace granary::rpc
