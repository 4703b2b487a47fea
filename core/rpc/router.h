// Typed RPC on top of the Transport seam: a client-side call helper and a server-side
// router from method names to handlers.
//
// A method "nn.Create" takes a CreateRequest and answers a CreateReply; the bulk payload
// frame travels beside both. Parsing failures become kBadMessage; an unknown method,
// kUnimplemented. Handlers validate everything else themselves (limits.h).
#pragma once

#include <google/protobuf/message.h>

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "core/common/status.h"
#include "core/common/time.h"
#include "core/seams/transport.h"

namespace granary::rpc {

// Calls `method` on `to`. On success parses the reply body into `reply` and, when asked,
// moves the reply payload into `reply_payload`.
Status Call(Transport& transport, const Address& to, std::string_view method,
            const google::protobuf::Message& request, std::string request_payload,
            Instant deadline, google::protobuf::Message* reply,
            std::string* reply_payload = nullptr);

// What a typed handler gets besides its request: the context and the payloads.
struct Exchange {
  const RpcContext& context;
  std::string& request_payload;
  std::string& reply_payload;
};

class Router {
 public:
  template <typename Request, typename Reply>
  using Handler = std::function<Status(const Request&, Reply*, Exchange&)>;

  template <typename Request, typename Reply>
  void Add(std::string method, Handler<Request, Reply> handler) {
    routes_[std::move(method)] = [handler = std::move(handler)](
                                     const RpcContext& context,
                                     RpcRequest& request) -> Result<RpcReply> {
      Request typed_request;
      if (!typed_request.ParseFromString(request.body)) {
        return Status(StatusCode::kBadMessage, "request body does not parse");
      }
      Reply typed_reply;
      RpcReply reply;
      Exchange exchange{context, request.payload, reply.payload};
      GRANARY_RETURN_IF_ERROR(handler(typed_request, &typed_reply, exchange));
      typed_reply.SerializeToString(&reply.body);
      return reply;
    };
  }

  // The handler to install with Transport::Serve.
  RpcHandler AsHandler();
  Result<RpcReply> Dispatch(const RpcContext& context, RpcRequest& request);

 private:
  std::map<std::string, RpcHandler, std::less<>> routes_;
};

}  // namespace granary::rpc
