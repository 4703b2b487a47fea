// Typed RPC on top of the Transport seam: a client-side call helper and a server-side
// router from method names to handlers.
//
// A method (core/rpc/methods.h) such as nn::kCreate takes a CreateRequest and answers a
// CreateReply; the bulk payload frame travels beside both. Both Call and Router::Add take the
// method's constant, so the compiler checks the request and reply types against the table.
// Parsing failures become kBadMessage; an unknown method, kUnimplemented. Handlers validate
// everything else themselves (limits.h).
#pragma once

#include <google/protobuf/message.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/common/status.h"
#include "core/common/time.h"
#include "core/rpc/methods.h"
#include "core/seams/transport.h"

namespace granary::rpc {

// The journal sequences of one call (issue 14, the state id): `need` goes with the request;
// `seen` receives the one the reply carried (left as it was when the call failed).
struct CallSeq {
  uint64_t need = 0;
  uint64_t seen = 0;
};

// Which call of which client a request is (RpcRequest::client_id/call_id; 0: none): the
// namenode's retry cache key. A retry of a call sends the same pair.
struct CallKey {
  uint64_t client_id = 0;
  uint64_t call_id = 0;
};

// Calls the method named `method` on `to`, untyped: for code that holds a method's name only
// (the namenode client's retry loop). On success parses the reply body into `reply` and, when
// asked, moves the reply payload into `reply_payload`.
Status CallByName(Transport& transport, const Address& to, std::string_view method,
                  const google::protobuf::Message& request, std::string request_payload,
                  Instant deadline, google::protobuf::Message* reply,
                  std::string* reply_payload = nullptr, CallSeq* seq = nullptr, CallKey key = {});

// Calls `method` on `to` (as CallByName, with the types checked against the table).
template <typename Request, typename Reply>
Status Call(Transport& transport, const Address& to, const Method<Request, Reply>& method,
            const std::type_identity_t<Request>& request, std::string request_payload,
            Instant deadline, std::type_identity_t<Reply>* reply,
            std::string* reply_payload = nullptr) {
  return CallByName(transport, to, method.name, request, std::move(request_payload), deadline,
                    reply, reply_payload);
}

// What a typed handler gets besides its request: the context and the payloads.
struct Exchange {
  const RpcContext& context;
  std::string& request_payload;
  std::string& reply_payload;
  CallKey key;  // the request's client and call ids (0: none)
};

class Router {
 public:
  template <typename Request, typename Reply>
  using Handler = std::function<Status(const Request&, Reply*, Exchange&)>;

  template <typename Request, typename Reply>
  void Add(const Method<Request, Reply>& method,
           std::type_identity_t<Handler<Request, Reply>> handler) {
    routes_[std::string(method.name)] =
        [handler = std::move(handler), check = check_, name = method.name](
            const RpcContext& context, RpcRequest& request) -> Result<RpcReply> {
      Request typed_request;
      if (!typed_request.ParseFromString(request.body)) {
        return Status(StatusCode::kBadMessage, "request body does not parse");
      }
      if (*check) GRANARY_RETURN_IF_ERROR((*check)(name, context, typed_request));
      Reply typed_reply;
      RpcReply reply;
      Exchange exchange{context, request.payload, reply.payload,
                        CallKey{request.client_id, request.call_id}};
      GRANARY_RETURN_IF_ERROR(handler(typed_request, &typed_reply, exchange));
      typed_reply.SerializeToString(&reply.body);
      return reply;
    };
  }

  // Runs on every parsed request before its handler, whenever the route was added; may
  // rewrite the request (the namenode binds a request's user to its key with it,
  // core/security/identity.h). A failure is the reply and the handler does not run.
  using RequestCheck = std::function<Status(std::string_view method, const RpcContext&,
                                            google::protobuf::Message& request)>;
  void SetRequestCheck(RequestCheck check) { *check_ = std::move(check); }

  // The handler to install with Transport::Serve.
  RpcHandler AsHandler();
  Result<RpcReply> Dispatch(const RpcContext& context, RpcRequest& request);

 private:
  std::map<std::string, RpcHandler, std::less<>> routes_;
  // Shared with the routes (a route outlives no router, but a router may be moved).
  std::shared_ptr<RequestCheck> check_ = std::make_shared<RequestCheck>();
};

}  // namespace granary::rpc
